// Many hosts on one etcd: each agent registers its host with its underlay address and keeps a
// liveness lease; a host whose agent dies is reported down when its lease runs out, and so are
// the port bindings on it.
import test from 'ava';
import { eventually, Lab, overlayHosts } from '../../examples/lab';

const LEASE_SECONDS = 3;

test('a host whose agent dies is down once its lease runs out, with its bindings', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2'], ['--host-lease', String(LEASE_SECONDS)]);
  const admin = agents[0].api;
  const listed = await admin.request<{ id: string; underlayAddress: string; alive: boolean }[]>('GET', '/v1/hosts');
  t.deepEqual(listed.map((h) => [h.id, h.underlayAddress, h.alive]).sort(), ids.map((id, i) => [id, hosts[i].address, true]).sort(), 'both hosts, alive, with their underlay addresses');

  // A VM's port on host 2, made through host 1's API: it is one topology.
  await lab.ip(hosts[1].ns, 'link', 'add', 'vm2', 'type', 'veth', 'peer', 'vm2p');
  await lab.ip(hosts[1].ns, 'link', 'set', 'vm2', 'up');
  await lab.ip(hosts[1].ns, 'link', 'set', 'vm2p', 'up');
  const bridge = await admin.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const port = await admin.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'vm2' });
  await admin.request('POST', '/v1/bindings', { port: port.id, interface: 'vm2', host: ids[1] });
  t.true(await eventually(async () => (await agents[1].ports()).some((p) => p.name === 'vm2' && p.binding === port.id)), 'host 2\'s agent attached it');
  t.is((await admin.request<{ state: string }>('GET', `/v1/bindings/${port.id}`)).state, 'up');

  process.kill(agents[1].pid, 'SIGKILL');
  const killed = Date.now();
  t.true(await eventually(async () => !(await admin.request<{ id: string; alive: boolean }[]>('GET', '/v1/hosts')).find((h) => h.id === ids[1])!.alive), 'host 2 is down');
  // How soon is a timing: `npm run bench -- changes` measures it against the lease (host_down_ms).
  t.log(`host 2 down ${Date.now() - killed} ms after its agent was killed (lease ${LEASE_SECONDS} s)`);
  t.is((await admin.request<{ state: string }>('GET', `/v1/bindings/${port.id}`)).state, 'host-down');
  t.true((await admin.request<{ id: string; alive: boolean }[]>('GET', '/v1/hosts')).find((h) => h.id === ids[0])!.alive, 'host 1 is still up');
});
