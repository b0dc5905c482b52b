// Entry point of a datapath worker thread: the engine, driven by the agent's messages and by
// the readiness of the ports it receives on.
import { parentPort, workerData } from 'node:worker_threads';
import { ConnTable } from '../src/flow';
import { Datapath, DatapathCounters, DatapathOptions, FromDatapath, PortMeterBuffers, PortMeters, ToDatapath } from '../src/datapath';

const { options, counters, meters, conntrack } = workerData as { options: DatapathOptions; counters: SharedArrayBuffer; meters: PortMeterBuffers; conntrack: SharedArrayBuffer };
const port = parentPort!;
const datapath = new Datapath(options, new DatapathCounters(counters), new PortMeters(meters), new ConnTable(conntrack), (message: FromDatapath) => port.postMessage(message));
const housekeeping = setInterval(() => datapath.tick(), 1000);

port.on('message', (message: ToDatapath | { type: 'stop' }) => {
  switch (message.type) {
    case 'addPort':
      return datapath.addPort(message.port, message.receive);
    case 'capture':
      return datapath.startCapture(message.spec);
    case 'captureEnd':
      return datapath.stopCapture(message.id);
    case 'removePort':
      datapath.removePort(message.number);
      return port.postMessage({ type: 'portRemoved', number: message.number } satisfies FromDatapath);
    case 'results':
      return datapath.install(message.batch, message.generation, message.answers);
    case 'failed':
      return datapath.failBatch(message.batch);
    case 'transmit':
      return datapath.transmit(message.frames);
    case 'tunnelMap':
      return datapath.setTunnelMap(message);
    case 'invalidate':
      datapath.invalidate(message.generation, message.tags);
      return;
    case 'dumpFlows':
      datapath.publishCacheCounters();
      return port.postMessage({ type: 'flows', request: message.request, flows: datapath.dumpFlows() } satisfies FromDatapath);
    case 'flushFlows':
      return port.postMessage({ type: 'flushed', request: message.request, removed: datapath.flushFlows() } satisfies FromDatapath);
    case 'stopReading':
      return datapath.stopReading(() => port.postMessage({ type: 'readingStopped', request: message.request } satisfies FromDatapath));
    case 'hold':
      return datapath.hold(message.number, message.windowMs);
    case 'release':
      return datapath.release(message.number);
    case 'stop':
      clearInterval(housekeeping);
      datapath.close();
      port.close();
  }
});
