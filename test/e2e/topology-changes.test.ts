// Changes while traffic flows: a route moved to another next hop redirects a ping stream, a
// deleted port stops it (tag invalidation, no restart); and an agent killed with SIGKILL comes
// back with its topology and forwards again. How fast each happens is measured, beside the
// kernel's router, by `npm run bench -- changes`: a loaded machine is slow, not wrong.
import test, { ExecutionContext } from 'ava';
import { eventually, Lab, msUntilCutOff, msUntilReceiving, ping, startAgent, TARGET, threeSubnets, WAIT_MS } from '../../examples/lab';


async function threeSubnetsLab(t: ExecutionContext) {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  return { lab, ...(await threeSubnets(lab)) };
}

test('a changed route redirects flowing traffic, and a deleted port stops it', async (t) => {
  const { lab, h1, h2, h3, net } = await threeSubnetsLab(t);
  const route = await net.api.request<{ id: string; version: number }>('POST', '/v1/routes', { router: net.router, destination: '10.0.9.0/24', nextHop: '10.0.2.5' });
  t.true(await eventually(() => ping(lab, h1, TARGET, 1)), 'the route works');
  t.true(await ping(lab, h1, '10.0.3.5', 1), 'the router has resolved h3 already');
  lab.spawn(h1, 'ping', ['-i', '0.01', '-q', TARGET]);
  t.not(await msUntilReceiving(lab, h2, 20, WAIT_MS), Infinity, 'the stream reaches h2');

  await net.api.request('PATCH', `/v1/routes/${route.id}`, { nextHop: '10.0.3.5' });
  const redirected = await msUntilCutOff(lab, h1, h2, 50, WAIT_MS);
  t.log(`h2 cut off ${redirected} ms after the change`);
  t.not(redirected, Infinity, 'h2 no longer gets the stream');
  t.not(await msUntilReceiving(lab, h3, 50, WAIT_MS), Infinity, 'h3 gets it');

  await net.api.request('DELETE', `/v1/ports/${net.ports.get('t3')}`);
  const stopped = await msUntilCutOff(lab, h1, h3, 50, WAIT_MS);
  t.log(`stopped ${stopped} ms after the delete`);
  t.not(stopped, Infinity, 'a deleted port gets nothing');
});

test('kill -9 under traffic, start again: the topology is intact and traffic flows again', async (t) => {
  const { lab, sw, h1, h2, agent } = await threeSubnetsLab(t);
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1)));
  lab.spawn(h1, 'ping', ['-i', '0.01', '-q', '10.0.2.5']);
  t.not(await msUntilReceiving(lab, h2, 20, WAIT_MS), Infinity, 'the stream flows');
  process.kill(agent.pid, 'SIGKILL');
  t.not(await msUntilCutOff(lab, h1, h2, 50, WAIT_MS), Infinity, 'nothing forwards while the agent is down');

  const started = Date.now();
  const again = await startAgent(lab, sw, [], agent.stateDir);
  t.not(await msUntilReceiving(lab, h2, 20, WAIT_MS), Infinity, 'the stream flows again');
  t.log(`traffic again ${Date.now() - started} ms after the restart began`);
  const tenants = await again.api.request<{ name: string }[]>('GET', '/v1/tenants');
  t.deepEqual(tenants.map((x) => x.name), ['acme']);
  t.is((await again.api.request<unknown[]>('GET', '/v1/ports')).length, 9, 'every port is back');
});
