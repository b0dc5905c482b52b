// A thread's slice under the kernel's fair scheduler, as a datapath worker asks for it: what the
// kernel then reports (Linux 6.12 and later keep one per thread; before, none), held to the
// kernel's bounds, with the thread's nice value kept.
import os from 'node:os';
import test from 'ava';
import { native } from '../../src/datapath';
import { perThreadSlices } from '../helpers/kernel';

test('a thread gets the slice it asks for, within the kernel\'s bounds, its nice value kept', (t) => {
  if (!perThreadSlices) {
    t.is(native.setThreadSlice(100), 0, 'this kernel keeps no slice per thread');
    return;
  }
  const nice = os.getPriority();
  os.setPriority(nice + 1); // this thread's only (setpriority on Linux)
  t.teardown(() => os.setPriority(nice));
  t.is(native.setThreadSlice(100), 100);
  t.is(os.getPriority(), nice + 1, 'the thread\'s nice value is kept');
  t.is(native.setThreadSlice(5000), 5000);
  t.is(native.setThreadSlice(0), 5000, '0 leaves the slice as it is');
  t.is(native.setThreadSlice(20), 100, 'the kernel\'s shortest is 100 µs');
});
