// The `vswitch` command as a user runs it: exit codes and what it says.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { eventually, VSWITCH } from '../../examples/lab';

function vswitch(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VSWITCH, ...args], (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }));
  });
}

test('an unknown option is refused, with the options the command takes', async (t) => {
  const { code, stderr } = await vswitch('port', 'add', 'vnet0', '--kin', 'tap');
  t.is(code, 2);
  t.regex(stderr, /unknown option --kin for 'port add' \(it takes .*--kind/);
});

test('no agent on the socket: a sentence that says how to start one', async (t) => {
  const { code, stderr } = await vswitch('--socket', '/tmp/no-such-vswitch.sock', 'port', 'list');
  t.is(code, 1);
  t.regex(stderr, /no agent answers on \/tmp\/no-such-vswitch\.sock \(start one with: vswitch agent/);
});

test('an agent with a bad setting does not start', async (t) => {
  const { code, stderr } = await vswitch('agent', '--datapath-workers', '0', '--socket', '/tmp/no-such-vswitch.sock');
  t.is(code, 1);
  t.regex(stderr, /datapathWorkers must be a whole number from 1 to 64/);
});

test('a receive ring of a size the kernel cannot map is refused before the agent starts', async (t) => {
  for (const [slots, said] of [['32', /ringSlots must be a whole number from 64 to 65536/], ['1001', /ringSlots must be even/]] as const) {
    const { code, stderr } = await vswitch('agent', '--ring-slots', slots, '--socket', '/tmp/no-such-vswitch.sock');
    t.is(code, 1);
    t.regex(stderr, said);
  }
});

test('no command prints the usage', async (t) => {
  const { code, stdout } = await vswitch();
  t.is(code, 2);
  t.regex(stdout, /usage: vswitch/);
});

test('a second agent on the same socket is refused; the first keeps its socket', async (t) => {
  const socket = `/tmp/vswitch-twice-${process.pid}.sock`;
  const { spawn } = await import('node:child_process');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-twice-'));
  const first = spawn(process.execPath, [VSWITCH, 'agent', '--socket', socket, '--log-level', 'warn', '--state-dir', stateDir, '--api', 'off'], { stdio: 'ignore' });
  t.teardown(() => {
    first.kill('SIGTERM');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  t.true(await eventually(async () => (await vswitch('--socket', socket, 'stats')).code === 0), 'the first agent answers');
  const second = await vswitch('agent', '--socket', socket, '--state-dir', stateDir, '--api', 'off');
  t.is(second.code, 1);
  t.regex(second.stderr, /another agent answers on .* \(stop it first, or give this one --socket\)/);
  t.is((await vswitch('--socket', socket, 'stats')).code, 0, 'the first still answers');
});

test('bash completion, made from the help and the options table: commands, subcommands and each command\'s options', async (t) => {
  const { code, stdout } = await vswitch('completion', 'bash');
  t.is(code, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-completion-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'vswitch.bash');
  fs.writeFileSync(script, stdout);
  const complete = (...words: string[]) => new Promise<string>((resolve, reject) => {
    const line = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _vswitch; echo "\${COMPREPLY[*]}"`;
    execFile('bash', ['-c', line], (error, out) => (error ? reject(error) : resolve(out.trim())));
  });
  t.is(await complete('vswitch', 'cap'), 'capture');
  t.is(await complete('vswitch', 'flows', ''), 'flush');
  t.is(await complete('vswitch', 'migration', 'c'), 'commit');
  t.is(await complete('vswitch', 'bridge', 'create', 'net1', '--v'), '--vlan-aware');
  t.is(await complete('vswitch', 'capture', 'vm1', '--dr'), '--drops');
  t.is(await complete('vswitch', 'agent', '--conf'), '--config');
  t.is(await complete('vswitch', 'stats', '--js'), '--json', 'the global options everywhere');
});
