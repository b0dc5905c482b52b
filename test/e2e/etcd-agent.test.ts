// An agent on etcd: the topology made through its API lives in etcd; with etcd stopped for 30 s
// under traffic, established flows keep forwarding and nothing crashes; once etcd is back, new
// changes apply.
import test from 'ava';
import { eventually, Lab, ping, routedHost, startAgent, startEtcd, tenantNetwork } from '../../examples/lab';
import { ControlError } from '../../src/cli/client';

test('an agent on etcd: forwards through an etcd outage, and applies changes once it is back', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  await routedHost(lab, sw, 'h3', 't3', '10.0.3.5');
  const etcd = await startEtcd(lab, { ns: sw });
  const agent = await startAgent(lab, sw, ['--store', 'etcd://127.0.0.1:2379']);
  const net = await tenantNetwork(agent.api, 'acme', [{ gateway: ['10.0.1.1/24'], interfaces: ['t1'] }, { gateway: ['10.0.2.1/24'], interfaces: ['t2'] }]);
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1)), 'routed through a topology kept in etcd');

  process.kill(etcd.pid, 'SIGTERM');
  const outage = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  // 30 s without etcd, pinging all along: every echo must come back.
  const { stdout } = await lab.exec(h1, 'ping', ['-c', '31', '-i', '1', '-W', '5', '10.0.2.5'], 60_000);
  t.regex(stdout, /31 packets transmitted, 31 received/, 'established flows keep forwarding while etcd is down');
  const refused = await agent.api.request('POST', '/v1/bridges', { name: 'during' }).then(() => null, (e: ControlError) => e);
  t.is(refused?.status, 503, 'a change while etcd is down is refused, not pretended');
  t.is(refused?.code, 'STORE_UNAVAILABLE');
  t.truthy(await agent.stats(), 'the agent still answers');
  t.true(Date.now() - outage >= 30_000, 'etcd was away for 30 s');

  await startEtcd(lab, { ns: sw, dataDir: etcd.dataDir });
  let bridge: { id: string } | undefined;
  // The client waits out its circuit breaker (5 s) before it tries etcd again.
  t.true(await eventually(async () => (bridge = await net.api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net3' }).catch(() => undefined)) !== undefined));
  const gateway = await net.api.request<{ id: string }>('POST', '/v1/ports', { device: net.router, addresses: ['10.0.3.1/24'] });
  await net.api.request('POST', '/v1/ports', { device: bridge!.id, peer: gateway.id });
  const vm = await net.api.request<{ id: string }>('POST', '/v1/ports', { device: bridge!.id });
  await agent.api.request('POST', '/v1/bindings', { port: vm.id, interface: 't3' });
  t.true(await eventually(() => ping(lab, h1, '10.0.3.5', 1)), 'a subnet added after the outage is routed');
  t.true((await net.api.request<unknown[]>('GET', '/v1/bridges')).length === 3, 'nothing made before the outage was lost');
});
