// A tenant's two subnets joined by a virtual router, built through the tenant API, with real
// hosts (namespaces) on each: ping, TCP, traceroute, TTL expiry, unreachable, IPv6; and two
// tenants with the same addresses side by side.
import test from 'ava';
import { capture, eventually, iperfTcp, Lab, macOf, ping, routedHost, startAgent, tenantNetwork, VSWITCH } from '../../examples/lab';
import { routedByCli } from '../helpers/cli-network';

async function routedLab(t: { teardown: (f: () => Promise<void>) => void }) {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5', '2001:db8:1::5');
  const h2 = await routedHost(lab, sw, 'h2', 't2', '10.0.2.5', '2001:db8:2::5');
  const agent = await startAgent(lab, sw);
  const net = await tenantNetwork(agent.api, 'acme', [
    { gateway: ['10.0.1.1/24', '2001:db8:1::1/64'], interfaces: ['t1'] },
    { gateway: ['10.0.2.1/24', '2001:db8:2::1/64'], interfaces: ['t2'] },
  ]);
  return { lab, sw, h1, h2, agent, net };
}

test('two subnets joined by a virtual router: ping, TCP, traceroute, TTL expiry, unreachable, IPv6', async (t) => {
  const { lab, h1, h2, agent } = await routedLab(t);
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1)), 'ping across the router');
  t.true(await ping(lab, h1, '10.0.1.1', 2), 'the router answers pings to its own address');
  t.true(await ping(lab, h2, '10.0.1.5', 3), 'and the other way');

  const bps = await iperfTcp(lab, h2, h1, '10.0.2.5', 3);
  t.log(`routed TCP: ${(bps / 1e9).toFixed(2)} Gbit/s`);
  t.true(bps > 100e6, 'TCP across the router');

  const trace = await lab.exec(h1, 'traceroute', ['-n', '-q', '1', '-w', '2', '10.0.2.5']);
  t.regex(trace.stdout, /^\s*1\s+10\.0\.1\.1\b/m, 'the first hop is the router');
  t.regex(trace.stdout, /^\s*2\s+10\.0\.2\.5\b/m, 'then the host');

  const expired = await lab.exec(h1, 'ping', ['-c', '1', '-t', '1', '-W', '2', '10.0.2.5']).catch((e: { stdout: string }) => e);
  t.regex(expired.stdout, /Time to live exceeded/);
  const nowhere = await lab.exec(h1, 'ping', ['-c', '1', '-W', '2', '192.168.77.1']).catch((e: { stdout: string }) => e);
  t.regex(nowhere.stdout, /Destination Net Unreachable/);

  t.true(await eventually(() => ping(lab, h1, '2001:db8:2::5', 1)), 'IPv6 ping across the router');
  t.true(await ping(lab, h2, '2001:db8:1::1', 2), 'the router answers IPv6 pings');

  const stats = await agent.stats();
  t.true(stats.flows.hits > 0, 'routed traffic runs from the flow cache');
  t.true(stats.drops.ttlExpired >= 1 && stats.drops.noRoute >= 1, 'expired and unrouted frames are counted');
});

test('two tenants with the same 10.0.0.0/24 run side by side and never see each other', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const a1 = await routedHost(lab, sw, 'a1', 'ta1', '10.0.0.5');
  const a2 = await routedHost(lab, sw, 'a2', 'ta2', '10.0.1.5');
  const b1 = await routedHost(lab, sw, 'b1', 'tb1', '10.0.0.5');
  const b2 = await routedHost(lab, sw, 'b2', 'tb2', '10.0.1.5');
  const agent = await startAgent(lab, sw);
  await tenantNetwork(agent.api, 'red', [{ gateway: ['10.0.0.1/24'], interfaces: ['ta1'] }, { gateway: ['10.0.1.1/24'], interfaces: ['ta2'] }]);
  await tenantNetwork(agent.api, 'blue', [{ gateway: ['10.0.0.1/24'], interfaces: ['tb1'] }, { gateway: ['10.0.1.1/24'], interfaces: ['tb2'] }]);
  t.true(await eventually(() => ping(lab, a1, '10.0.1.5', 1)), 'red reaches red');
  t.true(await eventually(() => ping(lab, b1, '10.0.1.5', 1)), 'blue reaches blue');

  // Red's hosts flood (an ARP for an address nobody has) and ping across their router while
  // blue is idle: blue's hosts must not see one frame from or to red's hosts.
  const filter = `ether host ${await macOf(lab, a1)} or ether host ${await macOf(lab, a2)}`;
  const captures = [b1, b2, a2].map((ns) => capture(lab, ns, 'eth0', filter));
  await Promise.all(captures.map((c) => c.ready));
  t.true(await ping(lab, a1, '10.0.1.5', 5));
  t.false(await ping(lab, a1, '10.0.0.99', 1), 'nobody has 10.0.0.99 in red');
  // Red's own host printing the last ping means the others had their chance to see it too.
  t.true(await eventually(async () => captures[2].printed().filter((l) => /ICMP echo request/.test(l)).length >= 5), 'the same capture on red\'s own host does see the pings');
  const seen = await Promise.all(captures.map((c) => c.stop()));
  t.deepEqual(seen[0], [], 'blue host 1 saw nothing of red');
  t.deepEqual(seen[1], [], 'blue host 2 saw nothing of red');
  t.true(await ping(lab, b2, '10.0.0.5', 2), 'blue still works');
});

