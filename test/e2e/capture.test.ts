// `vswitch capture`: a port's frames as pcapng, read by Wireshark's tshark and by tcpdump; both
// directions, a count, standard output, and the frames the switch drops on the port with their
// reason. The agent's ports are veths into two lab namespaces.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { eventually, Lab, overlayHosts, ping, RunningAgent, sendFrames, startAgent, trafficUntil, twoHostsAndSwitch, vmOn, VSWITCH } from '../../examples/lab';
import { frameFromText } from '../../src/packet';

const run = promisify(execFile);

async function setUp(t: { teardown: (f: () => Promise<void>) => void }) {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { sw, a, b } = await twoHostsAndSwitch(lab, '10.77.0');
  const agent = await startAgent(lab, sw, ['--port', 'pa', '--port', 'pb']);
  if (!(await eventually(() => ping(lab, a, '10.77.0.2', 1)))) throw new Error('no ping before the capture');
  return { lab, a, b, agent };
}

/** Starts `vswitch capture ARGS` writing to `file`; resolves once it runs (the file has its header). */
async function capture(agent: RunningAgent, file: string, args: string[]) {
  const cli = spawn(VSWITCH, ['--socket', agent.socket, 'capture', ...args, '-w', file]);
  let stderr = '';
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => cli.on('exit', (code) => resolve(code ?? -1)));
  if (!(await eventually(async () => fs.existsSync(file) && fs.statSync(file).size > 0))) throw new Error(`the capture did not start: ${stderr}`);
  return { exited, stderr: () => stderr, stop: () => cli.kill('SIGINT') };
}

/** tshark's fields of each frame, tab-separated. */
async function fields(file: string, ...names: string[]): Promise<string[][]> {
  const { stdout } = await run('tshark', ['-r', file, '-T', 'fields', ...names.flatMap((n) => ['-e', n])]);
  return stdout.split('\n').filter(Boolean).map((line) => line.split('\t')); // a line may begin with an empty field
}

test('a port\'s frames during a ping, both ways, as pcapng that tshark reads whole; -c stops it', async (t) => {
  const { lab, a, agent } = await setUp(t);
  const file = path.join(lab.directory('capture'), 'pb.pcapng');
  // ICMP only: the namespaces' own ARP and IPv6 multicast would take some of the count (a
  // fresh clone's CI run counted 4 requests and 3 replies in 10 frames).
  const c = await capture(agent, file, ['pb', '--match', 'icmp', '-c', '10']);
  await trafficUntil(c.exited, () => lab.exec(a, 'ping', ['-c', '5', '-i', '0.05', '10.77.0.2']));
  t.is(await c.exited, 0, c.stderr());
  const frames = await fields(file, 'icmp.type', 'frame.packet_flags_direction', '_ws.malformed');
  t.is(frames.length, 10, 'the count');
  const requests = frames.filter(([type]) => type === '8');
  const replies = frames.filter(([type]) => type === '0');
  t.true(requests.length >= 4 && replies.length >= 4, `echo requests and replies: ${requests.length}, ${replies.length}`);
  t.true(requests.every(([, direction]) => Number(direction) === 2), `requests were sent to the port (outbound): ${requests.map(([, d]) => d)}`);
  t.true(replies.every(([, direction]) => Number(direction) === 1), 'replies came from it (inbound)');
  t.true(frames.every(([, , malformed]) => !malformed), 'nothing malformed');
});

test('Ctrl-C stops a capture cleanly: exit 0, and a file tshark reads whole', async (t) => {
  const { lab, a, agent } = await setUp(t);
  const file = path.join(lab.directory('capture'), 'pb-interrupted.pcapng');
  const c = await capture(agent, file, ['pb']);
  const written = eventually(async () => (await fields(file, 'icmp.type')).length >= 2);
  await trafficUntil(written, () => lab.exec(a, 'ping', ['-c', '2', '-i', '0.05', '10.77.0.2']));
  t.true(await written, 'frames written as they come');
  c.stop();
  t.is(await c.exited, 0, c.stderr());
  const frames = await fields(file, 'icmp.type', '_ws.malformed');
  t.true(frames.length >= 2 && frames.every(([, malformed]) => !malformed));
});

