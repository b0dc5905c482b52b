import test from 'ava';
import { EMPTY_SUBNET, Subnet } from '../../src/topology';
import {
  ArpOperation, ArpPacket, EtherType, formatAddress, formatMac, frameFromText, Icmpv4Message, Icmpv4Type, Icmpv6Type, Ipv4Packet, ipv6PseudoSum,
  linkLocalOf, onesComplementSum, parseMac, VNET_HEADER_BYTES,
} from '../../src/packet';
import { neighborTag } from '../../src/simulation';
import { parseAddress } from '../../src/packet';
import { arpReply, arpRequest, icmpv4, icmpv6, neighborAdvertisement, neighborSolicitation } from '../../src/simulation/router-frames';
import { outputs, TestHost } from '../helpers/topology';

const H1 = parseMac('52:54:00:00:01:01');
const H2 = parseMac('52:54:00:00:02:02');
const R1 = '02:00:00:00:01:01';
const R2 = '02:00:00:00:02:01';
const bare = (frame: Uint8Array) => frame.slice(VNET_HEADER_BYTES);
const link = (source: Uint8Array, destination: string) => ({ source, destination: parseMac(destination) });
const ping = (ttl: number, destination: string) => {
  const f = bare(icmpv4(link(H1, R1), parseAddress('10.0.1.5'), parseAddress(destination), Icmpv4Type.echoRequest, 0, 0x12340001, new Uint8Array(16).fill(7)));
  f[14 + 8] = ttl;
  new Ipv4Packet(f, 14).fillChecksum();
  return f;
};

/** Two subnets (10.0.1.0/24 + 2001:db8:1::/64, 10.0.2.0/24 + 2001:db8:2::/64) joined by a router;
 *  host 1 on datapath port 1, host 2 on port 2. */
