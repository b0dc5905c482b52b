// Held frames let go into a device that takes a few at a time (a resumed guest's tap, its queue
// full: ENOBUFS) wait in the port's backlog and go as it takes them, in order, with what came
// after them behind; a device that takes nothing for the hold window ends the backlog, counted,
// and one that goes fails the port. A port removed, or a worker that dies, loses what waits
// for it, counted.
import test from 'ava';
import { PortCounter, Scheduler } from '../../src/datapath';
import { dropCode } from '../../src/flow';
import { forwardingDatapath } from '../helpers/forwarding';
import { udpDatagram } from '../helpers/frames';
import { cutSuperFrame, superFrame } from '../helpers/super-frame';

const ENOBUFS = 105;
const ENETDOWN = 100;
const VM = 11;
const GUEST = 12;

/** Timers the test fires itself. */
class ManualTimers implements Scheduler {
  pending: (() => void)[] = [];
  after(_ms: number, run: () => void): unknown {
    this.pending.push(run);
    return run;
  }
  cancel(timer: unknown): void {
    this.pending = this.pending.filter((run) => run !== timer);
  }
  fire(): void {
    for (const run of this.pending.splice(0)) run();
  }
}

/** Frame n: the UDP datagram with n in its last payload byte. */
const frame = (n: number) => {
  const bytes = udpDatagram.slice();
  bytes[bytes.length - 1] = n;
  return bytes;
};

/** Port 1 forwards to port 2 (the arriving guest's, which takes `room` sends and then refuses
 *  with ENOBUFS), its flow cached; port 2 holds frames 1..`held` with a window of `windowMs`.
 *  What is counted, counts from then. Port 2 takes vnet headers unless `plain`. */
function heldFrames(held: number, windowMs: number, plain = false) {
  const timers = new ManualTimers();
  const { datapath, io, counters, messages } = forwardingDatapath({ fds: [VM, GUEST], vnetHdr: [true, !plain], timers });
  datapath.hold(2, windowMs);
  const arrive = (...numbers: number[]) => {
    io.frames.set(VM, numbers.map(frame));
    datapath.drain(1);
  };
  const arriveFromGuest = (...numbers: number[]) => {
    io.frames.set(GUEST, numbers.map(frame));
    datapath.drain(2);
  };
  arrive(...Array.from({ length: held }, (_, i) => i + 1));
  /** It takes `room` sends, then refuses with `error`. */
  const device = { room: 0, error: ENOBUFS };
  io.sent.length = 0;
  io.refuse = (fd) => (fd !== GUEST ? 0 : device.room-- > 0 ? 0 : device.error);
  const v = counters.values;
  const before = Float64Array.from(v);
  const count = (at: number) => v[at] - before[at];
  return {
    datapath, timers, device, arrive, arriveFromGuest, messages,
    /** What the guest's port sent, in order. */
    sent: () => io.sent.filter((s) => s.fd === GUEST).map((s) => s.bytes),
    /** The numbers of the frames the guest's port sent, in order. */
    received: () => io.sent.filter((s) => s.fd === GUEST).map((s) => s.bytes[s.bytes.length - 1]),
    counted: () => ({
      txPackets: count(counters.portIndex(2, PortCounter.txPackets)),
      txDropped: count(counters.portIndex(2, PortCounter.txDropped)),
      txError: count(counters.dropIndex(dropCode('txError'))),
      portDown: count(counters.dropIndex(dropCode('portDown'))),
      workerFailed: count(counters.dropIndex(dropCode('workerFailed'))),
    }),
  };
}

test('held frames go as the device takes them, in order, and what comes meanwhile waits behind them', (t) => {
  const guest = heldFrames(20, 500);
  guest.device.room = 3;
  guest.datapath.release(2);
  t.deepEqual(guest.received(), [1, 2, 3], 'the device took three');
  t.is(guest.timers.pending.length, 1, 'the rest is tried again');

  guest.device.room = 5;
  guest.arrive(21);
  t.deepEqual(guest.received(), [1, 2, 3], 'a frame that came after waits behind the held ones');
  guest.timers.fire();
  t.deepEqual(guest.received(), [1, 2, 3, 4, 5, 6, 7, 8]);

  guest.device.room = 100;
  guest.timers.fire();
  t.deepEqual(guest.received(), Array.from({ length: 21 }, (_, i) => i + 1), 'all of them, in order');
  t.is(guest.timers.pending.length, 0, 'the backlog is over');
  guest.arrive(22);
  t.is(guest.received().at(-1), 22, 'the port sends directly again');
  t.like(guest.counted(), { txPackets: 22, txDropped: 0, txError: 0 });
});

