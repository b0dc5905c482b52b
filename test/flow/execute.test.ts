import test from 'ava';
import { ActionExecutor, ActionTable, DROP_REASONS, FrameSink } from '../../src/flow';
import { foldSum, formatAddress, frameFromText, Ipv4Packet, ipv4PseudoSum, ipv6PseudoSum, onesComplementSum, parseAddress, parseMac, TcpSegment, UdpDatagram } from '../../src/packet';
import { icmpv4 } from '../../src/simulation/router-frames';
import { toHex } from '../helpers/bytes';
import { icmpEchoRequest } from '../helpers/frames';

class RecordingSink implements FrameSink {
  sent: { port: number; bytes: string }[] = [];
  drops: string[] = [];
  output(port: number, arena: Uint8Array, at: number, length: number) {
    this.sent.push({ port, bytes: toHex(arena.subarray(at, at + length)) });
  }
  drop(code: number) {
    this.drops.push(DROP_REASONS[code]);
  }
  tunnel(key: number, remote: number, arena: Uint8Array, at: number, length: number) {
    this.sent.push({ port: -key, bytes: `${remote.toString(16)}:${toHex(arena.subarray(at, at + length))}` });
  }
}

// vnet header: NEEDS_CSUM with csum_start 34 (the ICMP header), csum_offset 2.
const vnet = Uint8Array.from([1, 0, 0, 0, 0, 0, 34, 0, 2, 0]);

function setUp() {
  const arena = new Uint8Array(4096);
  arena.set(vnet, 0);
  arena.set(icmpEchoRequest, 10);
  const length = 10 + icmpEchoRequest.length;
  return { arena, length, executor: new ActionExecutor(arena, 2048, 2048), table: new ActionTable(), sink: new RecordingSink() };
}

test('outputs hand over the frame in place, in program order', (t) => {
  const { arena, length, executor, table, sink } = setUp();
  executor.run(table.programs[table.intern([{ type: 'output', port: 3 }, { type: 'output', port: 1 }])], 0, length, sink);
  t.deepEqual(sink.sent.map((s) => s.port), [3, 1]);
  t.is(sink.sent[0].bytes, toHex(arena.subarray(0, length)));
});

test('push_vlan inserts the tag after the MACs and moves csum_start; pop_vlan undoes it', (t) => {
  const { length, executor, table, sink } = setUp();
  const program = table.programs[table.intern([
    { type: 'push_vlan', vid: 100, pcp: 5 }, { type: 'output', port: 2 }, { type: 'pop_vlan' }, { type: 'output', port: 3 },
  ])];
  executor.run(program, 0, length, sink);
  const tagged = sink.sent[0].bytes;
  t.is(tagged.slice(20, 20 + 24), toHex(icmpEchoRequest.subarray(0, 12)));
  t.is(tagged.slice(44, 52), '8100a064');
  t.is(tagged.slice(52, 56), '0800');
  t.is(tagged.slice(12, 14), '26', 'csum_start 34 + 4 = 38');
  t.is(sink.sent[1].bytes, toHex(Uint8Array.from([...vnet, ...icmpEchoRequest])));
});

test('an empty program and pop_vlan on an untagged frame are counted drops', (t) => {
  const { length, executor, table, sink } = setUp();
  executor.run(table.programs[table.intern([])], 0, length, sink);
  executor.run(table.programs[table.intern([{ type: 'pop_vlan' }, { type: 'output', port: 1 }])], 0, length, sink);
  t.deepEqual(sink.drops, ['noOutput', 'vlanMismatch']);
  t.is(sink.sent.length, 0);
});

/** A TCP or UDP frame from frame text with every checksum right, behind a vnet header; `partial`:
 *  the L4 checksum left to the device (NEEDS_CSUM, the pseudo-header's sum in its place). */
function natFrame(what: 'tcp' | 'udp', partial = false, udpNoChecksum = false) {
  const frame = frameFromText(`${what},nw_src=10.0.1.5,nw_dst=198.51.100.7,tp_src=40000,tp_dst=443`);
  const l4 = 14 + 20;
  const ip = new Ipv4Packet(frame, 14);
  ip.fillChecksum();
  const length = frame.length - l4;
  const pseudo = ipv4PseudoSum(frame, 14, ip.protocol, length);
  const checksumAt = l4 + (what === 'tcp' ? 16 : 6);
  if (partial) {
    frame[checksumAt] = 0;
    frame[checksumAt + 1] = 0;
    const sum = foldSum(pseudo);
    frame[checksumAt] = sum >>> 8;
    frame[checksumAt + 1] = sum & 0xff;
  } else if (what === 'tcp') new TcpSegment(frame, l4, frame.length).fillChecksum(pseudo);
  else if (!udpNoChecksum) new UdpDatagram(frame, l4, frame.length).fillChecksum(pseudo);
  const header = partial ? [1, 0, 0, 0, 0, 0, l4, 0, what === 'tcp' ? 16 : 6, 0] : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return Uint8Array.from([...header, ...frame]);
}

