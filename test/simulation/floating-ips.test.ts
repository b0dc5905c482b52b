// The way out at a router's gateway: floating IPs (ARP answered for them on the external
// network, DNAT in, SNAT out, every flow through the gateway tied to the network's floating
// IPs), port forwarding, and source NAT of the VMs without one to the gateway's address.
import test from 'ava';
import { Action, FLOW_STATE_KEY, FlowKeyExtractor, KEY_WORDS, TellFirst } from '../../src/flow';
import { frameFromText, parseAddress, parseMac, VNET_HEADER_BYTES } from '../../src/packet';
import { icmpv4 } from '../../src/simulation/router-frames';
import { externalTag } from '../../src/simulation';
import { EMPTY_SUBNET, natBlockId } from '../../src/topology';
import { outputs, TestHost } from '../helpers/topology';

const [OUT, VM1, VM2] = ['52:54:00:00:00:99', '52:54:00:00:00:01', '52:54:00:00:00:02'];
const [GW, R1] = ['02:00:00:00:00:aa', '02:00:00:00:00:01'];
const ids = (n: number) => `${n}0000000-0000-0000-0000-00000000000${n}`;

/** The outside on datapath port 3 (203.0.113.1, on external network ext), vm1 and vm2 on
 *  net1 (ports 1 and 2) behind router r, whose gateway is 203.0.113.2; vm1 has 203.0.113.10. */
function network() {
  const h = new TestHost();
  const [ext, router, net1, gw, extSide, r1, net1Side] = [1, 2, 3, 4, 5, 6, 7].map(ids);
  h.put('bridge', { id: ext, name: 'ext', external: true, subnets: [{ ...EMPTY_SUBNET, cidr: '203.0.113.0/24', gateway: '203.0.113.1', dhcp: false }] });
  h.put('router', { id: router, name: 'r', externalNetwork: ext, gatewayPort: gw });
  h.put('bridge', { id: net1, name: 'net1' });
  h.put('port', { id: gw, device: router, name: 'gateway', mac: GW, addresses: ['203.0.113.2/24'], peer: extSide });
  h.put('port', { id: extSide, device: ext, name: 'gw-side', peer: gw, portSecurity: false });
  h.put('port', { id: r1, device: router, name: 'r1', mac: R1, addresses: ['10.0.1.1/24'], peer: net1Side });
  h.put('port', { id: net1Side, device: net1, name: 'net1-up', peer: r1, portSecurity: false });
  const vm1 = h.put('port', { device: net1, name: 'vm1', addresses: ['10.0.1.5'], portSecurity: false });
  const vm2 = h.put('port', { device: net1, name: 'vm2', addresses: ['10.0.1.6'], portSecurity: false });
  const uplink = h.put('port', { device: ext, name: 'uplink', portSecurity: false });
  const fip = h.put('floatingIp', { network: ext, address: '203.0.113.10', port: vm1 });
  h.put('natBlock', { id: natBlockId(ext, '203.0.113.2', 3), network: ext, address: '203.0.113.2', block: 3, host: 'h1', tenant: 'admin' });
  for (const [address, mac] of [['10.0.1.5', VM1], ['10.0.1.6', VM2], ['203.0.113.1', OUT]]) h.put('neighbor', { id: `${router}_${address}`, router, address, mac });
  h.ports = [vm1, vm2, uplink].map((binding, i) => ({ number: i + 1, name: `tap${i + 1}`, up: true, binding }));
  for (const [port, mac, address] of [[1, VM1, '10.0.1.5'], [2, VM2, '10.0.1.6']] as const) h.simulate(port, frameFromText(`arp,dl_src=${mac},nw_src=${address},nw_dst=10.0.1.9`));
  return { h, ext, vm2, fip };
}
const nat = (actions: Action[]) => actions.filter((a) => a.type === 'set_ipv4');

test('the router answers ARP for a floating IP on the external network', (t) => {
  const { h } = network();
  const reply = h.simulate(3, frameFromText(`arp,dl_src=${OUT},nw_src=203.0.113.1,nw_dst=203.0.113.10`));
  t.is(reply.emit.length, 1);
  t.deepEqual(outputs(reply.emit[0].actions), [3]);
  t.is(h.simulate(3, frameFromText(`arp,dl_src=${OUT},nw_src=203.0.113.1,nw_dst=203.0.113.11`)).emit.length, 0, 'not for an address no one has');
});

