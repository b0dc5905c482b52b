// Token buckets shared by datapath workers: a limit takes what its burst holds, a debt says
// how long it takes to pay back, and two views of the same memory (two workers) share one
// bucket.
import test from 'ava';
import { FLOW_UNITS, Meter, newPortMeterBuffers, PortMeters } from '../../src/datapath';

test('a port without limits is not metered; with one, the burst passes and then the rate', (t) => {
  const meters = new PortMeters(newPortMeterBuffers());
  t.false(meters.limits(3, Meter.toPort));
  t.true(meters.take(3, Meter.toPort, 1e9), 'no limit: anything passes');
  meters.configure(3, Meter.toPort, 1_000_000, 100_000); // 1 MB/s, 100 kB at once
  t.true(meters.limits(3, Meter.toPort));
  t.false(meters.limits(3, Meter.fromPort), 'each direction has its own bucket');
  t.true(meters.take(3, Meter.toPort, 60_000));
  t.false(meters.take(3, Meter.toPort, 60_000), 'more than is left is refused');
  const wait = meters.waitMs(3, Meter.toPort, 60_000);
  t.true(wait > 0 && wait <= 20, `20 kB short at 1 kB/ms: 20 ms at most (less as time passes), not ${wait}`);
  meters.configure(3, Meter.toPort, 0, 0);
  t.false(meters.limits(3, Meter.toPort), 'a rate of 0 lifts the limit');
});

test('a debt is paid back in full before the port is read again; workers share the bucket', (t) => {
  const buffers = newPortMeterBuffers();
  const [one, two] = [new PortMeters(buffers), new PortMeters(buffers)];
  one.configure(5, Meter.fromPort, 1_000_000, 131_072);
  two.charge(5, Meter.fromPort, 2_000_000); // a batch of super-frames, read at once
  const wait = one.waitMs(5, Meter.fromPort);
  t.true(wait > 1000 && wait <= 1869, `1.87 MB of debt at 1 kB/ms: ${wait} ms`);
  one.configure(5, Meter.newFlows, FLOW_UNITS, 2 * FLOW_UNITS);
  t.true(two.take(5, Meter.newFlows, FLOW_UNITS));
  t.true(one.take(5, Meter.newFlows, FLOW_UNITS));
  t.false(two.take(5, Meter.newFlows, FLOW_UNITS), 'two flows at once, then one a second');
});
