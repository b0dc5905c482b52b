// The etcd store against a real etcd (Debian's etcd-server) started for this file on loopback.
import test from 'ava';
import { Lab, RunningEtcd, startEtcd } from '../../examples/lab';
import { EtcdStore } from '../../src/topology';
import { port, storeContract } from '../helpers/store-contract';

const lab = new Lab();
let etcd: RunningEtcd;
let runs = 0;

test.before(async () => {
  etcd = await startEtcd(lab);
});
test.after.always(() => lab.cleanup());

// Each test has a prefix of its own: they run at once against the one etcd.
storeContract('etcd', async (t) => {
  const store = new EtcdStore(etcd.endpoint, `/test/${process.pid}/${++runs}/`);
  t.teardown(() => store.close());
  return store;
});

test('etcd: what one client writes, another reads and is told of', async (t) => {
  const prefix = `/test/${process.pid}/shared/`;
  const [a, b] = [new EtcdStore(etcd.endpoint, prefix), new EtcdStore(etcd.endpoint, prefix)];
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const from = (await b.snapshot()).revision;
  const seen: string[] = [];
  const stop = b.watch(from, (e) => seen.push(e.type));
  const p = port({ name: 'shared' });
  await a.put('port', p);
  t.is((await b.get('port', p.id))?.value.name, 'shared');
  const end = Date.now() + 3000;
  while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  stop();
  t.deepEqual(seen, ['put']);
});

test('etcd: an unreachable etcd is an error, not a hang', async (t) => {
  const store = new EtcdStore('http://127.0.0.1:1');
  t.teardown(() => store.close());
  await t.throwsAsync(store.get('port', 'x'));
});

test('etcd: a host is alive while its client renews its lease, and expires when the client is gone', async (t) => {
  const root = `/test/${process.pid}/liveness/`;
  const watcher = new EtcdStore(etcd.endpoint, root);
  t.teardown(() => watcher.close());
  const [leaving, dying] = [new EtcdStore(etcd.endpoint, root), new EtcdStore(etcd.endpoint, root)];
  const leave = await leaving.announce('h1', 2);
  await dying.announce('h2', 2);
  t.deepEqual([...(await watcher.liveHosts())].sort(), ['h1', 'h2']);
  await new Promise((r) => setTimeout(r, 2500));
  t.deepEqual([...(await watcher.liveHosts())].sort(), ['h1', 'h2'], 'renewed past the TTL');
  await leave();
  await leaving.close();
  t.deepEqual([...(await watcher.liveHosts())], ['h2'], 'a host that leaves is gone at once');
  await dying.close(); // as a killed agent: no more renewals
  const end = Date.now() + 6000;
  while ((await watcher.liveHosts()).size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  t.is((await watcher.liveHosts()).size, 0, 'a host whose agent died expires with its lease');
});

test('etcd: a topology larger than one gRPC message (4 MB) is read whole, at one revision', async (t) => {
  const store = new EtcdStore(etcd.endpoint, `/test/${process.pid}/large/`);
  t.teardown(() => store.close());
  const ports = Array.from({ length: 6000 }, (_, i) => port({ name: `${i}`.padEnd(800, '.') }));
  for (let i = 0; i < ports.length; i += 250) await Promise.all(ports.slice(i, i + 250).map((p) => store.put('port', p)));
  const snapshot = await store.snapshot();
  t.is(snapshot.objects.length, 6000, '5 MB of ports, in more than one page');
  t.true(snapshot.objects.every((o) => o.version <= snapshot.revision));
  t.deepEqual((await store.list('port')).map((o) => o.value.id).sort(), ports.map((p) => p.id).sort());
});