test('the vswitch CLI builds a routed network, shows it, and traces a frame through it', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  const agent = await startAgent(lab, sw);
  const { cli, admin, token } = await routedByCli(lab, sw, agent);
  // A wrong token says so, even where the command first looks a name up.
  const refused = await cli('not-a-token', 'port', 'create', 'r', '--name', 'x').then(() => '', (e: { stderr: string }) => e.stderr);
  t.regex(refused, /the bearer token is not valid/);
  // Binding is the operator's (or the host's): a tenant is told so.
  const forbidden = await cli(token, 'port', 'unbind', 'vm1').then(() => '', (e: { stderr: string }) => e.stderr);
  t.regex(forbidden, /a tenant's token may not create, change or delete bindings/);
  await cli(token, 'route', 'add', 'r', '172.16.0.0/12', '--via', '10.0.2.5');
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1)), 'ping across the router built by the CLI');

  const show = await cli(token, 'show');
  t.regex(show, /router r \(/);
  t.regex(show, /port vm1 \(\w+\): bound to t1/);
  t.regex(show, /port r-net2 \(\w+\): 02(:[0-9a-f]{2}){5}, 10\.0\.2\.1\/24, <-> net2-up of net2/);
  t.regex(show, /route 172\.16\.0\.0\/12 via 10\.0\.2\.5/);
  const shownJson = JSON.parse(await cli(token, '--json', 'show'));
  t.is(shownJson.routers.length, 1);
  t.is((await cli(admin, 'bridge', 'list')).split('\n').filter((l) => /net\d/.test(l)).length, 2, 'the admin lists them too');

  const routerMac = /port r-net1 \(\w+\): (\S+),/.exec(show)![1];
  const mac = /link\/ether (\S+)/.exec((await lab.ip(h1, 'link', 'show', 'eth0')).stdout)![1];
  const trace = await cli(token, 'trace', '--port', 't1', `udp,dl_src=${mac},dl_dst=${routerMac},nw_src=10.0.1.5,nw_dst=172.20.0.9,tp_dst=53`);
  t.regex(trace, /router r: in on r-net1/);
  t.regex(trace, /route 172\.16\.0\.0\/12 via 10\.0\.2\.5/);
  t.regex(trace, /Datapath actions: set_eth\(02(:[0-9a-f]{2}){5}->[0-9a-f:]{17}\),dec_ttl,output:2/);
  const viaApi = await agent.api.request<{ actions: string }>('POST', '/v1/trace', { port: (JSON.parse(await cli(token, '--json', 'show')).ports as { id: string; name: string }[]).find((p) => p.name === 'vm1')!.id, flow: `icmp,dl_src=${mac},dl_dst=${routerMac},nw_src=10.0.1.5,nw_dst=10.0.2.5,nw_ttl=1` });
  t.is(viaApi.actions, 'drop(ttlExpired)', 'the same trace through the tenant API');

  // Security groups through the CLI: a group, a rule, a port in it, shown.
  await cli(token, 'security-group', 'create', 'web');
  const ruled = await cli(token, 'security-group', 'rule', 'add', 'web', 'ingress', '--protocol', 'tcp', '--port', '80-81', '--remote-prefix', '10.0.0.0/8');
  t.regex(ruled, /3: ingress IPv4 tcp port 80-81 from\/to 10\.0\.0\.0\/8/);
  t.regex(await cli(token, 'security-group', 'list'), /security group web \(\S+\)\n {2}1: egress[^\n]*\n {2}2: egress[^\n]*\n {2}3: ingress IPv4 tcp port 80-81/, 'the list numbers the rules as rule delete takes them');
  await cli(token, 'port', 'create', 'net1', '--name', 'web1', '--security-group', 'web');
  t.regex(await cli(token, 'show'), /port web1 \(\w+\): security group web/);
  t.notRegex(await cli(token, 'security-group', 'rule', 'delete', 'web', '3'), /ingress/, 'the rule is gone');

  const rotated = /new token: (\S+)/.exec(await cli(admin, 'tenant', 'rotate-token', 'acme'))![1];
  t.regex(await cli('not-a-token', 'router', 'list').catch((e: { stderr: string }) => e.stderr), /not valid/);
  t.regex(await cli(token, 'router', 'list').catch((e: { stderr: string }) => e.stderr), /not valid/, 'the old token stops working');
  t.regex(await cli(rotated, 'router', 'list'), /\br\b/);

  // The host's own credential, made by the agent; rotated on the host, into its state directory.
  const fs = await import('node:fs');
  const hostToken = () => fs.readFileSync(`${agent.stateDir}/host-token`, 'utf8').trim();
  const before = hostToken();
  t.is(JSON.parse(await cli(before, '--json', 'host', 'list')).length, 1, 'a host sees itself');
  await lab.exec(sw, 'env', [`VSWITCH_STATE_DIR=${agent.stateDir}`, process.execPath, VSWITCH, '--api', agent.api.address, '--token', admin, 'host', 'rotate-token']);
  t.not(hostToken(), before);
  t.regex(await cli(before, 'host', 'list').catch((e: { stderr: string }) => e.stderr), /not valid/, 'the old credential is refused');
  t.regex(await cli(hostToken(), 'host', 'list'), /alive/);
  t.false([admin, token, rotated, before, hostToken()].some((secret) => agent.log().includes(secret)), 'no token is in the agent\'s log');
});
