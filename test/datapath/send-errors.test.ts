// A send the device refuses on its own (a tap's queue full while its guest is slow to read)
// costs that frame only: the frames after it in the batch are still sent, as the kernel's
// bridge drops frame by frame. A full send buffer or a link gone costs the rest of the batch.
import test from 'ava';
import { PortCounter } from '../../src/datapath';
import { dropCode } from '../../src/flow';
import { forwardingDatapath } from '../helpers/forwarding';
import { udpDatagram } from '../helpers/frames';

const ENOBUFS = 105;
const EAGAIN = 11;
const ENETDOWN = 100;
const VM = 11;
const OUT = 12;

/** A datapath forwarding port 1 to port 2, its flow already cached: a batch of `frames` from
 *  port 1 leaves in one send call, to which the device says `refuse`. */
function forwardBatch(frames: number, refuse: (attempt: number) => number) {
  const { datapath, io, counters, messages } = forwardingDatapath({ fds: [VM, OUT], vnetHdr: [false, false] });
  io.sent.length = 0;
  const v = counters.values;
  const before = Float64Array.from(v);
  const counted = (at: number) => v[at] - before[at];
  const first = io.attempts;
  io.refuse = (fd, attempt) => (fd === OUT ? refuse(attempt - first) : 0);
  io.frames.set(VM, Array.from({ length: frames }, () => udpDatagram));
  datapath.drain(1);
  return {
    sent: io.sent.filter((s) => s.fd === OUT).length,
    txPackets: counted(counters.portIndex(2, PortCounter.txPackets)),
    txDropped: counted(counters.portIndex(2, PortCounter.txDropped)),
    txError: counted(counters.dropIndex(dropCode('txError'))),
    failed: messages.filter((m) => m.type === 'portFailed'),
  };
}

test('a refusal that passes when tried again (ENOBUFS, then room) costs nothing: every frame goes out', (t) => {
  const result = forwardBatch(8, (attempt) => (attempt % 2 === 1 ? ENOBUFS : 0));
  t.like(result, { txPackets: result.sent, txDropped: 8 - result.sent, txError: 8 - result.sent, failed: [] });
  t.true(result.sent >= 4, `the frames between refusals went out: ${result.sent} of 8`);
  t.is(result.sent, 8);
});

test('a frame the device refuses again when retried (ENOBUFS) is dropped alone: the rest of the batch goes out', (t) => {
  // The third frame is refused (attempt 2), and again when the next call starts with it (attempt 3).
  t.like(forwardBatch(8, (attempt) => (attempt === 2 || attempt === 3 ? ENOBUFS : 0)), { sent: 7, txPackets: 7, txDropped: 1, txError: 1, failed: [] });
});

test('a full send buffer (EAGAIN) loses the rest of the batch, counted; the port stays up', (t) => {
  t.like(forwardBatch(8, (attempt) => (attempt >= 3 ? EAGAIN : 0)), { sent: 3, txPackets: 3, txDropped: 5, txError: 5, failed: [] });
});

test('a link gone (ENETDOWN) loses the rest of the batch and marks the port failed', (t) => {
  const result = forwardBatch(8, (attempt) => (attempt >= 2 ? ENETDOWN : 0));
  t.like(result, { sent: 2, txPackets: 2, txDropped: 6, txError: 6 });
  t.is(result.failed.length, 1);
});
