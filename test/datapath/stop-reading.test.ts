// A takeover's old agent stops reading its ports between two batches, and sends what still
// waits for the slow path once it answers: a frame read before the handover is not lost.
import test from 'ava';
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FromDatapath, newPortMeterBuffers, packAnswers, PortMeters } from '../../src/datapath';
import { ConnTable, KEY_WORDS } from '../../src/flow';
import { RecordingIo } from '../helpers/recording-io';
import { tcpSyn, udpDatagram } from '../helpers/frames';

function setUp() {
  const io = new RecordingIo();
  const upcalls: Extract<FromDatapath, { type: 'upcall' }>[] = [];
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, new DatapathCounters(), new PortMeters(newPortMeterBuffers()), new ConnTable(64), (m) => m.type === 'upcall' && upcalls.push(m), io);
  datapath.addPort({ number: 1, name: 'vm', kind: 'packet', fd: 11, vnetHdr: false }, true);
  datapath.addPort({ number: 2, name: 'out', kind: 'packet', fd: 12, vnetHdr: false }, true);
  const answer = () => {
    for (const upcall of upcalls.splice(0)) {
      const flows = Array.from({ length: upcall.keys.length / KEY_WORDS }, () => ({ actions: [{ type: 'output' as const, port: 2 }], tags: [], cache: true, connection: -1 }));
      datapath.install(upcall.batch, 0, packAnswers(flows));
    }
  };
  return { io, datapath, upcalls, answer };
}

test('frames waiting for the slow path when reading stops are sent once it answers, and only then is the datapath settled', (t) => {
  const { io, datapath, upcalls, answer } = setUp();
  io.frames.set(11, [tcpSyn, tcpSyn, udpDatagram]);
  datapath.drain(1);
  t.is(upcalls.length, 1, 'two flows went up in one batch');
  let settled = 0;
  datapath.stopReading(() => settled++);
  t.deepEqual([...io.watched], [], 'no port is read any more');
  t.is(settled, 0, 'three frames still wait');
  answer();
  t.is(io.sent.filter((s) => s.fd === 12).length, 3, 'what waited went out');
  t.is(settled, 1);
  answer();
  t.is(settled, 1, 'settled once');
});

test('a datapath with nothing waiting is settled at once', (t) => {
  const { io, datapath } = setUp();
  let settled = 0;
  datapath.stopReading(() => settled++);
  t.is(settled, 1);
  t.is(io.watched.size, 0);
});
