// What every TopologyStore must do, run against each implementation.
import test, { ExecutionContext } from 'ava';
import { EMPTY, newId, Port, StoreConflict, StoreEvent, TopologyStore } from '../../src/topology';

export const port = (fields: Partial<Port> = {}): Port => ({ id: newId(), tenant: 't1', ...EMPTY.port, ...fields });

async function until(check: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
}

export function storeContract(name: string, open: (t: ExecutionContext) => Promise<TopologyStore>): void {
  test(`${name}: put, get, list and delete, with growing versions`, async (t) => {
    const store = await open(t);
    const a = port({ name: 'a', addresses: ['10.0.0.1/24'], vlan: 7, trunk: true });
    const first = await store.put('port', a);
    t.deepEqual((await store.get('port', a.id))?.value, a, 'every field comes back, defaults included');
    const second = await store.put('port', { ...a, name: 'b' });
    t.true(second.version > first.version);
    t.is((await store.get('port', a.id))?.version, second.version);
    t.true((await store.list('port')).some((p) => p.value.id === a.id));
    t.deepEqual(await store.list('bridge'), []);
    t.true(await store.delete('port', a.id));
    t.false(await store.delete('port', a.id));
    t.is(await store.get('port', a.id), undefined);
    t.true((await store.snapshot()).revision >= second.version);
  });

  test(`${name}: compare-and-set refuses a stale version and changes nothing`, async (t) => {
    const store = await open(t);
    const a = port({ name: 'a' });
    const first = await store.put('port', a, 0);
    await t.throwsAsync(store.put('port', a, 0), { instanceOf: StoreConflict }, 'create-only on an existing object');
    const second = await store.put('port', { ...a, name: 'b' }, first.version);
    const stale = await t.throwsAsync(store.put('port', { ...a, name: 'c' }, first.version), { instanceOf: StoreConflict });
    t.is(stale?.actual, second.version);
    await t.throwsAsync(store.delete('port', a.id, first.version), { instanceOf: StoreConflict });
    t.is((await store.get('port', a.id))?.value.name, 'b');
    t.true(await store.delete('port', a.id, second.version));
  });

  test(`${name}: a watch replays from a revision, then follows; deletes carry what was deleted`, async (t) => {
    const store = await open(t);
    const a = port({ name: 'a' });
    const start = await store.put('port', a);
    await store.put('port', { ...a, name: 'x' });
    const seen: StoreEvent[] = [];
    const stop = store.watch(start.version, (e) => seen.push(e));
    await store.delete('port', a.id);
    t.true(await until(() => seen.length >= 2), 'the put after the start revision and the delete');
    stop();
    await new Promise((r) => setTimeout(r, 100));
    await store.put('port', a);
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(seen.map((e) => e.type), ['put', 'delete']);
    const deleted = seen[1] as Extract<StoreEvent, { type: 'delete' }>;
    t.is(deleted.id, a.id);
    t.is(deleted.previous.value.id, a.id);
    t.is((deleted.previous.value as Port).name, 'x');
  });
}
