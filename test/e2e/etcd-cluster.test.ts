// Two hosts' agents on a real 3-member etcd cluster on the underlay. With one member killed,
// the agents carry on: the API reads and writes through the others, and a change reaches the
// other host. With two killed (no quorum), the API answers 503 and established flows keep
// forwarding. With the members back, the agents converge and nothing made before is lost.
import test from 'ava';
import { eventually, Lab, overlayHosts, ping, vmOn, WAIT_MS } from '../../examples/lab';
import { ControlError } from '../../src/cli/client';

/** `call`'s answer once it gives one: an agent's etcd client waits a few seconds before it
 *  tries a member that failed again (its circuit breaker), and says 503 meanwhile. */
async function answered<T>(call: () => Promise<T>): Promise<T> {
  for (const end = Date.now() + WAIT_MS; ; await new Promise((r) => setTimeout(r, 200))) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > end) throw error;
    }
  }
}

test('a 3-member etcd cluster: one member lost, agents carry on; two lost, 503 and flows keep forwarding; back, they converge with nothing lost', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids, etcd } = await overlayHosts(lab, ['host1', 'host2'], ['--host-lease', '3'], { etcdMembers: 3 });
  const api = agents[0].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  /** A VM on host `h` (0 or 1) at 10.0.0.N, its port made and bound through host 1's API
   *  (each step tried again until the API answers, never made twice). */
  const vm = async (n: number, h: number) => {
    const ns = await vmOn(lab, hosts[h].ns, `vm${n}`, `tap${n}`, `10.0.0.${n}/24`);
    const port = await answered(async () => (await api.request<{ id: string; name: string }[]>('GET', '/v1/ports')).find((p) => p.name === `vm${n}`)
      ?? api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: `vm${n}` }));
    await answered(() => api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${n}`, host: ids[h] }).catch((e: ControlError) => {
      if (e.status !== 409) throw e; // made by an earlier try whose answer was lost
    }));
    return ns;
  };
  const vm1 = await vm(1, 0);
  await vm(2, 1);
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)), 'vm1 reaches vm2 across the overlay');

  etcd!.kill(0);
  await vm(3, 1);
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.3', 1)), 'with one member lost, a port made and bound through the API is attached on host 2');

  etcd!.kill(1);
  const refusal = async () => api.request('POST', '/v1/bridges', { name: 'without-quorum' }).then(() => 0, (e: ControlError) => e.status);
  t.true(await eventually(async () => (await refusal()) === 503), 'without a quorum, a change is refused with 503');
  const { stdout } = await lab.exec(vm1, 'ping', ['-c', '20', '-i', '0.2', '-W', '2', '10.0.0.2']).catch((e: { stdout: string }) => e);
  t.regex(stdout, /20 packets transmitted, 20 received/, 'established flows keep forwarding without a quorum');

  await etcd!.start(0);
  await etcd!.start(1);
  let late: { id: string } | undefined;
  t.true(await eventually(async () => (late = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'after' }).catch(() => undefined)) !== undefined), 'with the members back, changes are taken again');
  t.truthy(late);
  const names = (await answered(() => agents[1].api.request<{ name: string }[]>('GET', '/v1/ports'))).map((p) => p.name).sort();
  t.deepEqual(names, ['vm1', 'vm2', 'vm3'], 'the other host\'s API reads everything made before, the port made with a member lost too');
  await vm(4, 1);
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.4', 1)), 'a port made after is attached on host 2: its agent follows the store again');
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.3', 1)), 'and the rest still forward');
});
