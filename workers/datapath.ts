// Entry point of a datapath worker thread: the engine in its own loop (WorkerLoop), driven by
// the readiness of the ports it receives on and by the agent's messages, which it takes from
// its port when the agent's thread signals the wake-up eventfd.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ConnTable } from '../src/flow';
import { Datapath, DatapathCounters, DatapathOptions, FromDatapath, native, PortMeterBuffers, PortMeters, recordSlice, ToDatapath, WorkerLoop } from '../src/datapath';

const { options, counters, meters, conntrack, wakeFd } = workerData as {
  options: DatapathOptions; counters: SharedArrayBuffer; meters: PortMeterBuffers; conntrack: SharedArrayBuffer; wakeFd: number;
};
const port = parentPort!;
const loop = new WorkerLoop(options.busyPollUs);
const io = { ...native, watch: loop.watch.bind(loop), unwatch: loop.unwatch.bind(loop) };
const shared = new DatapathCounters(counters);
// This thread's slice under the fair scheduler, asked for before its first wait.
recordSlice(shared.values, shared.latencyAt, native.setThreadSlice(options.sliceUs));
const datapath = new Datapath(options, shared, new PortMeters(meters), new ConnTable(conntrack), (message: FromDatapath) => port.postMessage(message), io, loop);

const housekeeping = () => {
  datapath.tick();
  loop.after(1000, housekeeping);
};
loop.after(1000, housekeeping);

loop.watch(wakeFd, () => {
  native.clearEventFd(wakeFd);
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) handle(m.message as ToDatapath | { type: 'stop' });
}, false);

function handle(message: ToDatapath | { type: 'stop' }): void {
  switch (message.type) {
    case 'addPort':
      datapath.addPort(message.port, message.receive);
      // In the same turn: no frame is read in between.
      if (message.holdMs !== undefined) datapath.hold(message.port.number, message.holdMs);
      return;
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
      datapath.close();
      loop.stop();
      port.close();
  }
}

// A bug's error: what waits in the worker is counted as lost before it ends.
loop.start(() => datapath.failed());
