// Where a frame's time goes: each forwarded frame's transit from its kernel stamp lands in the
// shared histogram, each wake-up's stages add up, and a frame that waits for the slow path is
// not timed as if it had been forwarded.
import test from 'ava';
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FromDatapath, newPortMeterBuffers, packAnswers, PortMeters, summarizeLatency, TRANSIT_BUCKETS_US } from '../../src/datapath';
import { ConnTable, KEY_WORDS } from '../../src/flow';
import { RecordingIo } from '../helpers/recording-io';
import { udpDatagram } from '../helpers/frames';

test('frames forwarded on a cached flow are timed from their stamp to their send; one waiting for an upcall is not', (t) => {
  const io = new RecordingIo();
  const counters = new DatapathCounters();
  const upcalls: Extract<FromDatapath, { type: 'upcall' }>[] = [];
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, new PortMeters(newPortMeterBuffers()), new ConnTable(64), (m) => m.type === 'upcall' && upcalls.push(m), io);
  datapath.addPort({ number: 1, name: 'vm', kind: 'packet', fd: 11, vnetHdr: false }, true);
  datapath.addPort({ number: 2, name: 'out', kind: 'packet', fd: 12, vnetHdr: false }, true);
  const summary = () => summarizeLatency([{ values: counters.values, at: counters.latencyAt }]);

  io.frames.set(11, [udpDatagram]);
  io.readable[0]();
  t.is(summary().transit.frames, 0, 'the first frame went to the slow path');
  const flows = Array.from({ length: upcalls[0].keys.length / KEY_WORDS }, () => ({ actions: [{ type: 'output' as const, port: 2 }], tags: [], cache: true, connection: -1 }));
  datapath.install(upcalls[0].batch, 0, packAnswers(flows));
  t.is(summary().transit.frames, 0, 'nor is it timed when the answer sends it');

  io.frames.set(11, [udpDatagram, udpDatagram, udpDatagram]);
  io.readable[0]();
  const { transit, wakeups, stagesUs } = summary();
  t.is(io.sent.filter((s) => s.fd === 12).length, 4);
  t.is(transit.frames, 3);
  t.is(transit.buckets.length, TRANSIT_BUCKETS_US.length + 1);
  t.is(transit.buckets.reduce((s, n) => s + n, 0), 3, 'each frame in one bucket');
  t.true(transit.sumUs >= 0 && transit.p50Us !== null && transit.p99Us! >= transit.p50Us!);
  t.is(wakeups, 2);
  for (const [stage, us] of Object.entries(stagesUs)) t.true(us >= 0, stage);
  t.true(stagesUs.receive + stagesUs.key + stagesUs.lookup + stagesUs.actions + stagesUs.send > 0);
});

test('a summary of no frames has no percentiles', (t) => {
  const counters = new DatapathCounters();
  const { transit, wakeups } = summarizeLatency([{ values: counters.values, at: counters.latencyAt }]);
  t.deepEqual([transit.frames, transit.p50Us, transit.p99Us, wakeups], [0, null, null, 0]);
});
