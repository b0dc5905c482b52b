// Stations a host's bridges learned and shared in the store age out like the local MAC table:
// one its host saw no more for its aging time leaves the store, and so the other hosts'
// tables; one whose traffic goes on stays; one that speaks again comes back.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { eventually, Lab, macOf, overlayAgentArgs, overlayHosts, ping, pingUntilStopped, startAgent, vmOn } from '../../examples/lab';
import type { LearnedMac } from '../../src/agent';

test('a station its host no longer sees leaves the store and the other hosts\' tables; one with traffic stays; one that speaks again comes back', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2']);
  // Host 1 ages its stations after 2 s; host 2 after the default 300 s: what leaves host 2's
  // table in this test left it because host 1 took it out of the store.
  const config = path.join(lab.directory('config'), 'host1.json');
  fs.writeFileSync(config, JSON.stringify({ macAgingSeconds: 2 }));
  process.kill(agents[0].pid, 'SIGTERM');
  await eventually(async () => !fs.existsSync(agents[0].socket));
  const host1 = await startAgent(lab, hosts[0].ns, ['--config', config, ...overlayAgentArgs(hosts[0].address)], agents[0].stateDir);
  const host2 = agents[1];
  const bridge = await host1.api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const vm = async (n: number, h: number) => {
    const ns = await vmOn(lab, hosts[h].ns, `vm${n}`, `tap${n}`, `10.0.0.${n}/24`);
    const port = await host1.api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: `vm${n}` });
    await host1.api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${n}`, host: ids[h] });
    return ns;
  };
  const [vm1, vm3] = [await vm(1, 0), await vm(3, 0)];
  await vm(2, 1);
  const [mac1, mac3] = [await macOf(lab, vm1), await macOf(lab, vm3)];
  const onHost2 = async (mac: string) => (await host2.client.request<LearnedMac[]>('GET', '/macs')).some((m) => m.mac === mac);

  const pinging = pingUntilStopped(lab, vm1, '10.0.0.2');
  t.true(await eventually(() => ping(lab, vm3, '10.0.0.2', 1)), 'vm3 speaks once');
  t.true(await eventually(async () => (await onHost2(mac1)) && (await onHost2(mac3))), 'host 2 knows both from the store');
  t.true(await eventually(async () => !(await onHost2(mac3))), 'vm3, silent since, left the store and host 2\'s table');
  t.true(await onHost2(mac1), 'vm1, whose ping goes on, stayed');
  const pings = await pinging.stop();
  t.deepEqual(pings.lost_at, [], 'vm1 lost no ping meanwhile');
  t.true(await eventually(async () => !(await onHost2(mac1))), 'its ping stopped, vm1 leaves too');
  t.true(await eventually(() => ping(lab, vm3, '10.0.0.2', 1)), 'vm3 speaks again');
  t.true(await eventually(() => onHost2(mac3)), 'and is known on host 2 again');
});
