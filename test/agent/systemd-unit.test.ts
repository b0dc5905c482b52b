// The service unit and configuration in examples/systemd: systemd's own checker accepts the
// unit (with ExecStart at this checkout's bin/vswitch, where an installed host has
// /usr/local/bin/vswitch), and the agent accepts the configuration.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readAgentConfig, validateAgentConfig } from '../../src/agent';

const ROOT = path.join(__dirname, '..', '..', '..');
const UNIT = path.join(ROOT, 'examples', 'systemd', 'vswitch.service');

test('systemd-analyze verify accepts the unit: restarted always, its state, run and configuration directories, reloaded by SIGHUP', (t) => {
  const unit = fs.readFileSync(UNIT, 'utf8');
  for (const line of ['Restart=always', 'StateDirectory=vswitch', 'RuntimeDirectory=vswitch', 'ConfigurationDirectory=vswitch', 'ExecReload=/bin/kill -HUP $MAINPID', 'NoNewPrivileges=yes', 'ProtectSystem=strict']) {
    t.true(unit.split('\n').includes(line), line);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'vswitch.service');
  fs.writeFileSync(file, unit.replace('/usr/local/bin/vswitch', path.join(ROOT, 'bin', 'vswitch')));
  const run = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  t.falsy(run.error, 'systemd-analyze runs (.ci/run installs systemd)');
  t.is(`${run.stdout}${run.stderr}`, '', 'nothing to say');
  t.is(run.status, 0);
});

test('the example configuration is one the agent accepts', (t) => {
  const config = readAgentConfig(path.join(ROOT, 'examples', 'systemd', 'vswitch.conf'));
  t.notThrows(() => validateAgentConfig(config));
});