test('DNAT in, SNAT out; a moved floating IP re-decides the flows through the gateway', (t) => {
  const { h, ext, vm2, fip } = network();
  const inbound = h.simulate(3, frameFromText(`tcp,dl_src=${OUT},dl_dst=${GW},nw_src=203.0.113.1,nw_dst=203.0.113.10,tp_dst=22`));
  t.deepEqual(nat(inbound.actions), [{ type: 'set_ipv4', field: 'destination', address: '10.0.1.5' }]);
  t.deepEqual(outputs(inbound.actions), [1], 'to vm1');
  t.true(inbound.tags.includes(externalTag(ext)));
  const outbound = h.simulate(1, frameFromText(`tcp,dl_src=${VM1},dl_dst=${R1},nw_src=10.0.1.5,nw_dst=203.0.113.1,tp_src=22,tp_dst=40000`));
  t.deepEqual(nat(outbound.actions), [{ type: 'set_ipv4', field: 'source', address: '203.0.113.10' }]);
  t.deepEqual(outputs(outbound.actions), [3], 'out to the external network');
  const unmapped = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=203.0.113.1`));
  t.deepEqual(nat(unmapped.actions), [{ type: 'set_ipv4', field: 'source', address: '203.0.113.2' }], 'vm2 has no floating IP: source NAT to the gateway\'s address');
  t.true(unmapped.tags.includes(externalTag(ext)), 'and the flow is tied to the network\'s floating IPs');
  h.put('floatingIp', { id: fip, network: ext, address: '203.0.113.10', port: vm2 });
  const moved = h.simulate(3, frameFromText(`tcp,dl_src=${OUT},dl_dst=${GW},nw_src=203.0.113.1,nw_dst=203.0.113.10,tp_dst=22`));
  t.deepEqual(outputs(moved.actions), [2], 'to vm2 now');
  t.regex(h.simulate(3, frameFromText(`icmp,dl_src=${OUT},dl_dst=${GW},nw_src=203.0.113.1,nw_dst=203.0.113.10`), 'trace').trace.join('\n'), /floating IP 203\.0\.113\.10 -> 10\.0\.1\.6 \(DNAT\)/);
});

test('port forwarding: a forwarded port of a floating IP to a VM\'s port, both ways; ARP answered for it', (t) => {
  const { h, ext, vm2 } = network();
  h.put('floatingIp', { network: ext, address: '203.0.113.20', portForwards: [{ protocol: 'tcp', externalPort: 2222, port: vm2, internalPort: 22 }] });
  t.is(h.simulate(3, frameFromText(`arp,dl_src=${OUT},nw_src=203.0.113.1,nw_dst=203.0.113.20`)).emit.length, 1);
  const inbound = h.simulate(3, frameFromText(`tcp,dl_src=${OUT},dl_dst=${GW},nw_src=203.0.113.1,nw_dst=203.0.113.20,tp_src=50000,tp_dst=2222`));
  t.deepEqual(nat(inbound.actions), [{ type: 'set_ipv4', field: 'destination', address: '10.0.1.6' }]);
  t.deepEqual(inbound.actions.filter((a) => a.type === 'set_l4_port'), [{ type: 'set_l4_port', field: 'destination', port: 22 }]);
  t.deepEqual(outputs(inbound.actions), [2], 'to vm2');
  const reply = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=203.0.113.1,tp_src=22,tp_dst=50000`));
  t.deepEqual(nat(reply.actions), [{ type: 'set_ipv4', field: 'source', address: '203.0.113.20' }]);
  t.deepEqual(reply.actions.filter((a) => a.type === 'set_l4_port'), [{ type: 'set_l4_port', field: 'source', port: 2222 }]);
  const other = h.simulate(3, frameFromText(`tcp,dl_src=${OUT},dl_dst=${GW},nw_src=203.0.113.1,nw_dst=203.0.113.20,tp_dst=2223`));
  t.deepEqual(nat(other.actions), [], 'a port not forwarded goes nowhere new');
});

