// A load balancer in the walk: what comes to the VIP goes to a member by weight, and a
// connection keeps its member whatever changes; a member's reply leaves from the VIP; source-IP
// affinity keeps a client with one member; with no healthy member, a reset at once; the router
// answers ARP for the VIP; replies to the agent's health probes go to the agent.
import test from 'ava';
import { frameFromText } from '../../src/packet';
import { HEALTH_PROBE_PORTS } from '../../src/simulation';
import { LoadBalancer, memberStatusId } from '../../src/topology';
import { outputs, TestHost } from '../helpers/topology';

const [CLIENT, R1, R2] = ['52:54:00:00:01:01', '02:00:00:00:00:01', '02:00:00:00:00:02'];
const MEMBERS = ['10.0.2.11', '10.0.2.12', '10.0.2.13'];
const ids = (n: number) => `${n}0000000-0000-0000-0000-00000000000${n}`;

/** A client on net1 (datapath port 1), members on net2 (ports 2-4), router r between them; a
 *  load balancer at 10.0.2.100:80 with weights 1, 1, 2. */
function network(lb: Partial<LoadBalancer> = {}) {
  const h = new TestHost();
  const [router, net1, net2, r1, r2, side1, side2, balancer] = [1, 2, 3, 4, 5, 6, 7, 8].map(ids);
  h.put('router', { id: router, name: 'r' });
  h.put('bridge', { id: net1, name: 'net1' });
  h.put('bridge', { id: net2, name: 'net2' });
  h.put('port', { id: r1, device: router, mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'], peer: side1 });
  h.put('port', { id: side1, device: net1, peer: r1, portSecurity: false });
  h.put('port', { id: r2, device: router, mac: R2, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'], peer: side2 });
  h.put('port', { id: side2, device: net2, peer: r2, portSecurity: false });
  const client = h.put('port', { device: net1, name: 'client', addresses: ['10.0.1.5'], portSecurity: false });
  const members = MEMBERS.map((address, i) => h.put('port', { device: net2, name: `m${i}`, mac: `52:54:00:00:02:1${i}`, addresses: [address], portSecurity: false }));
  for (const [i, address] of MEMBERS.entries()) {
    for (const a of [address, `2001:db8:2::${11 + i}`]) h.put('neighbor', { id: `${router}_${a}`, router, address: a, mac: `52:54:00:00:02:1${i}` });
  }
  h.put('neighbor', { id: `${router}_10.0.1.5`, router, address: '10.0.1.5', mac: CLIENT });
  h.put('loadBalancer', {
    id: balancer, router, vip: '10.0.2.100', protocol: 'tcp', port: 80, algorithm: 'roundRobin',
    members: MEMBERS.map((address, i) => ({ address, port: 8080, weight: i === 2 ? 2 : 1 })), ...lb,
  });
  h.ports = [client, ...members].map((binding, i) => ({ number: i + 1, name: `tap${i + 1}`, up: true, binding }));
  // Each member speaks once: its bridge learns where it is.
  for (const [i, address] of MEMBERS.entries()) h.simulate(2 + i, frameFromText(`arp,dl_src=52:54:00:00:02:1${i},nw_src=${address},nw_dst=10.0.2.1`));
  return { h, balancer, router };
}

const syn = (sourcePort: number, client = '10.0.1.5', flags = 'syn') => frameFromText(`tcp,dl_src=${CLIENT},dl_dst=${R1},nw_src=${client},nw_dst=10.0.2.100,tp_src=${sourcePort},tp_dst=80,tcp_flags=${flags}`);
const memberOf = (h: TestHost, frame: Uint8Array) => outputs(h.simulate(1, frame).actions)[0];

test('weighted round-robin: 400 connections land 100, 100 and 200; each connection keeps its member when weights change', (t) => {
  const { h, balancer, router } = network();
  const counts = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const member = memberOf(h, syn(20000 + i));
    counts.set(member, (counts.get(member) ?? 0) + 1);
  }
  t.deepEqual([2, 3, 4].map((p) => counts.get(p)), [100, 100, 200], 'ports 2, 3, 4: weights 1, 1, 2');
  const first = memberOf(h, syn(20000));
  h.put('loadBalancer', { id: balancer, router, vip: '10.0.2.100', protocol: 'tcp', port: 80, algorithm: 'roundRobin', members: MEMBERS.map((address) => ({ address, port: 8080, weight: address === MEMBERS[0] ? 100 : 1 })) });
  t.is(memberOf(h, syn(20000, '10.0.1.5', 'ack')), first, 'the connection\'s next flow, after the weights changed: the same member');
});

test('a member\'s reply leaves from the VIP; the trace names the choice; the router answers ARP for the VIP', (t) => {
  const { h } = network();
  const out = h.simulate(1, syn(30000));
  const member = out.actions.find((a) => a.type === 'set_ipv4');
  t.like(member, { field: 'destination' });
  const address = (member as { address: string }).address;
  const port = 2 + MEMBERS.indexOf(address);
  const reply = h.simulate(port, frameFromText(`tcp,dl_src=52:54:00:00:02:1${port - 2},dl_dst=${R2},nw_src=${address},nw_dst=10.0.1.5,tp_src=8080,tp_dst=30000,tcp_flags=syn|ack`));
  t.deepEqual(reply.actions.filter((a) => a.type === 'set_ipv4' || a.type === 'set_l4_port'), [{ type: 'set_ipv4', field: 'source', address: '10.0.2.100' }, { type: 'set_l4_port', field: 'source', port: 80 }]);
  t.deepEqual(outputs(reply.actions), [1], 'to the client');
  t.regex(h.simulate(1, syn(30001), 'trace').trace.join('\n'), /load balancer: 10\.0\.2\.100:80 -> member 10\.0\.2\.1\d:8080 \(roundRobin chose it now\)/);
  const arp = h.simulate(2, frameFromText('arp,dl_src=52:54:00:00:02:10,nw_src=10.0.2.11,nw_dst=10.0.2.100'));
  t.is(arp.emit.length, 1, 'ARP for the VIP answered in its network');
});

test('source-IP affinity: one client, one member, whatever its ports', (t) => {
  const { h } = network({ algorithm: 'sourceIp' });
  const chosen = new Set(Array.from({ length: 50 }, (_, i) => memberOf(h, syn(40000 + i))));
  t.is(chosen.size, 1);
  const clients = new Set(Array.from({ length: 50 }, (_, i) => memberOf(h, syn(40000, `10.0.1.${10 + i}`))));
  t.true(clients.size > 1, 'other clients are spread');
});

test('no healthy member: a reset at once, not cached; a reply to a health probe goes to the agent', (t) => {
  const { h, balancer } = network({ monitor: { type: 'tcp', intervalSeconds: 1, timeoutSeconds: 1, rise: 1, fall: 1, path: '/', expectStatus: 200 } });
  for (const address of MEMBERS) h.put('memberStatus', { id: memberStatusId(balancer, address, 8080), loadBalancer: balancer, address, port: 8080, up: false });
  const refused = h.simulate(1, syn(50000));
  t.deepEqual(refused.actions, [{ type: 'drop', reason: 'loadBalancerEmpty' }]);
  t.is(refused.emit.length, 1, 'a TCP reset back');
  t.deepEqual(outputs(refused.emit[0].actions), [1]);
  t.false(refused.cache, 'each new connection is answered');
  const probe = h.simulate(2, frameFromText(`tcp,dl_src=52:54:00:00:02:10,dl_dst=${R2},nw_src=10.0.2.11,nw_dst=10.0.2.1,tp_src=8080,tp_dst=${HEALTH_PROBE_PORTS.first},tcp_flags=syn|ack`));
  t.is(probe.probeReplies.length, 1);
  t.false(probe.cache);
});

test('an IPv6 VIP: to a member (set_ipv6), its reply from the VIP', (t) => {
  const { h, router } = network();
  h.put('loadBalancer', { router, vip: '2001:db8:2::64', protocol: 'tcp', port: 80, algorithm: 'roundRobin', members: [{ address: '2001:db8:2::11', port: 8080, weight: 1 }] });
  const out = h.simulate(1, frameFromText(`tcp6,dl_src=${CLIENT},dl_dst=${R1},nw_src=2001:db8:1::5,nw_dst=2001:db8:2::64,tp_src=40000,tp_dst=80`));
  t.deepEqual(out.actions.filter((a) => a.type === 'set_ipv6' || a.type === 'set_l4_port'), [{ type: 'set_ipv6', field: 'destination', address: '2001:db8:2::11' }, { type: 'set_l4_port', field: 'destination', port: 8080 }]);
  t.deepEqual(outputs(out.actions), [2]);
  const reply = h.simulate(2, frameFromText(`tcp6,dl_src=52:54:00:00:02:10,dl_dst=${R2},nw_src=2001:db8:2::11,nw_dst=2001:db8:1::5,tp_src=8080,tp_dst=40000,tcp_flags=syn|ack`));
  t.deepEqual(reply.actions.filter((a) => a.type === 'set_ipv6' || a.type === 'set_l4_port'), [{ type: 'set_ipv6', field: 'source', address: '2001:db8:2::64' }, { type: 'set_l4_port', field: 'source', port: 80 }]);
});
