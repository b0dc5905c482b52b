// Ports come and go under traffic: removed through the API, their interface set down, or
// deleted under the agent. Traffic stops or resumes accordingly and the agent keeps serving.
import test from 'ava';
import { eventually, Lab, ping, RunningAgent, startAgent } from '../../examples/lab';

const lab = new Lab();
let agent: RunningAgent;
let sw = '';
const hosts = { a: '', b: '', c: '' };

test.before(async () => {
  sw = await lab.namespace('sw');
  for (const [i, name] of (['a', 'b', 'c'] as const).entries()) {
    hosts[name] = await lab.namespace(name);
    await lab.veth(hosts[name], 'eth0', sw, `p${name}`);
    await lab.ip(hosts[name], 'link', 'set', 'eth0', 'address', `02:00:00:00:79:0${i + 1}`);
    await lab.ip(hosts[name], 'addr', 'add', `10.79.0.${i + 1}/24`, 'dev', 'eth0');
  }
  agent = await startAgent(lab, sw, ['--port', 'pa', '--port', 'pb', '--port', 'pc']);
});

test.after.always(() => lab.cleanup());

test.serial('a port removed at run time stops its traffic; added again, traffic resumes', async (t) => {
  t.true(await ping(lab, hosts.a, '10.79.0.2'));
  await agent.client.request('DELETE', '/ports/pb');
  t.false((await agent.ports()).some((p) => p.name === 'pb'));
  t.false(await ping(lab, hosts.a, '10.79.0.2', 2), 'no traffic through a removed port');
  t.true(await ping(lab, hosts.a, '10.79.0.3'), 'the other ports still forward');
  await agent.client.request('POST', '/ports', { name: 'pb', kind: 'packet' });
  t.true(await ping(lab, hosts.a, '10.79.0.2'));
});

test.serial('a link set down marks its port down; set up, the port forwards again', async (t) => {
  t.true(await ping(lab, hosts.a, '10.79.0.3'));
  const counted = (await agent.port('pc')).counters.txPackets;
  await lab.ip(sw, 'link', 'set', 'pc', 'down');
  t.true(await eventually(async () => (await agent.port('pc')).state === 'down'));
  t.is((await agent.port('pc')).reason, 'link down');
  await lab.ip(sw, 'link', 'set', 'pc', 'up');
  t.true(await eventually(async () => (await agent.port('pc')).state === 'up'));
  t.true(await ping(lab, hosts.a, '10.79.0.3'));
  t.true((await agent.port('pc')).counters.txPackets >= counted + 3, 'the counters went on from where they were');
});

test.serial('an interface deleted under the agent marks its port down; nothing crashes', async (t) => {
  await lab.ip(sw, 'link', 'del', 'pc');
  t.true(await eventually(async () => (await agent.port('pc')).state === 'down'));
  t.is((await agent.port('pc')).reason, 'interface vanished');
  t.true(await ping(lab, hosts.a, '10.79.0.2'), 'the remaining ports still forward');
});

test.serial('an interface of that name coming back is reopened, as when libvirt restarts a VM', async (t) => {
  await lab.veth(hosts.c, 'eth0', sw, 'pc');
  await lab.ip(hosts.c, 'link', 'set', 'eth0', 'address', '02:00:00:00:79:03'); // a VM keeps its MAC
  await lab.ip(hosts.c, 'addr', 'add', '10.79.0.3/24', 'dev', 'eth0');
  t.true(await eventually(async () => (await agent.port('pc')).state === 'up'));
  t.true(await ping(lab, hosts.a, '10.79.0.3'));
  await lab.ip(sw, 'link', 'del', 'pc');
  t.true(await eventually(async () => (await agent.port('pc')).state === 'down'));
  await agent.client.request('DELETE', '/ports/pc');
  t.deepEqual((await agent.ports()).map((p) => p.name), ['pa', 'pb']);
  t.notRegex(agent.log(), /"level":(50|60)/, 'no error was logged');
});

test.serial('a port that comes or goes re-decides its bridge\'s floods only: the flows between the other ports stay cached', async (t) => {
  const d = await lab.namespace('d');
  await lab.veth(d, 'eth0', sw, 'pd');
  t.true(await ping(lab, hosts.a, '10.79.0.2'));
  const betweenStations = async () => ((await agent.client.request('GET', '/flows')) as { match: string; tags: string[] }[])
    .filter((f) => f.tags.some((tag) => tag.startsWith('mac:')) && !f.tags.includes('flood:local')).map((f) => f.match);
  const cached = await betweenStations();
  t.true(cached.length >= 2, `the ping's flows both ways: ${JSON.stringify(cached)}`);
  const gone = async () => {
    const now = await betweenStations();
    return cached.filter((m) => !now.includes(m));
  };
  await agent.client.request('POST', '/ports', { name: 'pd', kind: 'packet' });
  t.deepEqual(await gone(), [], 'a port added');
  await agent.client.request('DELETE', '/ports/pd');
  t.deepEqual(await gone(), [], 'a port removed');
  t.true(await ping(lab, hosts.a, '10.79.0.2'));
});
