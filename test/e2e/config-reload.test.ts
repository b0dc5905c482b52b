// SIGHUP: the agent reads its config file again, attaches the ports the file added and detaches
// those it dropped, says in its log which changed settings wait for a restart, and keeps
// everything as it was when the file is not valid.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { eventually, Lab, startAgent } from '../../examples/lab';

test('SIGHUP: ports the file adds are attached and those it drops detached; a setting that needs a restart is said; a bad file changes nothing', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const other = await lab.namespace('other');
  for (const name of ['pa', 'pb']) await lab.veth(other, `${name}-peer`, sw, name);
  const file = path.join(lab.directory('etc'), 'vswitch.conf');
  const write = (config: object) => fs.writeFileSync(file, JSON.stringify(config));
  write({ ports: [{ name: 'pa', kind: 'packet' }] });
  const agent = await startAgent(lab, sw, ['--config', file]);
  const names = async () => (await agent.ports()).map((p) => p.name).sort();
  t.deepEqual(await names(), ['pa']);
  const said = (pattern: RegExp) => eventually(async () => pattern.test(agent.log()));

  write({ ports: [{ name: 'pa', kind: 'packet' }, { name: 'pb', kind: 'packet' }], conntrackSize: 4096 });
  process.kill(agent.pid, 'SIGHUP');
  t.true(await eventually(async () => (await names()).join() === 'pa,pb'), 'pb attached');
  t.true(await said(/"needRestart":\["conntrackSize"\].*take effect at the next restart/), 'conntrackSize waits for a restart, and the log says so');
  t.regex(agent.log(), /"applied":\["ports"\].*configuration reloaded/);

  write({ ports: [{ name: 'pb', kind: 'packet' }], conntrackSize: 4096 });
  process.kill(agent.pid, 'SIGHUP');
  t.true(await eventually(async () => (await names()).join() === 'pb'), 'pa detached');

  fs.writeFileSync(file, '{ "ports": [');
  process.kill(agent.pid, 'SIGHUP');
  t.true(await said(/reload: the configuration is not valid: nothing changed/));
  t.deepEqual(await names(), ['pb'], 'a bad file changes nothing, and the agent runs on');
  t.deepEqual(await agent.client.request('GET', '/health'), { ok: true });
});
