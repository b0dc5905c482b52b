// The embedding API in-process: its errors, and its recovery from a datapath worker that dies.
import test from 'ava';
import type { Worker } from 'node:worker_threads';
import { Switch, SwitchError, SwitchOptions } from '../../src';
import { perThreadSlices } from '../helpers/kernel';

test('addPort and removePort refuse bad input with a code, a status and the field', async (t) => {
  const sw = Switch.create();
  t.teardown(() => sw.close());
  const missing = t.throws(() => sw.addPort({ name: 'nosuch0', kind: 'packet' }), { instanceOf: SwitchError });
  t.is(missing?.code, 'NO_SUCH_INTERFACE');
  t.is(missing?.status, 404);
  t.regex(missing?.message ?? '', /interface nosuch0 does not exist/);
  t.is(t.throws(() => sw.addPort({ name: 'x', kind: 'nic' as never }))?.message.includes("'tap'"), true);
  t.is((t.throws(() => sw.addPort({ name: 'x', kind: 'packet', vlan: 0 })) as SwitchError).field, 'vlan');
  t.is((await t.throwsAsync(sw.removePort('nosuch0')) as SwitchError).code, 'NO_SUCH_PORT');
  t.deepEqual(sw.listPorts(), []);
});

test('a closed switch says so', async (t) => {
  const sw = Switch.create();
  await sw.close();
  await sw.close();
  t.is((t.throws(() => sw.addPort({ name: 'x', kind: 'packet' })) as SwitchError).code, 'CLOSED');
});

test('a datapath worker that dies is restarted, and what it owed is answered', async (t) => {
  const sw = Switch.create();
  t.teardown(() => sw.close());
  const restarted = new Promise((resolve) => sw.once('worker-restarted', resolve));
  // Reach the thread as a bug would: the switch keeps its workers to itself.
  const threads = (sw as unknown as { workers: { threads: { worker: Worker }[] } }).workers.threads;
  const inFlight = sw.dumpFlows();
  await threads[0].worker.terminate();
  t.deepEqual(await inFlight, [], 'the request in flight is answered, not left hanging');
  await restarted;
  t.deepEqual(await sw.dumpFlows(), [], 'the new worker answers');
  t.is(await sw.flushFlows(), 0);
});

test('a datapath worker whose loop throws (a bug) ends and is restarted: the error is not swallowed', async (t) => {
  const sw = Switch.create();
  t.teardown(() => sw.close());
  const restarted = new Promise((resolve) => sw.once('worker-restarted', resolve));
  const threads = (sw as unknown as { workers: { threads: { post(message: unknown): void }[] } }).workers.threads;
  threads[0].post({ type: 'transmit', frames: null }); // a message no sound agent sends
  await restarted;
  t.deepEqual(await sw.dumpFlows(), [], 'the new worker answers');
  t.is(sw.stats().drops.workerFailed, 0, 'nothing waited in it');
});

test('each datapath worker asks the scheduler for a short slice, and one that busy-polls keeps the kernel\'s', async (t) => {
  const slices = async (options: SwitchOptions) => {
    const sw = Switch.create(options);
    t.teardown(() => sw.close());
    await sw.dumpFlows(); // every worker has answered, so each has asked for its slice before
    return sw.stats().latency.slicesUs;
  };
  const sleeping = await slices({ datapathWorkers: 2 });
  const polling = await slices({ busyPollUs: 3000 });
  const chosen = await slices({ busyPollUs: 3000, sliceUs: 2000 });
  if (!perThreadSlices) {
    t.deepEqual([...sleeping, ...polling, ...chosen], [0, 0, 0, 0], 'this kernel keeps no slice per thread');
    return;
  }
  t.deepEqual(sleeping, [100, 100]);
  t.true(polling[0] > 100, `the kernel's default: ${polling[0]} µs`);
  t.deepEqual(chosen, [2000]);
});
