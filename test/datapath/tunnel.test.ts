// The datapath's VXLAN tunnel with a recording stand-in for the native I/O: datagrams in are
// delivered by key with no simulation, or dropped and counted; frames out are encapsulated.
import test from 'ava';
import { ConnTable } from '../../src/flow';
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FromDatapath, newPortMeterBuffers, PortCounter, PortMeters, summarizeLatency } from '../../src/datapath';
import { RecordingIo } from '../helpers/recording-io';
import { DROP_REASONS } from '../../src/flow';
import { concatBytes, emitVxlan, IpProtocol, ipv4PseudoSum, TcpFlag, TcpSegment, VNET_HEADER_BYTES, VnetHeader, VxlanHeader } from '../../src/packet';
import { icmpEchoRequest } from '../helpers/frames';
import { superFrame } from '../helpers/super-frame';

const PEER = 0xc0a86402; // 192.168.100.2
const STRANGER = 0xc0a864fe;

function setUp() {
  const io = new RecordingIo();
  const counters = new DatapathCounters();
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, new PortMeters(newPortMeterBuffers()), new ConnTable(64), () => {}, io);
  datapath.addPort({ number: 3, name: 'vm', kind: 'packet', fd: 33, vnetHdr: true }, false);
  datapath.addPort({ number: 0, name: 'vxlan', kind: 'tunnel', fd: 44, vnetHdr: false }, true);
  datapath.setTunnelMap({ delivery: [[5000, 3]], ingress: [], marks: [], peers: [PEER] });
  const drops = (reason: string) => counters.values[counters.dropIndex(DROP_REASONS.indexOf(reason as never))];
  const timed = () => summarizeLatency([{ values: counters.values, at: counters.latencyAt }]).transit.frames;
  return { io, counters, datapath, drops, timed };
}

function datagram(vni: number, frame: Uint8Array): Uint8Array {
  const d = new Uint8Array(8 + frame.length);
  emitVxlan(d, 0, vni);
  d.set(frame, 8);
  return d;
}


test('a datagram from a registered host is delivered to the port its key names, with no upcall', (t) => {
  const { io, datapath, counters, timed } = setUp();
  io.inbox.push({ source: PEER, datagram: datagram(5000, icmpEchoRequest) });
  io.readable[0]();
  t.is(io.sent.length, 1);
  t.is(timed(), 1, 'its transit is timed');
  t.is(io.sent[0].fd, 33);
  t.deepEqual([...io.sent[0].bytes.subarray(VNET_HEADER_BYTES)], [...icmpEchoRequest], 'the inner frame, behind a zeroed vnet header');
  t.is(counters.values[counters.portIndex(0, PortCounter.rxPackets)], 1);
  t.is(datapath.dumpFlows().length, 0, 'nothing was simulated or cached');
});

test('a datagram from an address that is not a registered host, or with an unknown key, is dropped and counted', (t) => {
  const { io, drops, timed } = setUp();
  io.inbox.push({ source: STRANGER, datagram: datagram(5000, icmpEchoRequest) });
  io.inbox.push({ source: PEER, datagram: datagram(4242, icmpEchoRequest) });
  io.inbox.push({ source: PEER, datagram: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 2) });
  io.readable[0]();
  t.is(io.sent.length, 0);
  t.is(drops('unknownTunnelPeer'), 1);
  t.is(drops('unknownTunnelKey'), 1);
  t.is(drops('malformed'), 1);
  t.is(timed(), 0, 'nor timed as forwarded');
});

test('a tunnel action sends the frame behind a VXLAN header to the remote host on port 4789', (t) => {
  const { io, datapath } = setUp();
  const frame = new Uint8Array(VNET_HEADER_BYTES + icmpEchoRequest.length);
  frame.set(icmpEchoRequest, VNET_HEADER_BYTES);
  datapath.transmit([{ frame, actions: [{ type: 'tunnel', key: 7, remote: '192.168.100.2' }] }]);
  t.is(io.tunnelled.length, 1);
  t.is(io.tunnelled[0].destination, PEER);
  t.is(io.tunnelled[0].port, 4789);
  const expected = datagram(7, icmpEchoRequest);
  t.deepEqual([...io.tunnelled[0].bytes], [...expected]);
});

test('frames of one size to one host in a batch go as one run, as the ACKs of a TCP receiver do', (t) => {
  const { io, datapath } = setUp();
  const frame = new Uint8Array(VNET_HEADER_BYTES + icmpEchoRequest.length);
  frame.set(icmpEchoRequest, VNET_HEADER_BYTES);
  const shorter = frame.subarray(0, frame.length - 2);
  const actions = [{ type: 'tunnel' as const, key: 7, remote: '192.168.100.2' }];
  datapath.transmit([frame, frame, frame, shorter, frame].map((f) => ({ frame: f, actions })));
  t.deepEqual(io.sends.map((s) => s.datagrams), [4, 1], 'three of one size and a shorter one end a run');
  t.deepEqual(io.tunnelled.map((d) => d.bytes.length), [1, 1, 1, 0, 1].map((n) => 8 + icmpEchoRequest.length - 2 + 2 * n));
});

