// The libvirt hook (examples/libvirt/qemu), run as libvirt runs it on each host, with the
// argument sequences libvirt 9.0 gives for a domain's start, stop and restart, for a migration
// that succeeds and one that fails, and the domain XML on stdin, against running agents.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { domainXml, eventually, Lab, overlayHosts, ping, runHook, startAgent, vmOn } from '../../examples/lab';

const MAC = '52:54:00:12:34:56';
const domain = (port: string, dev: string) => domainXml('vm1', MAC, port, dev);

async function twoHosts(t: { teardown: (f: () => Promise<void>) => void }) {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { agents, ids } = await overlayHosts(lab, ['src', 'dst']);
  const api = agents[0].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const port = (await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'vm1' })).id;
  await api.request('POST', '/v1/bindings', { port, interface: 'vm1-src', host: ids[0] });
  return { lab, agents, ids, api, port };
}

test('a migration that succeeds: begun at the destination\'s prepare, committed at the source\'s release', async (t) => {
  const { lab, agents, ids, api, port } = await twoHosts(t);
  const [source, destination] = agents;
  const incoming = domain(port, 'vm1-dst');
  const migrate = await runHook(lab, destination, ['vm1', 'migrate', 'begin', '-'], incoming);
  t.deepEqual(migrate, { code: 0, stdout: '', stderr: '' }, 'the XML is left as it is');
  await t.throwsAsync(api.request('GET', `/v1/migrations/${port}`), undefined, 'nothing begun yet');
  for (const op of ['prepare', 'start']) t.is((await runHook(lab, destination, ['vm1', op, 'begin', '-'], incoming)).code, 0);
  t.like(await api.request('GET', `/v1/migrations/${port}`), { state: 'mirroring', sourceHost: ids[0], destinationHost: ids[1], destinationInterface: 'vm1-dst' });
  t.is((await runHook(lab, destination, ['vm1', 'started', 'begin', '-'], incoming)).code, 0);
  t.like(await api.request('GET', `/v1/migrations/${port}`), { state: 'mirroring' }, 'started: QEMU runs paused, nothing changes');

  const outgoing = domain(port, 'vm1-src');
  for (const op of ['stopped', 'release']) t.is((await runHook(lab, source, ['vm1', op, 'end', '-'], outgoing)).code, 0);
  t.like(await api.request('GET', `/v1/migrations/${port}`), { state: 'committed' });
  t.like(await api.request('GET', `/v1/bindings/${port}`), { host: ids[1], interface: 'vm1-dst' });
});

test('a migration that fails: the destination is released before its guest ran, and the port stays at the source', async (t) => {
  const { lab, agents, ids, api, port } = await twoHosts(t);
  const destination = agents[1];
  const incoming = domain(port, 'vm1-dst');
  for (const [op, sub] of [['migrate', 'begin'], ['prepare', 'begin'], ['start', 'begin'], ['started', 'begin'], ['stopped', 'end'], ['release', 'end']]) {
    t.is((await runHook(lab, destination, ['vm1', op, sub, '-'], incoming)).code, 0, `${op} ${sub}`);
  }
  t.like(await api.request('GET', `/v1/migrations/${port}`), { state: 'aborted' });
  t.like(await api.request('GET', `/v1/bindings/${port}`), { host: ids[0], interface: 'vm1-src' });
  // A plain start later (no migrate begin first) begins nothing.
  await api.request('DELETE', `/v1/migrations/${port}`);
  for (const op of ['prepare', 'start', 'started']) await runHook(lab, destination, ['vm1', op, 'begin', '-'], incoming);
  await t.throwsAsync(api.request('GET', `/v1/migrations/${port}`));
});

test('an agent that cannot be reached does not stop libvirt: exit 0, and the reason on stderr', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const stateDir = lab.directory('nowhere-state');
  fs.writeFileSync(path.join(stateDir, 'host-id'), 'h9');
  fs.writeFileSync(path.join(stateDir, 'host-token'), 'x');
  const nobody = { stateDir };
  await runHook(lab, nobody, ['vm1', 'migrate', 'begin', '-'], domain('p', 'vm1-dst'));
  const result = await runHook(lab, nobody, ['vm1', 'prepare', 'begin', '-'], domain('p', 'vm1-dst'));
  t.is(result.code, 0);
  t.regex(result.stderr, /vswitch hook: vm1 prepare begin: .* \(the migration goes on without mirroring\)/);
});

/** libvirt 9.0's calls when a domain starts, and when it stops (shut down or destroyed). */
const START = [['prepare', 'begin'], ['start', 'begin'], ['started', 'begin']];
const STOP = [['stopped', 'end'], ['release', 'end']];

test('a domain\'s everyday life: its ports are bound when it starts and unbound when it stops; restarted, it gets traffic again, never bound by hand', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const agent = await startAgent(lab, sw);
  const api = agent.api;
  const host = fs.readFileSync(path.join(agent.stateDir, 'host-id'), 'utf8').trim();
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const ports: string[] = [];
  for (const name of ['vm1', 'vm2']) ports.push((await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name, portSecurity: false })).id);
  const xml = ports.map((port, i) => domainXml(`vm${i + 1}`, `52:54:00:12:34:5${i}`, port, `vm${i + 1}-tap`));
  const life = async (vm: number, calls: string[][]) => {
    for (const [op, sub] of calls) t.deepEqual(await runHook(lab, agent, [`vm${vm}`, op, sub, '-'], xml[vm - 1]).then((r) => r.code), 0, `vm${vm} ${op} ${sub}`);
  };
  const bound = (vm: number) => api.request<{ host: string; interface: string }>('GET', `/v1/bindings/${ports[vm - 1]}`).catch(() => null);

  await life(1, START);
  await life(2, START);
  t.like(await bound(1), { host, interface: 'vm1-tap' }, 'bound at its start, to the tap libvirt makes for it');
  // libvirt makes the taps as it starts QEMU: here, each VM stand-in's veth.
  const vm1 = await vmOn(lab, sw, 'vm1', 'vm1-tap', '10.0.0.1/24');
  await vmOn(lab, sw, 'vm2', 'vm2-tap', '10.0.0.2/24');
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)), 'the two domains reach each other');

  await life(1, STOP);
  t.is(await bound(1), null, 'unbound when it stopped');
  t.like(await bound(2), { interface: 'vm2-tap' }, 'the other domain\'s port stays');
  await lab.ip(sw, 'link', 'del', 'vm1-tap'); // libvirt takes its tap away
  t.false(await ping(lab, vm1, '10.0.0.2', 1));

  // Restarted (virsh destroy, then start): the same calls again, a new tap.
  await life(1, START);
  t.like(await bound(1), { host, interface: 'vm1-tap' });
  await lab.veth(vm1, 'eth0', sw, 'vm1-tap');
  await lab.ip(vm1, 'addr', 'add', '10.0.0.1/24', 'dev', 'eth0');
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)), 'it reaches the other again');
  await life(1, START);
  t.like(await bound(1), { interface: 'vm1-tap' }, 'a start repeated changes nothing');
});
