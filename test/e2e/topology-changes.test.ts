// Changes while traffic flows: a route moved to another next hop redirects a ping stream, a
// deleted port stops it, each within a second (tag invalidation, no restart); and an agent
// killed with SIGKILL comes back with its topology and forwards again within two seconds.
import test from 'ava';
import { eventually, Lab, ping, routedHost, startAgent, tenantNetwork } from '../../examples/lab';

/** Echo requests a host's kernel received (its namespace's ICMP counters): counted outside the
 *  switch, and blind to what else reaches the interface (the switch side's own IPv6 chatter). */
async function received(lab: Lab, ns: string): Promise<number> {
  const { stdout } = await lab.exec(ns, 'cat', ['/proc/net/snmp']);
  const [names, values] = stdout.split('\n').filter((line) => line.startsWith('Icmp:'));
  return Number(values.split(/\s+/)[names.split(/\s+/).indexOf('InEchos')]);
}

/** Milliseconds until `ns` receives `frames` more frames, or Infinity after `timeoutMs`. */
async function msUntilReceiving(lab: Lab, ns: string, frames: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const before = await received(lab, ns);
  while (Date.now() - started < timeoutMs) {
    if ((await received(lab, ns)) - before >= frames) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  return Infinity;
}

async function threeSubnets(t: { teardown: (f: () => Promise<void>) => void }) {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  const h2 = await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  const h3 = await routedHost(lab, sw, 'h3', 't3', '10.0.3.5');
  // 10.0.9.1 lives on both h2 and h3: a route chooses which one gets it.
  for (const ns of [h2, h3]) await lab.ip(ns, 'addr', 'add', '10.0.9.1/32', 'dev', 'lo');
  const agent = await startAgent(lab, sw);
  const net = await tenantNetwork(agent.api, 'acme', [
    { gateway: ['10.0.1.1/24'], interfaces: ['t1'] }, { gateway: ['10.0.2.1/24'], interfaces: ['t2'] }, { gateway: ['10.0.3.1/24'], interfaces: ['t3'] },
  ]);
  return { lab, sw, h1, h2, h3, agent, net };
}

test('a changed route redirects flowing traffic, and a deleted port stops it, within a second', async (t) => {
  const { lab, h1, h2, h3, net } = await threeSubnets(t);
  const route = await net.api.request<{ id: string; version: number }>('POST', '/v1/routes', { router: net.router, destination: '10.0.9.0/24', nextHop: '10.0.2.5' });
  t.true(await eventually(() => ping(lab, h1, '10.0.9.1', 1), 5000), 'the route works');
  t.true(await ping(lab, h1, '10.0.3.5', 1), 'the router has resolved h3 already');
  lab.spawn(h1, 'ping', ['-i', '0.01', '-q', '10.0.9.1']);
  t.true((await msUntilReceiving(lab, h2, 20, 2000)) < 2000, 'the stream reaches h2');

  await net.api.request('PATCH', `/v1/routes/${route.id}`, { nextHop: '10.0.3.5' });
  const redirected = await msUntilReceiving(lab, h3, 20, 3000);
  t.log(`redirected in ${redirected} ms`);
  t.true(redirected < 1000, `h3 gets the stream within a second of the change (${redirected} ms)`);
  const h2After = await received(lab, h2);
  await new Promise((r) => setTimeout(r, 500));
  t.true((await received(lab, h2)) - h2After < 5, 'h2 no longer gets it');

  await net.api.request('DELETE', `/v1/ports/${net.ports.get('t3')}`);
  const deletedAt = Date.now();
  let last = await received(lab, h3);
  let quietSince = Date.now();
  while (Date.now() - deletedAt < 2000) {
    const now = await received(lab, h3);
    if (now !== last) quietSince = Date.now();
    last = now;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.log(`stopped ${quietSince - deletedAt} ms after the delete`);
  t.true(quietSince - deletedAt < 1000, 'a deleted port gets nothing within a second');
});

test('kill -9 under traffic, start again: the topology is intact and traffic flows within 2 s', async (t) => {
  const { lab, sw, h1, agent } = await threeSubnets(t);
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1), 5000));
  const pinger = lab.spawn(h1, 'ping', ['-i', '0.01', '-q', '10.0.2.5']);
  await new Promise((r) => setTimeout(r, 300));
  process.kill(agent.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  t.false(await ping(lab, h1, '10.0.2.5', 1, ['-W', '0.3']), 'nothing forwards while the agent is down');

  const started = Date.now();
  const again = await startAgent(lab, sw, [], agent.stateDir);
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1, ['-W', '0.2']), 5000));
  const ms = Date.now() - started;
  t.log(`traffic again ${ms} ms after the restart began`);
  t.true(ms <= 2000, `within 2 s (${ms} ms)`);
  const tenants = await again.api.request<{ name: string }[]>('GET', '/v1/tenants');
  t.deepEqual(tenants.map((x) => x.name), ['acme']);
  t.is((await again.api.request<unknown[]>('GET', '/v1/ports')).length, 9, 'every port is back');
  pinger.kill();
});