test('a super-frame into the tunnel goes as runs of equal datagrams, each a VXLAN header and a whole segment', (t) => {
  const { io, datapath, counters } = setUp();
  const frame = superFrame({ flags: TcpFlag.ack, payload: 64_000, mss: 1448 });
  datapath.transmit([{ frame, actions: [{ type: 'tunnel', key: 7, remote: '192.168.100.2' }] }]);
  const segments = Math.ceil(64_000 / 1448);
  t.is(io.tunnelled.length, segments);
  t.is(io.sends.length, 2, 'a run stays under 64 KiB of UDP payload');
  t.is(io.sends[0].segmentSize, 8 + 54 + 1448);
  t.true(io.tunnelled.every((d) => new VxlanHeader(d.bytes, 0).vni === 7 && d.destination === PEER));
  const last = io.tunnelled[segments - 1].bytes;
  t.is(last.length, 8 + 54 + 64_000 - (segments - 1) * 1448);
  const tcp = new TcpSegment(last, 8 + 34, last.length);
  t.true(tcp.verifyChecksum(ipv4PseudoSum(last, 8 + 14, IpProtocol.tcp, last.length - 8 - 34)));
  t.is(counters.values[counters.portIndex(0, PortCounter.txPackets)], segments, 'datagrams are counted, not sends');
});

test('super-frames to one host go on filling one run while their segments are all of one size', (t) => {
  const { io, datapath } = setUp();
  const first = superFrame({ flags: TcpFlag.ack, payload: 20 * 1448, mss: 1448 });
  const second = superFrame({ flags: TcpFlag.ack, sequence: (0xfffffc00 + 20 * 1448) >>> 0, payload: 20 * 1448 + 100, mss: 1448 });
  const third = superFrame({ flags: TcpFlag.ack, payload: 2 * 1448, mss: 1448 });
  const tunnel = (remote: string) => [{ type: 'tunnel' as const, key: 7, remote }];
  datapath.transmit([
    { frame: first, actions: tunnel('192.168.100.2') },
    { frame: second, actions: tunnel('192.168.100.2') },
    { frame: third, actions: tunnel('192.168.100.3') },
  ]);
  t.deepEqual(io.sends.map((s) => s.datagrams), [41, 2], 'the short last segment of the second frame ends the first run; another host, another run');
  t.is(io.tunnelled.length, 43);
  t.is(io.tunnelled[40].bytes.length, 8 + 54 + 100);
});

test('a run of datagrams received together is delivered as one super-frame; other frames in it as they came', (t) => {
  const { io, datapath, counters } = setUp();
  const frame = superFrame({ flags: TcpFlag.ack, payload: 10_000, mss: 1448 });
  const sent = setUp();
  sent.datapath.transmit([{ frame, actions: [{ type: 'tunnel', key: 5000, remote: '192.168.100.2' }] }]);
  const datagrams = sent.io.tunnelled.map((d) => d.bytes);
  io.inbox.push({ source: PEER, datagram: concatBytes(datagrams), segmentSize: datagrams[0].length });
  io.inbox.push({ source: PEER, datagram: concatBytes([datagram(5000, icmpEchoRequest), datagram(5000, icmpEchoRequest)]), segmentSize: 8 + icmpEchoRequest.length });
  io.readable[0]();
  t.is(io.sent.length, 3);
  const merged = io.sent[0].bytes;
  t.is(merged.length, frame.length);
  t.is(new VnetHeader(merged, 0).gsoSize, 1448);
  t.deepEqual([...merged.subarray(VNET_HEADER_BYTES + 54)], [...frame.subarray(VNET_HEADER_BYTES + 54)], 'the payload, whole and in order');
  for (const echo of io.sent.slice(1)) t.deepEqual([...echo.bytes.subarray(VNET_HEADER_BYTES)], [...icmpEchoRequest]);
  t.is(counters.values[counters.portIndex(0, PortCounter.rxPackets)], datagrams.length + 2, 'datagrams are counted, not receives');
  t.is(datapath.dumpFlows().length, 0);
});

