// DHCP answered in the walk: a VM's DISCOVER and REQUEST get an OFFER and an ACK with its
// port's address and the subnet's options, from its own port's host, and go nowhere else; a
// REQUEST for another address is refused; a port with no address on the subnet is not answered.
import test from 'ava';
import {
  DHCP_FIXED_BYTES, DhcpMessage, DhcpMessageType, DhcpOption, emitEthernet, emitIpv4, emitUdp, EtherType, formatAddress, IpProtocol, parseAddress, parseMac,
  UDP_HEADER_BYTES, VNET_HEADER_BYTES,
} from '../../src/packet';
import { EMPTY_SUBNET } from '../../src/topology';
import { outputs, TestHost } from '../helpers/topology';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

/** A client's message: BOOTREQUEST from `mac`, with a message type and options. */
function clientMessage(mac: string, type: number, options: [number, number[]][] = []): Uint8Array {
  const dhcp = [...new Uint8Array(DHCP_FIXED_BYTES)];
  Object.assign(dhcp, { 0: 1, 1: 1, 2: 6, 4: 0x12, 5: 0x34, 6: 0x56, 7: 0x78 });
  parseMac(mac).forEach((b, i) => (dhcp[28 + i] = b));
  [0x63, 0x82, 0x53, 0x63].forEach((b, i) => (dhcp[236 + i] = b));
  for (const [code, value] of [[DhcpOption.messageType, [type]], ...options] as [number, number[]][]) dhcp.push(code, value.length, ...value);
  dhcp.push(DhcpOption.end);
  const b = new Uint8Array(14 + 20 + UDP_HEADER_BYTES + dhcp.length);
  const ip = emitEthernet(b, 0, { source: parseMac(mac), destination: parseMac('ff:ff:ff:ff:ff:ff'), ethertype: EtherType.ipv4 });
  const udp = emitIpv4(b, ip, { dscp: 0, ecn: 0, identification: 0, dontFragment: false, ttl: 64, protocol: IpProtocol.udp, source: new Uint8Array(4), destination: parseAddress('255.255.255.255'), payloadLength: UDP_HEADER_BYTES + dhcp.length });
  b.set(dhcp, emitUdp(b, udp, { sourcePort: 68, destinationPort: 67, payloadLength: dhcp.length }));
  return b;
}

function network() {
  const h = new TestHost();
  const subnet = { ...EMPTY_SUBNET, cidr: '10.0.0.0/24', gateway: '10.0.0.1', dnsServers: ['10.0.0.53'], domain: 'example.org', routes: [{ destination: '172.16.0.0/12', nextHop: '10.0.0.254' }] };
  const bridge = h.put('bridge', { name: 'net', subnets: [subnet] });
  const a = h.put('port', { device: bridge, name: 'a', addresses: ['10.0.0.5'], portSecurity: false });
  const b = h.put('port', { device: bridge, name: 'b', portSecurity: false });
  h.ports = [a, b].map((binding, i) => ({ number: i + 1, name: `tap${i + 1}`, up: true, binding }));
  return h;
}

const answerOf = (frame: Uint8Array) => new DhcpMessage(frame, VNET_HEADER_BYTES + 14 + 20 + UDP_HEADER_BYTES);
const text = (value: Uint8Array | null) => (value ? new TextDecoder().decode(value) : null);

