// The L4 load balancer end to end, across two hosts: a client on one, three members (weights
// 1, 1, 2) on both, real servers. 400 connections land by weight; a member that stops taking
// connections is taken out by its TCP health checks (run by its own host) and its established
// connection is not moved; started again, it is back; source-IP affinity keeps a client with one
// member; a pool with no healthy member (an HTTP check that expects another status) refuses at
// once. Member health shows in the API and the CLI.
import fs from 'node:fs';
import test from 'ava';
import { askMembers, eventually, holdMember, Lab, member, overlayHosts, routedHost, startAgent, twoNetworks, VSWITCH } from '../../examples/lab';
import { promtoolComplaints } from '../helpers/promtool';

const VIP = '10.0.2.100';
const MONITOR = { type: 'tcp', intervalSeconds: 1, timeoutSeconds: 1, rise: 2, fall: 2 };

test('weights, health checks (out and back, established connection kept), source-IP affinity, an empty pool refused at once', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['h1', 'h2']);
  const client = await routedHost(lab, hosts[0].ns, 'client', 'c1', '10.0.1.5');
  const places = [{ iface: 'm1', address: '10.0.2.11', host: ids[1] }, { iface: 'm2', address: '10.0.2.12', host: ids[1] }, { iface: 'm3', address: '10.0.2.13', host: ids[0] }];
  const servers = [];
  for (const [i, p] of places.entries()) {
    const ns = await routedHost(lab, hosts[i < 2 ? 1 : 0].ns, p.iface, p.iface, p.address);
    servers.push(await member(lab, ns, p.iface, 8080));
  }
  const api = agents[0].api;
  const { router } = await twoNetworks(api, [{ iface: 'c1', address: '10.0.1.5', host: ids[0] }], places);
  const members = places.map((p, i) => ({ address: p.address, port: 8080, weight: i === 2 ? 2 : 1 }));
  const lb = await api.request<{ id: string }>('POST', '/v1/load-balancers', { name: 'web', router, vip: VIP, port: 80, members, monitor: MONITOR });
  const health = async () => (await api.request<{ members: { address: string; health: string }[] }>('GET', `/v1/load-balancers/${lb.id}`)).members.map((m) => m.health);
  t.true(await eventually(async () => (await health()).every((h) => h === 'up')), 'each member checked up by its own host');

  const names = await askMembers(lab, client, VIP, 80, 400);
  const count = (name: string) => names.filter((n) => n === name).length;
  t.log(`400 connections: m1 ${count('m1')}, m2 ${count('m2')}, m3 ${count('m3')}`);
  for (const [name, share] of [['m1', 100], ['m2', 100], ['m3', 200]] as const) {
    t.true(Math.abs(count(name) - share) <= share * 0.15, `${name}: ${count(name)} of 400, weight's share ${share} (±15 %)`);
  }

  // m3 stops taking connections: its checks fail, it is taken out; a connection it holds goes on.
  let held = await holdMember(lab, client, VIP, 80);
  for (let i = 0; held.member !== 'm3' && i < 20; i++) held = await holdMember(lab, client, VIP, 80);
  t.is(held.member, 'm3', 'a connection held to m3');
  const stopped = Date.now();
  await servers[2].stop();
  t.true(await eventually(async () => (await health())[2] === 'down'), 'm3 is down in the API');
  t.log(`m3 taken out ${Date.now() - stopped} ms after it stopped (fall ${MONITOR.fall} x interval ${MONITOR.intervalSeconds} s)`);
  const without = await askMembers(lab, client, VIP, 80, 60);
  t.is(without.filter((n) => n === 'm3').length, 0, 'no new connection reaches m3');
  t.true(without.every((n) => n === 'm1' || n === 'm2'), 'and every one succeeds');
  t.true(await held.echo(), 'the connection m3 held is still with m3, not moved');
  const cli = async (...args: string[]) => (await lab.exec(hosts[0].ns, process.execPath, [VSWITCH, '--socket', agents[0].socket, '--api', agents[0].api.address, '--token', adminToken(agents[0].stateDir), ...args])).stdout;
  t.regex(await cli('lb', 'show', 'web'), /member 10\.0\.2\.13:8080 weight 2: down/, 'the CLI shows it');
  t.regex(await cli('show'), /load balancer web \(\w+\): tcp 10\.0\.2\.100:80, roundRobin -> .*10\.0\.2\.13:8080 \(weight 2, down\)/, 'and vswitch show');

  const started = Date.now();
  await servers[2].start();
  t.true(await eventually(async () => (await health())[2] === 'up'), 'm3 is back');
  t.log(`m3 back ${Date.now() - started} ms after it started (rise ${MONITOR.rise} x interval ${MONITOR.intervalSeconds} s)`);
  t.true((await askMembers(lab, client, VIP, 80, 40)).includes('m3'), 'and takes connections again');
  // m3's own host checks it: its metrics say so, and promtool accepts them.
  const metrics = await agents[0].client.request<string>('GET', '/metrics');
  const m3 = `load_balancer="${lb.id}",member="10.0.2.13:8080"`;
  t.regex(metrics, new RegExp(`^vswitch_lb_member_up\\{${m3}\\} 1$`, 'm'));
  t.regex(metrics, new RegExp(`^vswitch_lb_member_transitions_total\\{${m3}\\} 2$`, 'm'), 'down, then back');
  t.regex(metrics, new RegExp(`^vswitch_lb_member_connections\\{${m3}\\} \\d+$`, 'm'));
  t.is(promtoolComplaints(metrics), '', 'promtool check metrics accepts them');

  // Source-IP affinity: one client, one member.
  await api.request('POST', '/v1/load-balancers', { name: 'sticky', router, vip: VIP, port: 81, algorithm: 'sourceIp', members });
  const sticky = new Set(await askMembers(lab, client, VIP, 81, 30));
  t.is(sticky.size, 1, `one client, one member (${[...sticky].join(', ')})`);

  // An HTTP check that expects 204 from servers that answer 200: every member down, refused at once.
  const strict = await api.request<{ id: string }>('POST', '/v1/load-balancers', { name: 'strict', router, vip: VIP, port: 82, members, monitor: { ...MONITOR, type: 'http', path: '/health', expectStatus: 204 } });
  t.true(await eventually(async () => (await api.request<{ members: { health: string }[] }>('GET', `/v1/load-balancers/${strict.id}`)).members.every((m) => m.health === 'down')), 'HTTP checks: every member down');
  const refused = await askMembers(lab, client, VIP, 82, 3);
  t.deepEqual(refused, ['failed:ConnectionRefusedError', 'failed:ConnectionRefusedError', 'failed:ConnectionRefusedError'], 'refused at once (a reset), not silence');
});

