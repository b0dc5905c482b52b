// Two namespaces attached through tap ports: the switch opens the taps (with vnet headers and
// offloads), and each tap's device is moved into a namespace, where a VM's side would be.
import test from 'ava';
import { eventually, iperfTcp, Lab, offloads, ping, RunningAgent, startAgent } from '../../examples/lab';

const lab = new Lab();
let agent: RunningAgent;
const hosts = { a: '', b: '' };

test.before(async () => {
  const sw = await lab.namespace('sw');
  agent = await startAgent(lab, sw);
  for (const [i, name] of (['a', 'b'] as const).entries()) {
    hosts[name] = await lab.namespace(name);
    await agent.client.request('POST', '/ports', { name: `tap${name}`, kind: 'tap' });
    await lab.ip(sw, 'link', 'set', `tap${name}`, 'netns', hosts[name]);
    await lab.ip(hosts[name], 'link', 'set', `tap${name}`, 'up');
    await lab.ip(hosts[name], 'addr', 'add', `10.78.0.${i + 1}/24`, 'dev', `tap${name}`);
  }
});

test.after.always(() => lab.cleanup());

test.serial('ping passes between tap ports', async (t) => {
  t.true(await ping(lab, hosts.a, '10.78.0.2'));
});

test.serial('a 5 s iperf3 TCP stream passes between tap ports with default offloads on', async (t) => {
  t.regex(await offloads(lab, hosts.a, 'tapa'), /tcp-segmentation-offload: on/);
  const bps = await iperfTcp(lab, hosts.b, hosts.a, '10.78.0.2', 5);
  t.log(`TCP a -> b over taps: ${(bps / 1e9).toFixed(2)} Gbit/s`);
  t.true(bps > 100e6, `${bps} bit/s`);
  const tapb = await agent.port('tapb');
  t.true(tapb.counters.txBytes > bps / 8, 'the stream left through tap b');
});

test.serial('a tap deleted in its namespace marks its port down; the agent keeps serving', async (t) => {
  await lab.ip(hosts.b, 'link', 'del', 'tapb');
  t.true(await eventually(async () => (await agent.port('tapb')).state === 'down'));
  t.is((await agent.port('tapb')).reason, 'interface vanished');
  t.is((await agent.port('tapa')).state, 'up');
  await agent.client.request('DELETE', '/ports/tapb');
  t.deepEqual((await agent.ports()).map((p) => p.name), ['tapa']);
});

test.serial('an existing persistent tap (as libvirt makes them) is attached, not recreated', async (t) => {
  const sw = `${lab.id}-sw`;
  await lab.ip(sw, 'tuntap', 'add', 'dev', 'vnet7', 'mode', 'tap', 'vnet_hdr');
  const port = await agent.client.request<{ name: string; state: string }>('POST', '/ports', { name: 'vnet7', kind: 'tap' });
  t.is(port.state, 'up');
  const { stdout } = await lab.ip(sw, '-d', 'link', 'show', 'vnet7');
  t.regex(stdout, /tun type tap/);
  await agent.client.request('DELETE', '/ports/vnet7');
  t.regex((await lab.ip(sw, 'link', 'show', 'vnet7')).stdout, /vnet7/, 'a persistent tap outlives the port');
});

test.serial('a name that is not a tap is refused with a sentence that says so', async (t) => {
  const sw = `${lab.id}-sw`;
  await lab.ip(sw, 'link', 'add', 'notatap', 'type', 'veth', 'peer', 'notatap-peer');
  const error = await t.throwsAsync(agent.client.request('POST', '/ports', { name: 'notatap', kind: 'tap' }));
  t.regex(error?.message ?? '', /interface notatap exists and is not a tap device \(attach to it as a packet port\)/);
  t.false((await agent.ports()).some((p) => p.name === 'notatap'));
});