test('-w - goes to standard output, for tcpdump -nr -; --direction and --match choose', async (t) => {
  const { lab, a, agent } = await setUp(t);
  const piped = run('sh', ['-c', `"${VSWITCH}" --socket "${agent.socket}" capture pb --direction in --match icmp -c 4 -w - | tcpdump -nr -`]);
  await trafficUntil(piped, () => lab.exec(a, 'ping', ['-c', '5', '-i', '0.05', '10.77.0.2']));
  const { stdout } = await piped;
  const lines = stdout.trim().split('\n');
  t.is(lines.length, 4, stdout);
  t.true(lines.every((l) => /10\.77\.0\.2 > 10\.77\.0\.1: ICMP echo reply/.test(l)), 'only what came in from the port');
});

test('--drops: a frame the switch dropped on the port, with its reason in the packet comment', async (t) => {
  const { lab, a, agent } = await setUp(t);
  const file = path.join(lab.directory('capture'), 'pa-drops.pcapng');
  const c = await capture(agent, file, ['pa', '--direction', 'out', '--drops', '-c', '3']);
  // A frame whose source MAC is a group address: no switch forwards it.
  const spoofed = frameFromText('udp,dl_src=03:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=10.77.0.1,nw_dst=10.77.0.255,tp_dst=9');
  await trafficUntil(c.exited, () => sendFrames(lab, a, 'eth0', [spoofed]));
  t.is(await c.exited, 0, c.stderr());
  const dropped = (await fields(file, 'frame.comment', 'eth.src')).filter(([comment]) => comment);
  t.true(dropped.length > 0, 'dropped frames were captured');
  t.deepEqual(dropped[0], ['dropped by vswitch: sourceIsMulticast', '03:00:00:00:00:01']);
});

test('a port that is not here is refused with a reason; the agent goes on', async (t) => {
  const { lab, agent } = await setUp(t);
  const file = path.join(lab.directory('capture'), 'none.pcapng');
  const result = await run(VSWITCH, ['--socket', agent.socket, 'capture', 'nope', '-w', file]).catch((e: { code: number; stderr: string }) => e);
  t.is((result as { code: number }).code, 1);
  t.regex((result as { stderr: string }).stderr, /no port nope here, nor a virtual port bound on a host this one reaches/);
  t.deepEqual(await agent.client.request('GET', '/health'), { ok: true });
});

test('a port bound on another host: its copies come over the overlay, both ways', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2']);
  const vm1 = await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.0.1/24');
  await vmOn(lab, hosts[0].ns, 'vm2', 'tap2', '10.0.0.2/24');
  const api = agents[0].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const ports: string[] = [];
  for (const [name, dev] of [['vm1', 'tap1'], ['vm2', 'tap2']]) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name });
    await api.request('POST', '/v1/bindings', { port: port.id, interface: dev, host: ids[0] });
    ports.push(port.id);
  }
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)));
  // Run on host 2, for vm1's port on host 1 (host 2 learns the binding through etcd's watch).
  t.true(await eventually(async () => (await agents[1].api.request<{ host: string }>('GET', `/v1/bindings/${ports[0]}`).catch(() => null))?.host === ids[0]));
  const file = path.join(lab.directory('capture'), 'vm1-remote.pcapng');
  const c = await capture(agents[1], file, [ports[0], '-c', '8']);
  await trafficUntil(c.exited, () => lab.exec(vm1, 'ping', ['-c', '5', '-i', '0.05', '10.0.0.2']));
  t.is(await c.exited, 0, c.stderr());
  const frames = await fields(file, 'icmp.type', 'frame.packet_flags_direction', '_ws.malformed');
  t.is(frames.length, 8);
  t.true(frames.some(([type, direction]) => type === '8' && Number(direction) === 1), 'vm1\'s requests, received from it');
  t.true(frames.some(([type, direction]) => type === '0' && Number(direction) === 2), 'the replies, sent to it');
  t.true(frames.every(([, , malformed]) => !malformed));
  t.true((await agents[1].stats()).tunnel!.rxPackets >= 8, 'they came through the tunnel');
  t.true(await eventually(async () => /capture: the asking host stopped it/.test(agents[0].log())), 'host 1 stops copying when the capture ends');
});
