import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { EmbeddedStore, StoreCompacted } from '../../src/topology';
import { port, storeContract } from '../helpers/store-contract';

/** A directory for one test's store, removed when the test ends. */
function directory(t: { teardown: (f: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
storeContract('embedded', async (t) => {
  const store = EmbeddedStore.open(directory(t));
  t.teardown(() => store.close());
  return store;
});

test('what was committed is there after a reopen, deletions included', async (t) => {
  const dir = directory(t);
  const store = EmbeddedStore.open(dir);
  const a = port({ name: 'a', addresses: ['10.0.0.1/24'], vlan: 7 });
  const b = port({ name: 'b' });
  await store.put('port', a);
  await store.put('port', b);
  await store.delete('port', b.id);
  await store.close();
  const again = EmbeddedStore.open(dir);
  const read = await again.get('port', a.id);
  t.deepEqual(read?.value, a);
  t.is(read?.version, 1);
  t.is(await again.get('port', b.id), undefined);
  t.is((await again.snapshot()).revision, 3);
  await again.close();
});

test('a torn last record (a crash mid-write) leaves the last committed state, and writing goes on', async (t) => {
  const dir = directory(t);
  const store = EmbeddedStore.open(dir);
  const a = port({ name: 'a' });
  await store.put('port', a);
  await store.put('port', { ...a, name: 'renamed' });
  await store.close();
  const log = path.join(dir, 'topology.log');
  const bytes = fs.readFileSync(log);
  fs.writeFileSync(log, bytes.subarray(0, bytes.length - 3));
  const again = EmbeddedStore.open(dir);
  t.is((await again.get('port', a.id))?.value.name, 'a');
  await again.put('port', { ...a, name: 'later' });
  await again.close();
  const third = EmbeddedStore.open(dir);
  t.is((await third.get('port', a.id))?.value.name, 'later');
  await third.close();
});

test('a corrupted record is not replayed', async (t) => {
  const dir = directory(t);
  const store = EmbeddedStore.open(dir);
  const a = port({ name: 'a' });
  await store.put('port', a);
  await store.put('port', { ...a, name: 'b' });
  await store.close();
  const log = path.join(dir, 'topology.log');
  const bytes = fs.readFileSync(log);
  bytes[bytes.length - 2] ^= 0xff;
  fs.writeFileSync(log, bytes);
  const again = EmbeddedStore.open(dir);
  t.is((await again.get('port', a.id))?.value.name, 'a');
  await again.close();
});

test('the log folds into a snapshot and nothing is lost', async (t) => {
  const dir = directory(t);
  const store = EmbeddedStore.open(dir);
  const a = port({ name: 'a' });
  for (let i = 0; i < 5000; i++) await store.put('port', { ...a, name: `n${i}` });
  await store.close();
  t.true(fs.existsSync(path.join(dir, 'topology.snapshot')));
  t.true(fs.statSync(path.join(dir, 'topology.log')).size < 100_000);
  const again = EmbeddedStore.open(dir);
  t.is((await again.get('port', a.id))?.value.name, 'n4999');
  t.is((await again.snapshot()).revision, 5000);
  await again.close();
});

test('a watch from before what is kept in memory is told to start from a snapshot', async (t) => {
  const dir = directory(t);
  const store = EmbeddedStore.open(dir);
  await store.put('port', port());
  await store.put('port', port());
  await store.close();
  const again = EmbeddedStore.open(dir);
  t.throws(() => again.watch(0, () => {}), { instanceOf: StoreCompacted });
  t.notThrows(() => again.watch(2, () => {}));
  await again.close();
});
