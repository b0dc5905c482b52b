import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readAgentConfig, SwitchError, validateAgentConfig } from '../../src/agent';
import { reloaded, reloadPlan } from '../../src/agent/config-reload';

test('a good config passes', (t) => {
  t.notThrows(() => validateAgentConfig({ socket: '/tmp/s.sock', logLevel: 'warn', ports: [{ name: 'vnet0', kind: 'packet' }], datapathWorkers: 2, flowCapacity: 1024 }));
});

for (const [title, config, field] of [
  ['an unknown setting', { colour: 'blue' }, 'colour'],
  ['a number that is not whole', { flowIdleMs: 1.5 }, 'flowIdleMs'],
  ['no datapath worker', { datapathWorkers: 0 }, 'datapathWorkers'],
  ['a number given as text', { simulationThreads: 'two' }, 'simulationThreads'],
  ['an unknown log level', { logLevel: 'loud' }, 'logLevel'],
  ['ports that are not a list', { ports: { name: 'vnet0' } }, 'ports'],
  ['an HTTPS certificate without its key', { apiTlsCert: '/etc/c.pem' }, 'apiTlsKey'],
  ['etcd over TLS without the CA of its certificate', { store: 'etcds://10.0.0.1:2379' }, 'etcdCa'],
  ['a client certificate for a plain etcd', { store: 'etcd://10.0.0.1:2379', etcdCa: '/etc/ca.pem', etcdCert: '/c', etcdKey: '/k' }, 'store'],
  ['an etcd client key without its certificate', { store: 'etcds://10.0.0.1:2379', etcdCa: '/etc/ca.pem', etcdKey: '/k' }, 'etcdCert'],
] as [string, object, string][]) {
  test(`refused: ${title}, naming the setting`, (t) => {
    const error = t.throws(() => validateAgentConfig(config as never), { instanceOf: SwitchError });
    t.is(error?.field, field);
  });
}

test('a config file that is not a JSON object says so', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  fs.writeFileSync(path.join(dir, 'a.json'), '[1]');
  fs.writeFileSync(path.join(dir, 'b.json'), '{"ports": [');
  t.throws(() => readAgentConfig(path.join(dir, 'a.json')), { message: /must hold a JSON object/ });
  t.throws(() => readAgentConfig(path.join(dir, 'b.json')), { message: /is not valid JSON/ });
  t.throws(() => readAgentConfig(path.join(dir, 'missing.json')), { message: /cannot read config file/ });
});

test('a reload applies the log level, ports and the API certificate; the rest waits for a restart, and keeps saying so', (t) => {
  const running = { logLevel: 'info', ports: [{ name: 'pa', kind: 'packet' as const }], store: 'embedded', conntrackSize: 1024 };
  const next = { logLevel: 'debug', ports: [], store: 'etcd://10.0.0.1:2379', apiTlsCert: 'c.pem', apiTlsKey: 'k.pem', conntrackSize: 1024 };
  t.deepEqual(reloadPlan(running, next), { applied: ['logLevel', 'ports', 'apiTlsCert', 'apiTlsKey'], needRestart: ['store'] });
  const now = reloaded(running, next);
  t.like(now, { logLevel: 'debug', ports: [], store: 'embedded', apiTlsCert: 'c.pem' });
  t.deepEqual(reloadPlan(now, next).needRestart, ['store'], 'still waiting for the restart');
  t.false('logLevel' in reloaded(running, { ...next, logLevel: undefined }), 'a setting the file no longer has goes back to its default');
});
