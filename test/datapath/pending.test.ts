import test from 'ava';
import { PendingFlows } from '../../src/datapath';
import { KEY_WORDS } from '../../src/flow';

/** The key of flow `n`, from port `port` (in_port is the first word's high half). */
function keyOf(n: number, port = n): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[0] = (port << 16) | n;
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

test('a port that sprays new flows takes at most a quarter of the queue once it is half full: the other ports\' upcalls find room', (t) => {
  const pending = new PendingFlows(4, 64);
  const arena = new Uint8Array(4);
  let flooded = 0;
  for (let n = 1; n <= 64; n++) if (pending.add(keyOf(n, 1), 0, n, arena, 0, 4)) flooded++;
  t.is(flooded, 32, 'port 1 queues up to half the queue, the quarter it may hold being reached');
  for (let n = 1; n <= 16; n++) t.true(pending.add(keyOf(100 + n, 2), 0, 100 + n, arena, 0, 4), `port 2's flow ${n}`);
  t.false(pending.add(keyOf(200, 1), 0, 200, arena, 0, 4), 'port 1 still may not');
  for (const flow of pending.complete(pending.takeBatch(0)!.batch)) t.truthy(flow);
  t.is(pending.queuedFrames, 0);
  t.true(pending.add(keyOf(300, 1), 0, 300, arena, 0, 4), 'answered, port 1 queues again');
});