test('source NAT: a VM without a floating IP leaves from the gateway\'s address and a port of this host\'s block; replies and ICMP errors are translated back', (t) => {
  const { h } = network();
  const out = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=40000,tp_dst=80`));
  const port = (out.actions.find((a) => a.type === 'set_l4_port') as { port: number } | undefined)?.port ?? 0;
  t.true(port >= 1024 + 3 * 64 && port < 1024 + 4 * 64, `port ${port} is of block 3, this host's`);
  t.deepEqual(outputs(out.actions), [3], 'out to the default route\'s next hop, the external subnet\'s gateway');
  t.true(out.connection >= 0, 'the flow is tied to its connection');
  const again = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=40000,tp_dst=80,tcp_flags=ack`));
  t.deepEqual(again.actions.find((a) => a.type === 'set_l4_port'), { type: 'set_l4_port', field: 'source', port }, 'its next flow keeps the port');
  const reply = `tcp,dl_src=${OUT},dl_dst=${GW},nw_src=198.51.100.7,nw_dst=203.0.113.2,tp_src=80,tp_dst=${port},tcp_flags=syn|ack`;
  const back = h.simulate(3, frameFromText(reply));
  t.deepEqual(back.actions.filter((a) => a.type === 'set_ipv4' || a.type === 'set_l4_port'), [
    { type: 'set_ipv4', field: 'destination', address: '10.0.1.6' }, { type: 'set_l4_port', field: 'destination', port: 40000 },
  ]);
  t.deepEqual(outputs(back.actions), [2], 'to vm2');
  t.regex(h.simulate(3, frameFromText(reply), 'trace').trace.join('\n'), new RegExp(`un-SNAT 203\\.0\\.113\\.2:${port} -> 10\\.0\\.1\\.6:40000`));
  // The outside's fragmentation-needed about what left, quoted as it left.
  const left = frameFromText(`tcp,nw_src=203.0.113.2,nw_dst=198.51.100.7,tp_src=${port},tp_dst=80,tcp_flags=ack`).slice(14);
  const error = icmpv4({ source: parseMac(OUT), destination: parseMac(GW) }, parseAddress('203.0.113.1'), parseAddress('203.0.113.2'), 3, 4, 1400, left);
  const translated = h.simulate(3, error.subarray(VNET_HEADER_BYTES));
  t.deepEqual(translated.actions.filter((a) => a.type === 'set_ipv4' || a.type === 'set_l4_port'), [
    { type: 'set_ipv4', field: 'destination', address: '10.0.1.6' }, { type: 'set_ipv4', field: 'source', address: '10.0.1.6', quoted: true },
    { type: 'set_l4_port', field: 'source', port: 40000, quoted: true },
  ]);
  t.deepEqual(outputs(translated.actions), [2]);
  t.false(translated.cache, 'an error\'s quote is not in the flow key: each comes to the slow path');
  const stranger = h.simulate(3, frameFromText(`tcp,dl_src=${OUT},dl_dst=${GW},nw_src=198.51.100.7,nw_dst=203.0.113.2,tp_src=80,tp_dst=${port + 1}`));
  t.deepEqual(outputs(stranger.actions), [], 'to a port no connection holds: for the router itself, which has nothing there');
});

test('source NAT with no port left here: the frame waits for the agent\'s lease, not cached, the agent told', (t) => {
  const { h, ext } = network();
  h.put('natBlock', { id: natBlockId(ext, '203.0.113.2', 3), network: ext, address: '203.0.113.2', block: 3, host: 'h2', tenant: 'admin' });
  const waiting = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=40000,tp_dst=80`));
  t.deepEqual(waiting.actions, [], 'another host\'s block is not this host\'s to give: nothing sent now');
  t.like(waiting.holds, [{ router: 'nat', address: `${ext}/203.0.113.2` }], 'the frame waits');
  t.false(waiting.cache);
  t.deepEqual(waiting.natShortages, [`${ext}/203.0.113.2`]);
  const rst = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=40001,tp_dst=80,tcp_flags=rst`));
  t.deepEqual(rst.actions, [{ type: 'drop', reason: 'natUntranslatable' }], 'a reset of no connection is not sent out with the VM\'s own address');
});

test('a load balancer\'s VIP on the gateway: the outside reaches the member, whose reply leaves from the VIP and is not translated again by source NAT', (t) => {
  const { h } = network();
  h.put('loadBalancer', { router: ids(2), vip: '203.0.113.50', protocol: 'tcp', port: 80, algorithm: 'roundRobin', members: [{ address: '10.0.1.6', port: 8080, weight: 1 }] });
  const inbound = h.simulate(3, frameFromText(`tcp,dl_src=${OUT},dl_dst=${GW},nw_src=198.51.100.7,nw_dst=203.0.113.50,tp_src=41000,tp_dst=80`));
  t.deepEqual(inbound.actions.filter((a) => a.type === 'set_ipv4' || a.type === 'set_l4_port'), [{ type: 'set_ipv4', field: 'destination', address: '10.0.1.6' }, { type: 'set_l4_port', field: 'destination', port: 8080 }]);
  t.deepEqual(outputs(inbound.actions), [2], 'to vm2');
  const reply = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=8080,tp_dst=41000,tcp_flags=syn|ack`));
  t.deepEqual(reply.actions.filter((a) => a.type === 'set_ipv4' || a.type === 'set_l4_port'), [{ type: 'set_ipv4', field: 'source', address: '203.0.113.50' }, { type: 'set_l4_port', field: 'source', port: 80 }]);
  t.deepEqual(outputs(reply.actions), [3]);
});