/** Runs set_ipv4 (or set_l4_port, given a port) on a frame; the frame after, without its vnet header. */
function natted(input: Uint8Array, field: 'source' | 'destination', address: string, quoted = false, port = 0): Uint8Array {
  const arena = new Uint8Array(4096);
  arena.set(input, 0);
  const sink = new RecordingSink();
  const table = new ActionTable();
  new ActionExecutor(arena, 2048, 2048).run(table.programs[table.intern([port ? { type: 'set_l4_port', field, port, quoted } : { type: 'set_ipv4', field, address, quoted }, { type: 'output', port: 1 }])], 0, input.length, sink);
  return arena.slice(10, input.length);
}

const l4Holds = (f: Uint8Array) => onesComplementSum(f, 34, f.length, ipv4PseudoSum(f, 14, f[23], f.length - 34)) === 0xffff;

test('set_ipv4 rewrites the source or destination with the IPv4 and TCP/UDP checksums right (RFC 1624)', (t) => {
  for (const what of ['tcp', 'udp'] as const) {
    for (const field of ['source', 'destination'] as const) {
      const out = natted(natFrame(what), field, '203.0.113.10');
      t.is(formatAddress(out.subarray(field === 'source' ? 26 : 30, field === 'source' ? 30 : 34)), '203.0.113.10');
      t.true(new Ipv4Packet(out, 14).verifyChecksum(), `${what} ${field}: the IPv4 header's checksum`);
      t.true(l4Holds(out), `${what} ${field}: the ${what} checksum`);
    }
  }
  const none = natted(natFrame('udp', false, true), 'source', '203.0.113.10');
  t.deepEqual([...none.subarray(40, 42)], [0, 0], 'UDP without a checksum stays without one');
});

test('set_ipv4 on a frame whose checksum the device finishes: the pseudo-header\'s sum moves, and the device\'s checksum comes out right', (t) => {
  for (const what of ['tcp', 'udp'] as const) {
    const out = natted(natFrame(what, true), 'source', '203.0.113.10');
    // What the device does: the sum of the segment from csum_start, with the partial sum in
    // the checksum's place, complemented, written there.
    const checksumAt = 34 + (what === 'tcp' ? 16 : 6);
    const finished = ~onesComplementSum(out, 34, out.length) & 0xffff;
    out[checksumAt] = finished >>> 8;
    out[checksumAt + 1] = finished & 0xff;
    t.true(l4Holds(out), what);
  }
});

test('set_ipv4 on the packet an ICMP error quotes: the quote\'s address, its checksums and the ICMP message\'s all right', (t) => {
  const udp = natFrame('udp').subarray(10);
  const quoted = udp.slice(14); // the IPv4 packet, as a port unreachable quotes it (whole here)
  const error = icmpv4({ source: parseMac('02:00:00:00:00:01'), destination: parseMac('02:00:00:00:00:02') }, parseAddress('198.51.100.7'), parseAddress('10.0.1.5'), 3, 3, 0, quoted);
  const out = natted(error, 'source', '203.0.113.10', true);
  const inner = 14 + 20 + 8;
  t.is(formatAddress(out.subarray(inner + 12, inner + 16)), '203.0.113.10');
  t.is(onesComplementSum(out, 34, out.length), 0xffff, 'the ICMP checksum');
  t.true(new Ipv4Packet(out, inner).verifyChecksum(), 'the quoted header\'s checksum');
  t.is(onesComplementSum(out, inner + 20, out.length, ipv4PseudoSum(out, inner, 17, out.length - inner - 20)), 0xffff, 'the quoted UDP checksum');
  t.is(formatAddress(out.subarray(30, 34)), '10.0.1.5', 'the outer header is left alone');
});

