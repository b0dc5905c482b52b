import test from 'ava';
import { PendingFlows } from '../../src/datapath';
import { KEY_WORDS } from '../../src/flow';

function keyOf(n: number): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[0] = n;
  return k;
}

test('frames of one flow wait behind one upcall and come back in order', (t) => {
  const pending = new PendingFlows(8, 100);
  const arena = new Uint8Array(16);
  for (let i = 0; i < 3; i++) {
    arena[0] = i;
    t.true(pending.add(keyOf(1), 0, 7, arena, 0, 4));
  }
  const batch = pending.takeBatch(0)!;
  t.is(batch.keys.length, KEY_WORDS, 'one upcall for the flow');
  t.is(pending.takeBatch(0), null);
  const [flow] = pending.complete(batch.batch);
  t.deepEqual(flow.frames.map((f) => f[0]), [0, 1, 2]);
  t.is(pending.queuedFrames, 0);
});

test('the queue is bounded per flow and in all', (t) => {
  const pending = new PendingFlows(2, 3);
  const arena = new Uint8Array(4);
  t.true(pending.add(keyOf(1), 0, 1, arena, 0, 4));
  t.true(pending.add(keyOf(1), 0, 1, arena, 0, 4));
  t.false(pending.add(keyOf(1), 0, 1, arena, 0, 4), 'over the per-flow bound');
  t.true(pending.add(keyOf(2), 0, 1, arena, 0, 4), 'same hash, other key: its own flow');
  t.false(pending.add(keyOf(3), 0, 3, arena, 0, 4), 'over the total bound');
});

test('unanswered batches are reported overdue', (t) => {
  const pending = new PendingFlows(2, 10);
  pending.add(keyOf(1), 0, 1, new Uint8Array(4), 0, 4);
  const batch = pending.takeBatch(1000)!;
  t.deepEqual(pending.overdue(1500, 1000), []);
  t.deepEqual(pending.overdue(2500, 1000), [batch.batch]);
});
