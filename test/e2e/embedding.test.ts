// The embedding example (examples/embed.ts) run as a user would: a program of its own that
// creates the switch, attaches interfaces, forwards traffic and closes on SIGINT.
import path from 'node:path';
import test from 'ava';
import { eventually, Lab, ping, twoHostsAndSwitch } from '../../examples/lab';

const lab = new Lab();
test.after.always(() => lab.cleanup());

test('a program embedding the switch forwards between the interfaces it attached', async (t) => {
  const { sw, a } = await twoHostsAndSwitch(lab, '10.81.0');
  const program = lab.spawn(sw, process.execPath, [path.join(__dirname, '..', '..', 'examples', 'embed.js'), 'pa', 'pb']);
  let output = '';
  program.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  program.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  t.true(await eventually(async () => output.includes('attached pb as port 2')), output);
  t.true(await ping(lab, a, '10.81.0.2'));
  t.true(await eventually(async () => /\d+ flows, [1-9]\d* hits/.test(output)), output);
  const exited = new Promise((resolve) => program.once('exit', resolve));
  program.kill('SIGINT');
  await exited;
  t.regex(output, /switch closed/);
});
