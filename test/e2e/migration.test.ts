// Live migration end to end, with three agents on an underlay and a stand-in for QEMU at the
// destination (test/helpers/paused-guest.py: a tap held unread while "paused", a RARP and
// answers once resumed). The real QEMU migration is `npm run test:migration` and the
// migration benchmark.
import { ChildProcess } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { eventually, Lab, overlayAgentArgs, overlayHosts, ping, sleep, startAgent, vmOn } from '../../examples/lab';

const VM_MAC = '52:54:00:12:34:56';
const VM_IP = '10.0.0.5';
const STAND_IN = path.join(__dirname, '..', '..', '..', 'test', 'helpers', 'paused-guest.py');

/** Three hosts: the VM on host 1 (its port bound there), a peer on host 3, host 2 empty. */
async function threeHosts(lab: Lab) {
  const { hosts, agents, ids } = await overlayHosts(lab, ['src', 'dst', 'peer']);
  const vm = await vmOn(lab, hosts[0].ns, 'vm', 'tap1', `${VM_IP}/24`);
  await lab.ip(vm, 'link', 'set', 'eth0', 'address', VM_MAC);
  const peer = await vmOn(lab, hosts[2].ns, 'peerVm', 'tap3', '10.0.0.9/24');
  const api = agents[1].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'vm' });
  await api.request('POST', '/v1/bindings', { port: port.id, interface: 'tap1', host: ids[0] });
  const peerPort = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'peer' });
  await api.request('POST', '/v1/bindings', { port: peerPort.id, interface: 'tap3', host: ids[2] });
  if (!(await eventually(() => ping(lab, peer, VM_IP, 1), 10_000))) throw new Error('the peer cannot reach the VM');
  return { hosts, agents, ids, vm, peer, api, port: port.id };
}

/** The incoming "QEMU" on a host: a paused guest on tap `name`; its output lines as they come. */
function pausedGuest(lab: Lab, ns: string, name: string): { process: ChildProcess; lines: string[]; started: Promise<void> } {
  const process = lab.spawn(ns, 'python3', [STAND_IN, name, VM_MAC, VM_IP]);
  const lines: string[] = [];
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  process.stdout!.on('data', (d: Buffer) => {
    lines.push(...d.toString().split('\n').filter(Boolean));
    if (lines.includes('paused')) started();
  });
  return { process, lines, started: ready };
}

test('begin mirrors to the destination, which holds; the guest resumes there and gets the held pings; commit moves every flow', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids, vm, peer, api, port } = await threeHosts(lab);
  const guest = pausedGuest(lab, hosts[1].ns, 'tapd');
  await guest.started;
  await lab.ip(hosts[1].ns, 'link', 'set', 'tapd', 'up');

  // Begin (as the hook does at the destination's prepare): the port is bound on host 2 too.
  const begun = await api.request<{ state: string }>('POST', '/v1/migrations', { port, destinationHost: ids[1], interface: 'tapd' });
  t.is(begun.state, 'mirroring');
  t.true(await eventually(async () => (await agents[1].ports()).some((p) => p.name === 'tapd' && p.state === 'up'), 5000), 'host 2 attached the arriving interface');
  t.true(await ping(lab, peer, VM_IP, 5), 'the VM still answers at the source');
  const held = (await agents[1].port('tapd')).counters;
  t.is(held.txPackets, 0, 'nothing reached the paused guest: the copies are held');
  t.deepEqual(guest.lines, ['paused']);

  // The switchover, at 100 pings a second: the source stops (its interface goes), the guest resumes on host 2.
  const stream = lab.exec(peer, 'ping', ['-c', '300', '-i', '0.01', '-W', '1', VM_IP], 20_000).catch((e: { stdout: string }) => e);
  await sleep(1000);
  await lab.ip(vm, 'link', 'del', 'eth0');
  guest.process.kill('SIGUSR1');
  t.true(await eventually(async () => (await api.request<{ guestRunningAt: number }>('GET', `/v1/migrations/${port}`)).guestRunningAt > 0, 3000), 'host 2 saw the guest run');
  // The guest runs at host 2 and its interface on host 1 is gone: host 1 commits by itself.
  t.true(await eventually(async () => (await api.request<{ state: string }>('GET', `/v1/migrations/${port}`)).state === 'committed', 3000), 'committed without being asked');
  t.regex((await api.request<{ reason: string }>('GET', `/v1/migrations/${port}`)).reason, /interface on the source is gone/);
  // The hook's commit at the source's release comes later, and changes nothing.
  t.like(await api.request('POST', `/v1/migrations/${port}/commit`), { state: 'committed' });
  const { stdout } = await stream;
  const received = Number(/(\d+) received/.exec(stdout)?.[1] ?? 0);
  const duplicates = Number(/\+(\d+) duplicates/.exec(stdout)?.[1] ?? 0);
  t.log(`300 pings at 100/s across the switchover: ${received} answered, ${duplicates} duplicates`);
  t.true(received >= 298, stdout.split('\n').slice(-4).join('\n'));
  t.true(guest.lines.filter((l) => l.startsWith('echo')).length > 100, 'the guest answers from host 2');

  // Committed: the binding is on host 2, and flows from host 3 go there alone.
  t.like(await api.request('GET', `/v1/bindings/${port}`), { host: ids[1], interface: 'tapd' });
  t.true(await ping(lab, peer, VM_IP, 3));
  const flows = await agents[2].client.request<{ actions: string }[]>('GET', '/flows');
  const toSource = flows.filter((f) => f.actions.includes(`dst=${hosts[0].address})`));
  t.deepEqual(toSource, [], 'no flow on host 3 still sends to the source');
});