test('source NAT tells the uplink\'s standby gateway hosts the connection too: its replies find it there after a failover', (t) => {
  const { h } = network();
  const uplink = h.ports[2].binding!;
  h.put('host', { id: 'h2', tenant: 'admin', underlayAddress: '192.0.2.2' });
  h.put('binding', { id: uplink, tenant: 'admin', host: 'h1', interface: 'tap3', standby: [{ host: 'h2', interface: 'up0' }] });
  const out = h.simulate(2, frameFromText(`tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=40002,tp_dst=80`));
  t.deepEqual(outputs(out.actions), [3], 'out of the uplink, bound here');
  t.deepEqual(out.emit.map((e) => e.actions), [[{ type: 'tunnel', key: FLOW_STATE_KEY, remote: '192.0.2.2' }]], 'flow state to the standby host');
  // A SYN that told another host is not cached: were the state lost, its retransmission tells it again.
  const syn = `tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=40003,tp_dst=80,tcp_flags=syn`;
  const first = h.simulate(2, frameFromText(syn));
  t.false(first.cache, 'the SYN is not cached');
  t.true(first.predicted.length > 0, 'its connection\'s later flows are still set up ahead');
  const again = h.simulate(2, frameFromText(syn));
  t.deepEqual(again.emit.map((e) => e.actions), [[{ type: 'tunnel', key: FLOW_STATE_KEY, remote: '192.0.2.2' }]], 'the retransmitted SYN tells the standby host again');
});

test('a SYN through source NAT sets up its connection\'s two other flows ahead, as those frames\' own walks decide them', (t) => {
  const { h } = network();
  const keyOf = (inPort: number, text: string) => {
    const frame = frameFromText(text);
    const key = new Uint32Array(KEY_WORDS);
    new FlowKeyExtractor().extract(frame, 0, frame.length, inPort, key, 0);
    return [...key];
  };
  const out = `tcp,dl_src=${VM2},dl_dst=${R1},nw_src=10.0.1.6,nw_dst=198.51.100.7,tp_src=40000,tp_dst=80`;
  const syn = h.simulate(2, frameFromText(out));
  const port = (syn.actions.find((a) => a.type === 'set_l4_port') as { port: number }).port;
  t.is(syn.predicted.length, 2);
  const [later, reply] = syn.predicted;
  const [ack, synAck] = [`${out},tcp_flags=ack`, `tcp,dl_src=${OUT},dl_dst=${GW},nw_src=198.51.100.7,nw_dst=203.0.113.2,tp_src=80,tp_dst=${port},tcp_flags=syn|ack`];
  t.deepEqual([...later.key], keyOf(2, ack), 'the VM\'s later segments: its SYN\'s key but for the opening');
  t.deepEqual([...reply.key], keyOf(3, synAck), 'the replies, as they enter at the uplink: from the outside\'s MAC to the gateway\'s, to the translated port');
  t.deepEqual([later.way, reply.way], [TellFirst.original, TellFirst.reply]);
  t.deepEqual([later.result.connection, reply.result.connection], [syn.connection, syn.connection]);
  t.deepEqual(later.result.actions, h.simulate(2, frameFromText(ack)).actions);
  t.deepEqual(reply.result.actions, h.simulate(3, frameFromText(synAck)).actions, 'translated back to vm2');
  t.deepEqual(h.simulate(2, frameFromText(`${out.replace('40000', '40001')},tcp_flags=ack`)).predicted, [], 'a segment picked up mid-stream sets up nothing ahead: only an opening does');
});
