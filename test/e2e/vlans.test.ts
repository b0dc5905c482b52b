// VLANs through the real datapath: access ports carry one VLAN untagged, a trunk carries it
// tagged, and VLANs do not leak into each other. (This kernel has no 802.1Q devices, so the
// trunk host reads and writes its tagged frames raw: tcpdump, and a packet socket.)
import path from 'node:path';
import test from 'ava';
import { capture, eventually, Lab, ping, RunningAgent, startAgent } from '../../examples/lab';

const lab = new Lab();
let agent: RunningAgent;
const hosts = { a: '', b: '', c: '', d: '' };
const ADDON = path.join(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'vswitch_native.node');

test.before(async () => {
  const sw = await lab.namespace('sw');
  for (const [i, name] of (['a', 'b', 'c', 'd'] as const).entries()) {
    hosts[name] = await lab.namespace(name);
    await lab.veth(hosts[name], 'eth0', sw, `p${name}`);
    await lab.ip(hosts[name], 'link', 'set', 'eth0', 'address', `02:00:00:00:82:0${i + 1}`);
    await lab.exec(hosts[name], 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  }
  for (const [i, name] of (['a', 'b', 'c'] as const).entries()) await lab.ip(hosts[name], 'addr', 'add', `10.82.0.${i + 1}/24`, 'dev', 'eth0');
  agent = await startAgent(lab, sw, ['--port', 'pa:packet:100', '--port', 'pb:packet:100', '--port', 'pc:packet:200', '--port', 'pd']);
});

test.after.always(() => lab.cleanup());

/** tcpdump on the trunk host, ended by its first `count` frames. */
const captureOnTrunk = (filter: string, count: number) => capture(lab, hosts.d, 'eth0', filter, { count, seconds: 10 });

test.serial('access ports of one VLAN reach each other', async (t) => {
  t.true(await ping(lab, hosts.a, '10.82.0.2'));
});

test.serial('a frame from an access port leaves the trunk tagged with its VLAN', async (t) => {
  const trunk = captureOnTrunk('vlan 100 and arp', 1);
  await trunk.ready;
  await ping(lab, hosts.a, '10.82.0.9', 1); // nobody has it: the ARP request floods
  t.regex((await trunk.lines).join('\n'), /vlan 100.*ARP.*Request who-has 10\.82\.0\.9 tell 10\.82\.0\.1/);
});

test.serial('a tagged frame from the trunk reaches the access port untagged, and the answer returns tagged', async (t) => {
  const trunk = captureOnTrunk('vlan 100 and arp[6:2] = 2', 1);
  await trunk.ready;
  // An ARP request from 10.82.0.4 on the trunk, tagged VLAN 100: ff:ff:.. <- 02:00:00:00:82:04.
  const frame = '0'.repeat(20) + 'ffffffffffff0200000082048100006408060001080006040001020000008204' + '0a520004' + '000000000000' + '0a520001';
  await lab.exec(hosts.d, process.execPath, ['-e', `
    const n = require(${JSON.stringify(ADDON)});
    const fd = n.openPacket('eth0', true, 1024);
    const frame = Buffer.from('${frame}', 'hex');
    n.sendBatch(fd, false, new Uint8Array(frame), Uint32Array.of(0), Uint32Array.of(frame.length), Uint32Array.of(1), 0, 1);`]);
  const seen = (await trunk.lines).join('\n');
  t.regex(seen, /vlan 100.*ARP.*Reply 10\.82\.0\.1 is-at 02:00:00:00:82:01/);
  // The answer went out by a flow the cache has, or is about to (workers install what they ran).
  const flows = () => agent.client.request<{ actions: string }[]>('GET', '/flows');
  t.true(await eventually(async () => (await flows()).some((f) => /push_vlan:100/.test(f.actions))));
  t.true(await eventually(async () => (await flows()).some((f) => /pop_vlan/.test(f.actions))));
});

test.serial('another VLAN is another network: nothing crosses', async (t) => {
  const before = (await agent.port('pc')).counters.txPackets;
  t.false(await ping(lab, hosts.a, '10.82.0.3', 2));
  t.is((await agent.port('pc')).counters.txPackets, before, 'not even the ARP broadcast reached VLAN 200');
});