test('abort goes back to the source, a deadline ends a forgotten migration, and a migration outlives an agent restart', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids, peer, api, port } = await threeHosts(lab);
  const guest = pausedGuest(lab, hosts[1].ns, 'tapd');
  await guest.started;
  await lab.ip(hosts[1].ns, 'link', 'set', 'tapd', 'up');
  const attached = async () => (await agents[1].ports()).some((p) => p.name === 'tapd');

  await api.request('POST', '/v1/migrations', { port, destinationHost: ids[1], interface: 'tapd' });
  t.true(await eventually(attached, 5000));
  t.like(await api.request('POST', `/v1/migrations/${port}/abort`), { state: 'aborted' });
  t.true(await eventually(async () => !(await attached()), 5000), 'host 2 let go of the arriving interface');
  t.like(await api.request('GET', `/v1/bindings/${port}`), { host: ids[0], interface: 'tap1' });
  t.true(await ping(lab, peer, VM_IP, 3), 'the VM answers at the source alone');

  // Begun again with a 3 s deadline; host 2's agent restarts meanwhile and holds again.
  await api.request('POST', '/v1/migrations', { port, destinationHost: ids[1], interface: 'tapd', timeoutSeconds: 3 });
  t.true(await eventually(attached, 5000));
  process.kill(agents[1].pid, 'SIGKILL');
  await sleep(300);
  const restarted = await startAgent(lab, hosts[1].ns, overlayAgentArgs(hosts[1].address), agents[1].stateDir);
  t.true(await eventually(async () => (await restarted.ports()).some((p) => p.name === 'tapd'), 5000), 'the restarted agent took the migration up again');
  t.true(await ping(lab, peer, VM_IP, 3));
  t.is((await restarted.port('tapd')).counters.txPackets, 0, 'and holds what is copied to the paused guest');
  t.true(await eventually(async () => (await api.request<{ state: string }>('GET', `/v1/migrations/${port}`)).state === 'expired', 8000), 'the deadline ended it');
  const ended = await api.request<{ reason: string }>('GET', `/v1/migrations/${port}`);
  t.regex(ended.reason, /never ran at the destination: back to the source/);
  const metrics = await agents[0].client.request<string>('GET', '/metrics');
  t.regex(metrics, /vswitch_migrations_expired_total 1/);
  t.true(await eventually(async () => !(await restarted.ports()).some((p) => p.name === 'tapd'), 5000), 'bound on one host again, not two');
  t.like(await api.request('GET', `/v1/bindings/${port}`), { host: ids[0] });
});