function routed(subnets: Subnet[] = []) {
  const host = new TestHost();
  const router = host.put('router', { name: 'r' });
  const [b1, b2] = [host.put('bridge', { name: 'b1', subnets }), host.put('bridge', { name: 'b2' })];
  const r1 = host.put('port', { device: router, name: 'r1', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'] });
  const r2 = host.put('port', { device: router, name: 'r2', mac: R2, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'] });
  const b1r = host.put('port', { device: b1, name: 'b1r', peer: r1 });
  const b2r = host.put('port', { device: b2, name: 'b2r', peer: r2 });
  host.put('port', { id: r1, device: router, name: 'r1', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'], peer: b1r });
  host.put('port', { id: r2, device: router, name: 'r2', mac: R2, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'], peer: b2r });
  const v1 = host.put('port', { device: b1, name: 'v1' });
  const v2 = host.put('port', { device: b2, name: 'v2' });
  host.ports = [{ number: 1, name: 'tap1', up: true, binding: v1 }, { number: 2, name: 'tap2', up: true, binding: v2 }];
  return { host, router };
}

test('answers ARP for its own address and learns the asker; the flow is not cached', (t) => {
  const { host, router } = routed();
  const result = host.simulate(1, bare(arpRequest(H1, parseAddress('10.0.1.5'), parseAddress('10.0.1.1'))));
  t.false(result.cache);
  t.deepEqual(result.learned, [{ router, address: '10.0.1.5', mac: formatMac(H1) }]);
  t.is(result.emit.length, 1);
  t.deepEqual(outputs(result.emit[0].actions), [1]);
  const arp = new ArpPacket(result.emit[0].frame, VNET_HEADER_BYTES + 14);
  t.is(arp.oper, ArpOperation.reply);
  t.is(formatMac(arp.repr().sha), R1);
});

test('answers pings to its addresses with the same identifier, sequence and payload', (t) => {
  const { host } = routed();
  const result = host.simulate(1, ping(64, '10.0.2.1'));
  t.false(result.cache);
  t.deepEqual(result.actions, [], 'taken in, not dropped');
  const reply = result.emit[0].frame;
  const icmp = new Icmpv4Message(reply, VNET_HEADER_BYTES + 34);
  t.is(icmp.type, Icmpv4Type.echoReply);
  t.is(icmp.identifier, 0x1234);
  t.is(icmp.sequence, 1);
  t.is(onesComplementSum(reply, VNET_HEADER_BYTES + 34, reply.length), 0xffff, 'ICMP checksum');
  t.deepEqual(outputs(result.emit[0].actions), [1]);
});

test('routes: resolves the next hop with ARP while the frame waits, then rewrites MACs and TTL', (t) => {
  const { host, router } = routed();
  const first = host.simulate(1, ping(64, '10.0.2.7'));
  t.false(first.cache);
  t.is(first.holds.length, 1);
  t.is(first.holds[0].address, '10.0.2.7');
  t.deepEqual(outputs(first.holds[0].request!.actions), [2], 'the ARP request goes to subnet 2 only');
  const answer = host.simulate(2, bare(arpReply(H2, parseAddress('10.0.2.7'), parseMac(R2), parseAddress('10.0.2.1'))));
  t.deepEqual(answer.learned, [{ router, address: '10.0.2.7', mac: formatMac(H2) }]);
  const routedFlow = host.simulate(1, ping(64, '10.0.2.7'));
  t.true(routedFlow.cache);
  t.deepEqual(routedFlow.actions, [
    { type: 'set_eth', source: R2, destination: formatMac(H2) }, { type: 'dec_ttl' }, { type: 'output', port: 2 },
  ]);
  t.true(routedFlow.tags.includes(neighborTag(router, '10.0.2.7')));
});

test('TTL 1 gets time exceeded, an unrouted destination gets unreachable, both quoting the packet', (t) => {
  const { host } = routed();
  const expired = host.simulate(1, ping(1, '10.0.2.7'));
  const exceeded = new Icmpv4Message(expired.emit[0].frame, VNET_HEADER_BYTES + 34);
  t.is(exceeded.type, Icmpv4Type.timeExceeded);
  t.is(expired.emit[0].frame.length, VNET_HEADER_BYTES + 34 + 8 + 28, 'IP header and 8 bytes quoted');
  t.deepEqual(expired.actions, [{ type: 'drop', reason: 'ttlExpired' }]);
  const nowhere = host.simulate(1, ping(64, '192.168.9.9'));
  t.is(new Icmpv4Message(nowhere.emit[0].frame, VNET_HEADER_BYTES + 34).type, Icmpv4Type.destinationUnreachable);
  t.deepEqual(nowhere.actions, [{ type: 'drop', reason: 'noRoute' }]);
});

test('a static route sends through its next hop', (t) => {
  const { host, router } = routed();
  host.put('route', { router, destination: '172.16.0.0/12', nextHop: '10.0.2.7' });
  host.simulate(2, bare(arpReply(H2, parseAddress('10.0.2.7'), parseMac(R2), parseAddress('10.0.2.1'))));
  const result = host.simulate(1, ping(64, '172.20.1.1'));
  t.deepEqual(result.actions.at(-1), { type: 'output', port: 2 });
  t.deepEqual(result.actions[0], { type: 'set_eth', source: R2, destination: formatMac(H2) });
});

test('IPv6: answers neighbor solicitations, resolves with NDP, routes, and answers pings', (t) => {
  const { host, router } = routed();
  const solicited = host.simulate(1, bare(neighborSolicitation(H1, parseAddress('2001:db8:1::5'), parseAddress('2001:db8:1::1'))));
  t.false(solicited.cache);
  t.deepEqual(solicited.learned, [{ router, address: '2001:db8:1::5', mac: formatMac(H1) }]);
  t.is(solicited.emit[0].frame[VNET_HEADER_BYTES + 54], Icmpv6Type.neighborAdvertisement);
  const echo = (destination: string, hopLimit = 64) => {
    const f = bare(icmpv6(link(H1, R1), parseAddress('2001:db8:1::5'), parseAddress(destination), Icmpv6Type.echoRequest, 0, 0x00010002, new Uint8Array(8)));
    f[14 + 7] = hopLimit;
    return f;
  };
  const first = host.simulate(1, echo('2001:db8:2::9'));
  t.is(first.holds.length, 1, 'waits for neighbor discovery');
  t.is(first.holds[0].request!.frame[VNET_HEADER_BYTES + 54], Icmpv6Type.neighborSolicitation);
  host.simulate(2, bare(neighborAdvertisement(H2, parseAddress('2001:db8:2::9'), parseMac(R2), parseAddress('2001:db8:2::1'))));
  t.deepEqual(outputs(host.simulate(1, echo('2001:db8:2::9')).actions), [2]);
  const toRouter = host.simulate(1, echo('2001:db8:2::1'));
  t.is(toRouter.emit[0].frame[VNET_HEADER_BYTES + 54], Icmpv6Type.echoReply);
  t.is(host.simulate(1, echo('2001:db8:2::9', 1)).emit[0].frame[VNET_HEADER_BYTES + 54], Icmpv6Type.timeExceeded);
});

test('a trace describes each decision and learns nothing', (t) => {
  const { host } = routed();
  const result = host.simulate(1, ping(64, '10.0.2.7'), 'trace');
  t.true(result.trace.some((line) => line.includes('bridge b1')));
  t.true(result.trace.some((line) => line.includes('router r')));
  t.true(result.trace.some((line) => line.includes('route 10.0.2.0/24 dev r2')));
  t.true(host.host.allMacTables().every(({ table }) => table.size === 0));
});

test('a hundred thousand mutated frames through the router: no exception', (t) => {
  const { host } = routed();
  const templates = [ping(64, '10.0.2.7'), ping(1, '10.0.2.1'), bare(arpRequest(H1, parseAddress('10.0.1.5'), parseAddress('10.0.1.1'))),
    bare(neighborSolicitation(H1, parseAddress('2001:db8:1::5'), parseAddress('2001:db8:1::1')))];
  let seed = 7;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 100_000; i++) {
    const f = templates[i % templates.length].slice(0, 14 + Math.floor(random() * 80));
    for (let m = 0; m < 3; m++) f[14 + Math.floor(random() * (f.length - 14))] = Math.floor(random() * 256);
    f[12] = i % 2 ? EtherType.ipv4 >> 8 : f[12];
    const result = host.simulate(1 + (i % 2), f);
    if (result.actions.length === 0 && result.cache) t.fail('an empty flow that would be cached');
  }
  t.pass();
});

test('ICMP errors are rate-limited per router (Linux defaults: 50 at once, 1000 a second)', (t) => {
  const { host } = routed();
  const results = Array.from({ length: 500 }, () => host.simulate(1, ping(1, '10.0.2.7')));
  const sent = results.filter((r) => r.emit.length > 0);
  t.true(sent.length >= 50 && sent.length < 500, `${sent.length} of 500 time-exceeded messages sent`);
  t.true(sent.every((r) => !r.cache), 'an answered flow is not cached: the next probe is answered too');
  t.true(results.filter((r) => r.emit.length === 0).every((r) => r.cache), 'one over the limit is a cached drop: a flood meets it in the datapath');
});

test('answers a router solicitation with its /64 prefixes for SLAAC, its MTU and MAC, from its link-local address, which it also answers solicitations for', (t) => {
  const { host } = routed();
  const result = host.simulate(1, frameFromText(`icmp6,dl_src=${formatMac(H1)},dl_dst=33:33:00:00:00:02,nw_src=fe80::5054:ff:fe00:101,nw_dst=ff02::2,icmp_type=133`));
  t.false(result.cache);
  t.is(result.emit.length, 1);
  t.is(result.emit[0].service, 'routerAdvertisement');
  t.deepEqual(outputs(result.emit[0].actions), [1]);
  const ra = result.emit[0].frame.subarray(VNET_HEADER_BYTES);
  const ip = 14;
  const icmp = ip + 40;
  t.is(formatAddress(ra.subarray(ip + 8, ip + 24)), formatAddress(linkLocalOf(parseMac(R1))), 'from its link-local address');
  t.is(formatAddress(ra.subarray(ip + 24, ip + 40)), 'fe80::5054:ff:fe00:101', 'to the host that asked');
  t.is(ra[ip + 7], 255, 'hop limit 255, as neighbor discovery requires');
  t.is(ra[icmp], Icmpv6Type.routerAdvertisement);
  t.is(onesComplementSum(ra, icmp, ra.length, ipv6PseudoSum(ra, ip, 58, ra.length - icmp)), 0xffff, 'the checksum holds');
  const options = ra.subarray(icmp + 16);
  t.deepEqual([...options.subarray(0, 2)], [1, 1], 'source link-layer address');
  t.deepEqual([...options.subarray(8, 16)], [5, 1, 0, 0, 0, 0, 0x05, 0xdc], 'MTU 1500');
  t.deepEqual([...options.subarray(16, 20)], [3, 4, 64, 0xc0], 'a /64, on-link and autonomous');
  t.is(formatAddress(options.subarray(32, 48)), '2001:db8:1::', 'the prefix');
  t.is(ra[icmp + 5], 0, 'no M or O flag: SLAAC only');
  const solicitation = host.simulate(1, bare(neighborSolicitation(H1, parseAddress('2001:db8:1::5'), linkLocalOf(parseMac(R1)))));
  t.is(solicitation.emit.length, 1, 'a solicitation for its link-local address is answered');
});

test('router advertisements say how a subnet gives addresses: DHCPv6 stateful (M, the prefix not autonomous), stateless (O, SLAAC)', (t) => {
  const solicit = (mode: Subnet['ipv6Mode']) => {
    const { host } = routed([{ ...EMPTY_SUBNET, cidr: '2001:db8:1::/64', ipv6Mode: mode }]);
    const ra = host.simulate(1, frameFromText(`icmp6,dl_src=${formatMac(H1)},dl_dst=33:33:00:00:00:02,nw_src=fe80::5054:ff:fe00:101,nw_dst=ff02::2,icmp_type=133`)).emit[0].frame.subarray(VNET_HEADER_BYTES);
    return { flags: ra[14 + 40 + 5], prefixFlags: ra[14 + 40 + 16 + 16 + 3] };
  };
  t.deepEqual(solicit('dhcpv6-stateful'), { flags: 0xc0, prefixFlags: 0x80 }, 'M and O; on-link, not autonomous');
  t.deepEqual(solicit('dhcpv6-stateless'), { flags: 0x40, prefixFlags: 0xc0 }, 'O; on-link and autonomous');
});