test('a device that takes nothing for the hold window ends the backlog: what waited is dropped and counted', async (t) => {
  // A window long enough that no held frame expires before the release, even on a busy machine
  // (5 ms did: every frame went as heldTooLong, and none was left to give up on).
  const guest = heldFrames(20, 1000);
  guest.datapath.release(2);
  for (const end = Date.now() + 10_000; guest.timers.pending.length > 0 && Date.now() < end;) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    guest.timers.fire();
  }
  t.is(guest.timers.pending.length, 0, 'given up');
  t.deepEqual(guest.received(), []);
  t.like(guest.counted(), { txPackets: 0, txDropped: 20, txError: 20 });
  guest.device.room = 1;
  guest.arrive(21);
  t.deepEqual(guest.received(), [21], 'the port sends directly again');
});

test('a device that goes while frames wait: the port fails, and what waited is counted lost with it', (t) => {
  const guest = heldFrames(20, 500);
  guest.device.room = 3;
  guest.device.error = ENETDOWN;
  guest.datapath.release(2);
  t.deepEqual(guest.received(), [1, 2, 3]);
  t.deepEqual(guest.messages.filter((m) => m.type === 'portFailed').map((m) => m.type), ['portFailed']);
  t.is(guest.timers.pending.length, 0, 'nothing is tried again');
  t.like(guest.counted(), { txPackets: 3, txDropped: 17 });
});

test('a port removed while its frames are held, or wait in its backlog, counts them lost', (t) => {
  const holding = heldFrames(20, 500);
  holding.datapath.removePort(2);
  t.like(holding.counted(), { txDropped: 20, portDown: 20 });

  const behind = heldFrames(20, 500);
  behind.device.room = 3;
  behind.datapath.release(2);
  behind.datapath.removePort(2);
  behind.timers.fire();
  t.deepEqual(behind.received(), [1, 2, 3], 'nothing more is sent');
  t.is(behind.timers.pending.length, 0, 'nor tried again');
  t.like(behind.counted(), { txPackets: 3, txDropped: 17, portDown: 17 });
});

test('a worker that dies of a bug (Datapath.failed) counts what was held, backlogged or waiting for the slow path as lost with it', (t) => {
  const holding = heldFrames(20, 500);
  holding.arriveFromGuest(1, 2); // a flow not cached: both wait behind its upcall
  holding.datapath.failed();
  t.like(holding.counted(), { txDropped: 20, workerFailed: 22, portDown: 0 });

  const behind = heldFrames(20, 500);
  behind.device.room = 3;
  behind.datapath.release(2);
  behind.datapath.failed();
  t.like(behind.counted(), { txPackets: 3, txDropped: 17, workerFailed: 17 });
});

test('a frame in segments that the device took in part: the segments it did not take go next, each once', (t) => {
  const guest = heldFrames(1, 500, true);
  // A super-frame held behind frame 1, cut into three segments for a port without vnet headers.
  const big = superFrame({ payload: 2500, mss: 1000 });
  guest.datapath.transmit([{ frame: big, actions: [{ type: 'output', port: 2 }] }]);
  guest.arrive(2);
  guest.device.room = 2;
  guest.datapath.release(2);
  const segments = cutSuperFrame(big).found;
  t.deepEqual(guest.sent(), [frame(1), segments[0]], 'frame 1 and the first segment');

  guest.device.room = 100;
  guest.timers.fire();
  t.deepEqual(guest.sent(), [frame(1), ...segments, frame(2)], 'the other two segments once, then frame 2');
  t.like(guest.counted(), { txPackets: 5, txDropped: 0, txError: 0 });
});