test('a super-frame that went as two runs, received in two receives, is delivered as one', (t) => {
  const { io } = setUp();
  const frame = superFrame({ flags: TcpFlag.ack, payload: 64_000, mss: 1448 });
  const sent = setUp();
  sent.datapath.transmit([{ frame, actions: [{ type: 'tunnel', key: 5000, remote: '192.168.100.2' }] }]);
  t.is(sent.io.sends.length, 2);
  const datagrams = sent.io.tunnelled.map((d) => d.bytes);
  const first = sent.io.sends[0].datagrams;
  for (const part of [datagrams.slice(0, first), datagrams.slice(first)]) io.inbox.push({ source: PEER, datagram: concatBytes(part), segmentSize: part[0].length });
  io.readable[0]();
  t.is(io.sent.length, 1);
  t.deepEqual([...io.sent[0].bytes.subarray(VNET_HEADER_BYTES + 54)], [...frame.subarray(VNET_HEADER_BYTES + 54)]);
});

test('a run from an address that is not a registered host is dropped whole, each datagram counted', (t) => {
  const { io, drops } = setUp();
  io.inbox.push({ source: STRANGER, datagram: concatBytes([datagram(5000, icmpEchoRequest), datagram(5000, icmpEchoRequest)]), segmentSize: 8 + icmpEchoRequest.length });
  io.readable[0]();
  t.is(io.sent.length, 0);
  t.is(drops('unknownTunnelPeer'), 2);
});

test('a port held for an arriving VM keeps what is sent to it until the guest sends, then sends what is young enough', async (t) => {
  const io = new RecordingIo();
  const counters = new DatapathCounters();
  const messages: FromDatapath[] = [];
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, new PortMeters(newPortMeterBuffers()), new ConnTable(64), (m) => messages.push(m), io);
  datapath.addPort({ number: 0, name: 'vxlan', kind: 'tunnel', fd: 44, vnetHdr: false }, true);
  datapath.addPort({ number: 3, name: 'tapd', kind: 'packet', fd: 33, vnetHdr: true }, true);
  datapath.setTunnelMap({ delivery: [[5000, 3]], ingress: [], marks: [], peers: [PEER] });
  const [tunnelReadable, portReadable] = io.readable;
  datapath.hold(3, 100);
  const copy = (n: number) => {
    const frame = icmpEchoRequest.slice();
    frame[frame.length - 1] = n;
    io.inbox.push({ source: PEER, datagram: datagram(5000, frame) });
    tunnelReadable();
  };
  copy(1);
  await new Promise((resolve) => setTimeout(resolve, 150));
  copy(2);
  copy(3);
  t.is(io.sent.length, 0, 'nothing reaches a guest that does not run yet');
  io.frames.set(33, [icmpEchoRequest]);
  portReadable();
  t.deepEqual(messages.filter((m) => m.type === 'guestRunning'), [{ type: 'guestRunning', number: 3 }]);
  const delivered = io.sent.filter((s) => s.fd === 33).map((s) => s.bytes[s.bytes.length - 1]);
  t.deepEqual(delivered, [2, 3], 'the held frames younger than the window, in order; the older one dropped');
  t.is(counters.values[counters.dropIndex(DROP_REASONS.indexOf('heldTooLong'))], 1);
  copy(4);
  t.is(io.sent.filter((s) => s.fd === 33).length, 3, 'then frames go straight through');
});

test('a mark from the source (the guest sent there) lets go of what was held before it: the guest read it there', async (t) => {
  const io = new RecordingIo();
  const counters = new DatapathCounters();
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, new PortMeters(newPortMeterBuffers()), new ConnTable(64), () => undefined, io);
  datapath.addPort({ number: 0, name: 'vxlan', kind: 'tunnel', fd: 44, vnetHdr: false }, true);
  datapath.addPort({ number: 3, name: 'tapd', kind: 'packet', fd: 33, vnetHdr: true }, true);
  datapath.setTunnelMap({ delivery: [[5000, 3]], ingress: [], marks: [[6000, 3]], peers: [PEER] });
  const [tunnelReadable, portReadable] = io.readable;
  datapath.hold(3, 1000);
  const arrive = (key: number, n: number) => {
    const frame = icmpEchoRequest.slice();
    frame[frame.length - 1] = n;
    io.inbox.push({ source: PEER, datagram: datagram(key, frame) });
    tunnelReadable();
  };
  arrive(5000, 1);
  arrive(5000, 2);
  await new Promise((resolve) => setTimeout(resolve, 60));
  arrive(6000, 9);
  arrive(5000, 3);
  io.frames.set(33, [icmpEchoRequest]);
  portReadable();
  t.deepEqual(io.sent.filter((s) => s.fd === 33).map((s) => s.bytes[s.bytes.length - 1]), [3], 'only what came after the mark; the mark itself is not delivered');
  t.is(counters.values[counters.dropIndex(DROP_REASONS.indexOf('readAtSource'))], 2);
  t.is(counters.values[counters.dropIndex(DROP_REASONS.indexOf('migrationMark'))], 1);
});
