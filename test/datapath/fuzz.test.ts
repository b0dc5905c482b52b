// A million random, mutated and truncated frames and VXLAN datagrams through the datapath
// engine and the slow path of a routed tenant network (examples/lab/fuzzed-frames.ts): nothing
// may throw, and every frame is sent, dropped with a reason, or taken in, once.
import test from 'ava';
import { runFuzz } from '../../examples/lab';

test('a million fuzzed frames and datagrams: no exception, each one sent, dropped with a reason or taken in, once', (t) => {
  const report = runFuzz(1_000_000);
  t.log(JSON.stringify(report));
  t.is(report.frames, 1_000_000);
  t.is(report.exceptions, 0);
  t.is(report.unaccounted, 0, 'every frame is accounted for');
  t.true(report.dropped.malformed > 0, 'runts were seen and counted');
  t.true(report.dropped.unknownTunnelPeer > 0 && report.dropped.unknownTunnelKey > 0, 'strangers and unknown keys on the tunnel were counted');
  t.true(report.dropped.notForRouter > 0 && report.consumed > 0, 'the router saw frames, dropped some and took some in');
  t.true(report.sent > report.frames / 5, `a good share was forwarded: ${report.sent}`);
});
