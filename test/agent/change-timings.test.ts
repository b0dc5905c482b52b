// What a topology change cost the switch's thread: its CPU time per change, which the time
// the thread spends off the CPU (other processes of a busy machine) does not inflate.
import test from 'ava';
import { ChangeTimings } from '../../src/agent/change-timings';

test('a batch counts its changes; CPU time per change leaves out the time the thread did not run', (t) => {
  const timings = new ChangeTimings();
  t.deepEqual(timings.summary(), { applied: 0, batches: 0, cpuP50Ms: 0, cpuP99Ms: 0, wallP99Ms: 0 });
  const asleep = new Int32Array(new SharedArrayBuffer(4));
  timings.time(4, () => Atomics.wait(asleep, 0, 0, 40)); // off the CPU for 40 ms
  const summary = timings.summary();
  t.is(summary.applied, 4);
  t.is(summary.batches, 1);
  t.true(summary.wallP99Ms >= 40 / 4, `wall per change: ${summary.wallP99Ms} ms`);
  t.true(summary.cpuP99Ms < summary.wallP99Ms / 2, `CPU per change: ${summary.cpuP99Ms} ms`);
});
