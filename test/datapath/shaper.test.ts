// Frames to a port over its receive limit wait in its shaper for their turn; a port removed, or
// a worker that dies of a bug, loses what waits there, counted against the port.
import test from 'ava';
import { Meter, newPortMeterBuffers, PortCounter, PortMeters } from '../../src/datapath';
import { dropCode } from '../../src/flow';
import { forwardingDatapath } from '../helpers/forwarding';
import { udpDatagram } from '../helpers/frames';

const VM = 11;
const LIMITED = 12;

/** Port 1 forwards to port 2, whose limit lets one frame through and then 1 byte a second:
 *  of `count` frames sent, the rest wait in its shaper (its releases never come here). */
function shapedFrames(count: number) {
  const meters = new PortMeters(newPortMeterBuffers());
  const timers = { after: () => null, cancel: () => undefined };
  const { datapath, io, counters } = forwardingDatapath({ fds: [VM, LIMITED], vnetHdr: [true, true], meters, timers });
  meters.configure(2, Meter.toPort, 1, udpDatagram.length);
  const v = counters.values;
  const before = Float64Array.from(v);
  io.frames.set(VM, Array.from({ length: count }, () => udpDatagram.slice()));
  datapath.drain(1);
  const since = (at: number) => v[at] - before[at];
  return {
    datapath,
    counted: () => ({
      txPackets: since(counters.portIndex(2, PortCounter.txPackets)),
      txDropped: since(counters.portIndex(2, PortCounter.txDropped)),
      portDown: since(counters.dropIndex(dropCode('portDown'))),
      workerFailed: since(counters.dropIndex(dropCode('workerFailed'))),
    }),
  };
}

test('a port removed while frames wait in its shaper counts them lost', (t) => {
  const port = shapedFrames(10);
  t.like(port.counted(), { txPackets: 1, txDropped: 0 }, 'one passes, nine wait');
  port.datapath.removePort(2);
  t.like(port.counted(), { txPackets: 1, txDropped: 9, portDown: 9 });
});

test('a worker that dies of a bug counts what waited in its shapers as lost with it', (t) => {
  const port = shapedFrames(10);
  port.datapath.failed();
  t.like(port.counted(), { txPackets: 1, txDropped: 9, workerFailed: 9, portDown: 0 });
});
