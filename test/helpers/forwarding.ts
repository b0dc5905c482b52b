// A datapath on recorded I/O whose port 1 forwards to port 2, the flow of helpers/frames.ts's
// UDP datagram already in its cache: what the send-path tests start from.
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FromDatapath, newPortMeterBuffers, packAnswers, PortMeters, Scheduler } from '../../src/datapath';
import { ConnTable, KEY_WORDS } from '../../src/flow';
import { udpDatagram } from './frames';
import { RecordingIo } from './recording-io';

export interface ForwardingOptions {
  /** The descriptors of ports 1 and 2 in the recorded I/O. */
  fds: [number, number];
  /** Whether ports 1 and 2 take vnet headers. */
  vnetHdr: [boolean, boolean];
  meters?: PortMeters;
  timers?: Scheduler;
}

export function forwardingDatapath({ fds, vnetHdr, meters, timers }: ForwardingOptions) {
  const io = new RecordingIo();
  const counters = new DatapathCounters();
  const messages: FromDatapath[] = [];
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, meters ?? new PortMeters(newPortMeterBuffers()), new ConnTable(64), (m) => messages.push(m), io, timers);
  datapath.addPort({ number: 1, name: 'in', kind: 'packet', fd: fds[0], vnetHdr: vnetHdr[0] }, true);
  datapath.addPort({ number: 2, name: 'out', kind: 'packet', fd: fds[1], vnetHdr: vnetHdr[1] }, true);
  io.frames.set(fds[0], [udpDatagram]);
  datapath.drain(1);
  for (const m of messages.splice(0)) {
    if (m.type !== 'upcall') continue;
    const flows = Array.from({ length: m.keys.length / KEY_WORDS }, () => ({ actions: [{ type: 'output' as const, port: 2 }], tags: [], cache: true, connection: -1 }));
    datapath.install(m.batch, 0, packAnswers(flows));
  }
  return { datapath, io, counters, messages };
}
