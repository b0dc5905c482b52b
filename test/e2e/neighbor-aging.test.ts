// Neighbors the routers resolved age out of the store as stations do: one no router heard from
// for the aging time is forgotten (`vswitch neighbors` no longer lists it), and resolved again
// when it is next needed. Traffic through the router meanwhile loses nothing: the frames wait
// for the new resolution.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { capture, eventually, Lab, ping, pingUntilStopped, routedHost, startAgent, tenantNetwork } from '../../examples/lab';
import type { Neighbor } from '../../src/simulation';

test('a neighbor no router heard from for its aging time is forgotten and resolved again when needed, and a ping through the router loses nothing', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  const h2 = await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  const config = path.join(lab.directory('config'), 'agent.json');
  fs.writeFileSync(config, JSON.stringify({ macAgingSeconds: 2 }));
  const agent = await startAgent(lab, sw, ['--config', config]);
  await tenantNetwork(agent.api, 'acme', [{ gateway: ['10.0.1.1/24'], interfaces: ['t1'] }, { gateway: ['10.0.2.1/24'], interfaces: ['t2'] }]);
  const known = async (address: string) => (await agent.client.request<Neighbor[]>('GET', '/neighbors')).some((n) => n.address === address);

  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1)), 'routed');
  t.true(await known('10.0.2.5'), 'the router resolved h2');
  t.true(await eventually(async () => !(await known('10.0.2.5'))), 'unheard from, h2 is forgotten');

  // The router's ARP requests for h2, as h2 sees them, while a ping crosses the router.
  const requests = capture(lab, h2, 'eth0', 'arp and arp[6:2] == 1 and src host 10.0.2.1', { format: [] });
  await requests.ready;
  const pinging = pingUntilStopped(lab, h1, '10.0.2.5');
  t.true(await eventually(async () => requests.printed().length >= 2, 60_000), 'h2 is resolved again, and again once its entry aged out during the ping');
  const pings = await pinging.stop();
  await requests.stop();
  t.true(pings.sent >= 100);
  t.deepEqual(pings.lost_at, [], 'no ping lost to the new resolutions');
});