test('DISCOVER gets an OFFER of the port\'s address with the subnet\'s options, to the VM alone; nothing floods', (t) => {
  const h = network();
  const result = h.simulate(1, clientMessage(A, DhcpMessageType.discover));
  t.deepEqual(result.actions, [], 'taken in: not flooded to the other port');
  t.false(result.cache, 'each message is answered');
  t.is(result.emit.length, 1);
  t.is(result.emit[0].service, 'dhcp');
  t.deepEqual(outputs(result.emit[0].actions), [1], 'to the VM\'s port');
  const offer = answerOf(result.emit[0].frame);
  t.is(offer.messageType, DhcpMessageType.offer);
  t.is(offer.xid, 0x12345678);
  t.is(formatAddress(result.emit[0].frame.subarray(VNET_HEADER_BYTES + 14 + 20 + 8 + 16, VNET_HEADER_BYTES + 14 + 20 + 8 + 20)), '10.0.0.5', 'yiaddr');
  t.is(formatAddress(offer.option(DhcpOption.router)!), '10.0.0.1');
  t.is(formatAddress(offer.option(DhcpOption.subnetMask)!), '255.255.255.0');
  t.is(formatAddress(offer.option(DhcpOption.dnsServers)!), '10.0.0.53');
  t.is(text(offer.option(DhcpOption.domainName)), 'example.org');
  t.deepEqual([...offer.option(DhcpOption.interfaceMtu)!], [0x05, 0xdc], 'the host\'s MTU: 1500 with no underlay');
  t.deepEqual([...offer.option(DhcpOption.classlessRoutes)!], [12, 172, 16, 10, 0, 0, 254, 0, 10, 0, 0, 1], 'the static route, and the default route with it (RFC 3442)');
  t.deepEqual([...offer.option(DhcpOption.leaseTime)!], [0, 1, 0x51, 0x80], 'a day');
});

test('REQUEST for its address is ACKed, for another NAKed; a port with no address on the subnet is not answered', (t) => {
  const h = network();
  const ack = h.simulate(1, clientMessage(A, DhcpMessageType.request, [[DhcpOption.requestedAddress, [10, 0, 0, 5]]]));
  t.is(answerOf(ack.emit[0].frame).messageType, DhcpMessageType.ack);
  const nak = h.simulate(1, clientMessage(A, DhcpMessageType.request, [[DhcpOption.requestedAddress, [10, 0, 0, 9]]]));
  t.is(answerOf(nak.emit[0].frame).messageType, DhcpMessageType.nak);
  const unanswered = h.simulate(2, clientMessage(B, DhcpMessageType.discover));
  t.is(unanswered.emit.length, 0);
  t.deepEqual(outputs(unanswered.actions), [1], 'b has no address: its broadcast floods, as any does');
  t.regex(h.simulate(1, clientMessage(A, DhcpMessageType.discover), 'trace').trace.join('\n'), /DHCP DISCOVER from a: OFFER 10\.0\.0\.5/);
});

test('a VM flooding DHCP is answered within its budget; past it the drop is cached, so the flood stays in the datapath', (t) => {
  const h = network();
  const results = Array.from({ length: 500 }, () => h.simulate(1, clientMessage(A, DhcpMessageType.discover)));
  const answered = results.filter((r) => r.emit.length > 0);
  t.true(answered.length >= 20 && answered.length < 500, `${answered.length} of 500 answered`);
  t.true(results.filter((r) => r.emit.length === 0).every((r) => r.cache && r.actions[0]?.type === 'drop' && r.actions[0].reason === 'serviceLimited'));
});

test('twenty thousand mutated and truncated DHCP messages: no exception, each answered, taken in, dropped or flooded', (t) => {
  const h = network();
  const templates = [clientMessage(A, DhcpMessageType.discover), clientMessage(A, DhcpMessageType.request, [[DhcpOption.requestedAddress, [10, 0, 0, 5]], [DhcpOption.parameterList, [1, 3, 6, 26, 121]]])];
  let seed = 11;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 20_000; i++) {
    const template = templates[i % templates.length];
    const f = template.slice(0, 42 + Math.floor(random() * (template.length - 42 + 1)));
    for (let m = 0; m < 4; m++) f[42 + Math.floor(random() * (f.length - 42))] = Math.floor(random() * 256);
    // A trace walks the whole answer (no budget), and learns nothing.
    const result = h.simulate(1, f, 'trace');
    if (result.actions.length === 0 && result.cache) t.fail('an empty flow that would be cached');
  }
  t.pass();
});
