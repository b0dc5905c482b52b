// Interned action programs are held by the flows that use them and forgotten when none does:
// with a program per connection (NAT), the table stays as large as the flow cache, not as the
// number of connections ever seen.
import test from 'ava';
import { Action, ActionTable, FlowCache, KEY_WORDS } from '../../src/flow';

const keyOf = (n: number) => Uint32Array.from({ length: KEY_WORDS }, (_, i) => (i === 0 ? n : 0));
const translated = (port: number): Action[] => [{ type: 'set_l4_port', field: 'source', port }, { type: 'output', port: 1 }];

test('a program per flow: 10,000 flows through a cache of 100 leave at most 100 programs, and ids are used again', (t) => {
  const table = new ActionTable();
  const cache = new FlowCache({ capacity: 100, idleTimeoutMs: 1000, programs: table });
  let highest = 0;
  for (let n = 0; n < 10_000; n++) {
    const id = table.intern(translated(1024 + n));
    cache.insert(keyOf(n), 0, n, id, ['port:1'], 0);
    table.release(id);
    highest = Math.max(highest, id);
  }
  t.is(cache.size, 100);
  t.is(table.size, 100, 'one program per cached flow');
  t.true(highest <= 100, `ids used again: the highest was ${highest}`);
  t.is(cache.invalidate('port:1'), 100);
  t.is(table.size, 0, 'no flow, no program');
});

test('a program stays while any flow or caller holds it, even one whose last flow is evicted before it is installed again', (t) => {
  const table = new ActionTable();
  const cache = new FlowCache({ capacity: 1, idleTimeoutMs: 1000, programs: table });
  const shared = translated(2000);
  const first = table.intern(shared);
  cache.insert(keyOf(1), 0, 1, first, ['a'], 0);
  table.release(first);
  // The same program answered for a new flow: interned (held by this caller) before the cache,
  // full, evicts the only flow that held it.
  const again = table.intern(shared);
  t.is(again, first);
  cache.insert(keyOf(2), 0, 2, again, ['b'], 0);
  table.release(again);
  t.is(table.size, 1, 'kept: the new flow holds it');
  t.deepEqual(table.lists[again], shared);
  t.deepEqual([...table.programs[again]], [...table.programs[table.intern(shared)]], 'the same program, still known');
  const once = table.intern([{ type: 'output', port: 7 }]);
  table.release(once);
  t.is(table.size, 1, 'a program run once and released is forgotten');
});
