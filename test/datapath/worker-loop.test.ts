// A datapath worker's own loop: a watched descriptor's readiness calls its reader with the time
// it was seen, timers run in order and a cancelled one not at all, a reader unwatched while its
// readiness is pending is not called, stop() ends the loop, and an error ends it too, after
// the worker has counted what it loses.
import test, { ExecutionContext } from 'ava';
import { native, WorkerLoop } from '../../src/datapath';

test('ready readers and due timers run in turn until stop', (t) => {
  const loop = new WorkerLoop(0);
  const [a, b] = [native.openEventFd(), native.openEventFd()];
  t.teardown(() => [a, b].forEach((fd) => native.close(fd)));
  const seen: string[] = [];
  const before = native.monotonicMs();
  let readyAt = NaN;
  loop.watch(a, (at) => {
    readyAt = at;
    native.clearEventFd(a);
    seen.push('a');
    loop.unwatch(watchB); // b is ready too, maybe in the same wait: it must not be called now
  });
  const watchB = loop.watch(b, () => seen.push('b'));
  native.signalEventFd(a);
  native.signalEventFd(b);
  loop.after(20, () => seen.push('second'));
  const cancelled = loop.after(10, () => seen.push('cancelled'));
  loop.cancel(cancelled);
  loop.after(5, () => seen.push('first'));
  loop.after(30, () => loop.stop());
  loop.start();
  t.deepEqual(seen, ['a', 'first', 'second']);
  t.true(readyAt >= before && readyAt <= native.monotonicMs(), 'readiness is stamped on the monotonic clock');
});

/** A loop that busy-polls for `spinUs` after traffic, woken once by an eventfd (a port's, or
 *  not `polled`: the agent's messages'), stopping at `stopMs`. */
function wokenOnce(t: ExecutionContext, spinUs: number, stopMs: number, polled = true): WorkerLoop {
  const loop = new WorkerLoop(spinUs);
  const fd = native.openEventFd();
  t.teardown(() => native.close(fd));
  loop.watch(fd, () => native.clearEventFd(fd), polled);
  native.signalEventFd(fd);
  loop.after(stopMs, () => loop.stop());
  return loop;
}

test('busy polling spins only for its window after a wake-up with work: with nothing more arriving the thread sleeps', (t) => {
  const loop = wokenOnce(t, 2000, 300);
  const cpuBefore = native.threadCpuMs();
  loop.start();
  const cpu = native.threadCpuMs() - cpuBefore;
  // One 2 ms spin after the wake-up, then asleep until the timer: far from 300 ms of spinning.
  t.true(cpu < 100, `${cpu.toFixed(1)} ms of CPU over 300 ms`);
});

test('a spin ends at the next timer: busy polling never holds a timer back', (t) => {
  const loop = wokenOnce(t, 10_000_000, 50); // a 10 s window
  const started = performance.now();
  loop.start();
  const ms = performance.now() - started;
  t.true(ms < 5000, `stopped after ${ms.toFixed(0)} ms, not at the window's end`);
});

test("the agent's messages wake the loop without starting a spin: only a port's traffic does", (t) => {
  const loop = wokenOnce(t, 10_000_000, 300, false);
  const cpuBefore = native.threadCpuMs();
  loop.start();
  const cpu = native.threadCpuMs() - cpuBefore;
  t.true(cpu < 100, `${cpu.toFixed(1)} ms of CPU over 300 ms`);
});

test('an error a timer or a reader throws (a bug) ends the loop after `failed` has run, and goes on up', (t) => {
  const loop = new WorkerLoop(0);
  const bug = new Error('a bug');
  loop.after(1, () => {
    throw bug;
  });
  let failed = 0;
  t.is(t.throws(() => loop.start(() => failed++)), bug);
  t.is(failed, 1);
});
