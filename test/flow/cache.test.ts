import test from 'ava';
import { FlowCache, hashKey, KEY_WORDS } from '../../src/flow';

function key(n: number): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[0] = n;
  k[13] = n * 7919;
  return k;
}

test('insert, lookup, remove', (t) => {
  const cache = new FlowCache({ capacity: 8, idleTimeoutMs: 1000 });
  const k = key(1);
  t.is(cache.lookup(k, 0, hashKey(k, 0)), -1);
  const id = cache.insert(k, 0, hashKey(k, 0), 5, ['port:1'], 0);
  t.is(cache.lookup(k, 0, hashKey(k, 0)), id);
  t.is(cache.actions[id], 5);
  t.deepEqual(cache.stats.hits, 1);
  t.deepEqual(cache.stats.misses, 1);
  cache.remove(id);
  t.is(cache.lookup(k, 0, hashKey(k, 0)), -1);
  t.is(cache.size, 0);
});

test('colliding hashes are told apart by the key; deletion keeps probe runs intact', (t) => {
  const cache = new FlowCache({ capacity: 64, idleTimeoutMs: 1000 });
  const ids = new Map<number, number>();
  for (let n = 0; n < 64; n++) ids.set(n, cache.insert(key(n), 0, 42, n, [], 0));
  for (let n = 0; n < 64; n += 2) cache.remove(ids.get(n)!);
  for (let n = 0; n < 64; n++) t.is(cache.lookup(key(n), 0, 42), n % 2 ? ids.get(n)! : -1);
});

test('random inserts and removes agree with a Map', (t) => {
  const cache = new FlowCache({ capacity: 512, idleTimeoutMs: 1000 });
  const model = new Map<number, number>();
  let seed = 1;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 1000;
  for (let step = 0; step < 20000; step++) {
    const n = rand();
    const k = key(n);
    const h = hashKey(k, 0) & 0xff; // few distinct hashes: long probe runs
    if (model.has(n)) {
      cache.remove(model.get(n)!);
      model.delete(n);
    } else if (model.size < 512) {
      model.set(n, cache.insert(k, 0, h, 0, [], 0));
    }
  }
  for (let n = 0; n < 1000; n++) {
    const k = key(n);
    t.is(cache.lookup(k, 0, hashKey(k, 0) & 0xff), model.get(n) ?? -1);
  }
  t.is(cache.size, model.size);
});

test('when full, the least recently used of the candidates is evicted', (t) => {
  const cache = new FlowCache({ capacity: 4, idleTimeoutMs: 1000 });
  for (let n = 0; n < 4; n++) cache.insert(key(n), 0, hashKey(key(n), 0), 0, [], n === 2 ? 1 : 10);
  cache.insert(key(9), 0, hashKey(key(9), 0), 0, [], 20);
  t.is(cache.size, 4);
  t.is(cache.stats.evictions, 1);
  t.is(cache.lookup(key(2), 0, hashKey(key(2), 0)), -1);
  t.not(cache.lookup(key(9), 0, hashKey(key(9), 0)), -1);
});

test('idle flows expire; used ones stay', (t) => {
  const cache = new FlowCache({ capacity: 8, idleTimeoutMs: 100 });
  const idle = cache.insert(key(1), 0, hashKey(key(1), 0), 0, [], 0);
  const busy = cache.insert(key(2), 0, hashKey(key(2), 0), 0, [], 0);
  cache.lastUsed[busy] = 150;
  t.is(cache.expire(200, 8), 1);
  t.is(cache.actions[idle], -1);
  t.not(cache.actions[busy], -1);
});

test('invalidating a tag removes exactly the flows carrying it', (t) => {
  const cache = new FlowCache({ capacity: 16, idleTimeoutMs: 1000 });
  const a = cache.insert(key(1), 0, hashKey(key(1), 0), 0, ['mac:1', 'port:1'], 0);
  const b = cache.insert(key(2), 0, hashKey(key(2), 0), 0, ['port:1', 'mac:1'], 0);
  const c = cache.insert(key(3), 0, hashKey(key(3), 0), 0, ['mac:2', 'port:1'], 0);
  t.is(cache.tagSets.size, 2, 'equal tag lists share one set');
  t.is(cache.invalidate('mac:1'), 2);
  t.is(cache.actions[a], -1);
  t.is(cache.actions[b], -1);
  t.not(cache.actions[c], -1);
  t.is(cache.tagSets.size, 1, 'an empty set is released');
  t.is(cache.invalidate('port:1'), 1);
  t.is(cache.size, 0);
  t.is(cache.invalidate('port:1'), 0);
});

test('a flow costs at most 200 bytes of typed arrays', (t) => {
  const cache = new FlowCache({ capacity: 1 << 16, idleTimeoutMs: 1000 });
  t.true(cache.bytesPerFlow <= 200, `${cache.bytesPerFlow} B/flow`);
});

test('lookupBatch agrees with lookup, hits and misses alike', (t) => {
  const cache = new FlowCache({ capacity: 64, idleTimeoutMs: 1000 });
  const keys = new Uint32Array(8 * KEY_WORDS);
  const hashes = new Uint32Array(8);
  for (let i = 0; i < 8; i++) {
    keys.set(key(i), i * KEY_WORDS);
    hashes[i] = i < 4 ? 7 : hashKey(keys, i * KEY_WORDS); // four share one home slot
    if (i % 2 === 0) cache.insert(keys, i * KEY_WORDS, hashes[i], i, [], 0);
  }
  const ids = new Int32Array(8);
  cache.lookupBatch(keys, 8, hashes, ids);
  for (let i = 0; i < 8; i++) t.is(ids[i], cache.find(keys, i * KEY_WORDS, hashes[i]), `key ${i}`);
  t.deepEqual([...ids].map((id) => id >= 0), [true, false, true, false, true, false, true, false]);
  t.is(cache.stats.hits, 4);
  t.is(cache.stats.misses, 4);
});