test('an IPv6 VIP: connections reach both members by weight, checked over IPv6; a member that stops listening is taken out', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const client = await routedHost(lab, sw, 'client', 'c1', '10.0.1.5', '2001:db8:1::5');
  const places = [{ iface: 'm1', address: '10.0.2.11', address6: '2001:db8:2::11' }, { iface: 'm2', address: '10.0.2.12', address6: '2001:db8:2::12' }];
  const servers = [];
  for (const p of places) servers.push(await member(lab, await routedHost(lab, sw, p.iface, p.iface, p.address, p.address6), p.iface, 8080));
  const agent = await startAgent(lab, sw);
  const { router } = await twoNetworks(agent.api, [{ iface: 'c1', address: '10.0.1.5', address6: '2001:db8:1::5' }], places);
  const lb = await agent.api.request<{ id: string }>('POST', '/v1/load-balancers', { name: 'web6', router, vip: '2001:db8:2::64', port: 80, members: places.map((p, i) => ({ address: p.address6, port: 8080, weight: i + 1 })), monitor: MONITOR });
  const health = async () => (await agent.api.request<{ members: { health: string }[] }>('GET', `/v1/load-balancers/${lb.id}`)).members.map((m) => m.health);
  t.true(await eventually(async () => (await health()).every((h) => h === 'up')), 'both members checked up over IPv6');
  const names = await askMembers(lab, client, '2001:db8:2::64', 80, 30);
  t.deepEqual([names.filter((n) => n === 'm1').length, names.filter((n) => n === 'm2').length], [10, 20], 'weights 1 and 2');
  await servers[1].stop();
  t.true(await eventually(async () => (await health())[1] === 'down'), 'm2 stops listening: down');
  t.deepEqual([...new Set(await askMembers(lab, client, '2001:db8:2::64', 80, 10))], ['m1'], 'every new connection to m1');
});

function adminToken(stateDir: string): string {
  return fs.readFileSync(`${stateDir}/admin-token`, 'utf8').trim();
}
