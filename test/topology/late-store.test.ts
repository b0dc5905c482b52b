// A store built on before it is open (the tenant API, readied while the agent taken over from
// still holds the store): a call before it is given the store is refused as the store being
// unavailable, and after, every call goes to the store it was given.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedStore, LateStore, StoreUnavailable } from '../../src/topology';

test('a late store refuses calls until it is given its store, then is that store', async (t) => {
  const late = new LateStore();
  t.throws(() => late.list('tenant'), { instanceOf: StoreUnavailable });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'late-store-'));
  const store = EmbeddedStore.open(path.join(dir, 'topology'));
  t.teardown(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  late.open(store);
  const put = await late.put('tenant', { id: 't1', tenant: 't1', name: 'one', tokenSha256: '' });
  t.deepEqual(await store.get('tenant', 't1'), put, 'written to the store it was given');
  t.deepEqual((await late.list('tenant')).map((o) => o.value.id), ['t1']);
  await late.close();
  await t.notThrowsAsync(store.put('tenant', { id: 't2', tenant: 't2', name: 'two', tokenSha256: '' }), 'closing it leaves that store open: its opener closes it');
});