test('set_l4_port rewrites a TCP or UDP port with its checksum right; a partial checksum needs nothing, UDP\'s 0 stays', (t) => {
  for (const what of ['tcp', 'udp'] as const) {
    for (const field of ['source', 'destination'] as const) {
      const out = natted(natFrame(what), field, '', false, 2222);
      t.is((out[34 + (field === 'source' ? 0 : 2)] << 8) | out[35 + (field === 'source' ? 0 : 2)], 2222);
      t.true(l4Holds(out), `${what} ${field}`);
    }
    const partial = natted(natFrame(what, true), 'destination', '', false, 2222);
    const checksumAt = 34 + (what === 'tcp' ? 16 : 6);
    const finished = ~onesComplementSum(partial, 34, partial.length) & 0xffff;
    partial[checksumAt] = finished >>> 8;
    partial[checksumAt + 1] = finished & 0xff;
    t.true(l4Holds(partial), `${what}: the device's checksum comes out right`);
  }
  t.deepEqual([...natted(natFrame('udp', false, true), 'source', '', false, 2222).subarray(40, 42)], [0, 0]);
});

test('set_l4_port on an ICMP echo rewrites its identifier, either field, with the ICMP checksum right', (t) => {
  for (const field of ['source', 'destination'] as const) {
    const out = natted(Uint8Array.from([...new Uint8Array(10), ...icmpEchoRequest]), field, '', false, 0x4321);
    t.is((out[38] << 8) | out[39], 0x4321);
    t.is(onesComplementSum(out, 34, out.length), 0xffff, field);
  }
});

test('set_l4_port on the packet an ICMP error quotes: a UDP port or an echo\'s identifier, with the quote\'s checksum and the ICMP message\'s right', (t) => {
  const link = { source: parseMac('02:00:00:00:00:01'), destination: parseMac('02:00:00:00:00:02') };
  const udp = natFrame('udp').subarray(10 + 14);
  const unreachable = icmpv4(link, parseAddress('198.51.100.7'), parseAddress('10.0.1.5'), 3, 3, 0, udp);
  const out = natted(unreachable, 'source', '', true, 5555);
  const inner = 14 + 20 + 8;
  t.is((out[inner + 20] << 8) | out[inner + 21], 5555, 'the quoted source port');
  t.is(onesComplementSum(out, 34, out.length), 0xffff, 'the ICMP checksum');
  t.is(onesComplementSum(out, inner + 20, out.length, ipv4PseudoSum(out, inner, 17, out.length - inner - 20)), 0xffff, 'the quoted UDP checksum');
  const echo = icmpEchoRequest.slice(14);
  const exceeded = icmpv4(link, parseAddress('198.51.100.1'), parseAddress('10.0.0.1'), 11, 0, 0, echo);
  const out2 = natted(exceeded, 'source', '', true, 0x1234);
  t.is((out2[inner + 24] << 8) | out2[inner + 25], 0x1234, 'the quoted echo\'s identifier');
  t.is(onesComplementSum(out2, inner + 20, out2.length), 0xffff, 'the quoted echo\'s checksum');
  t.is(onesComplementSum(out2, 34, out2.length), 0xffff, 'the ICMP checksum');
});

test('set_ipv6 rewrites the source or destination with the TCP checksum right (its pseudo-header holds it), a partial one as such; set_l4_port on IPv6 too', (t) => {
  const frame = frameFromText('tcp6,nw_src=2001:db8:1::5,nw_dst=2001:db8:2::64,tp_src=40000,tp_dst=80');
  const l4 = 14 + 40;
  new TcpSegment(frame, l4, frame.length).fillChecksum(ipv6PseudoSum(frame, 14, 6, frame.length - l4));
  const holds = (f: Uint8Array) => onesComplementSum(f, l4, f.length, ipv6PseudoSum(f, 14, 6, f.length - l4)) === 0xffff;
  t.true(holds(frame), 'the frame as made');
  for (const field of ['source', 'destination'] as const) {
    const arena = new Uint8Array(4096);
    arena.set(frame, 10);
    const table = new ActionTable();
    const program = table.programs[table.intern([{ type: 'set_ipv6', field, address: '2001:db8:2::b' }, { type: 'set_l4_port', field, port: 8080 }, { type: 'output', port: 1 }])];
    new ActionExecutor(arena, 2048, 2048).run(program, 0, 10 + frame.length, new RecordingSink());
    const out = arena.slice(10, 10 + frame.length);
    t.is(formatAddress(out.subarray(field === 'source' ? 22 : 38, field === 'source' ? 38 : 54)), '2001:db8:2::b');
    t.is((out[l4 + (field === 'source' ? 0 : 2)] << 8) | out[l4 + (field === 'source' ? 1 : 3)], 8080);
    t.true(holds(out), `${field}: the TCP checksum`);
  }
});
