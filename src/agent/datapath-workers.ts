// The agent's datapath workers (workers/datapath.ts): started together, told things together,
// asked and answered one by one. One that dies by itself (a bug) starts again on the same
// counters, and the switch tells it again what it must know, unless it keeps dying.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DatapathOptions, FromDatapath, PortMeterBuffers, ToDatapath } from '../datapath';
import { DatapathThread, settle } from './datapath-thread';

/** A worker that dies more often than this in a minute is not restarted again. */
const MAX_RESTARTS_PER_MINUTE = 5;
const WORKER_FILE = path.join(__dirname, '..', '..', 'workers', 'datapath.js');

/** What every worker starts with, beside its own counters and wake-up descriptor. */
export interface WorkerStart {
  options: DatapathOptions;
  meters: PortMeterBuffers;
  conntrack: SharedArrayBuffer;
}

export interface WorkerEvents {
  /** A message from a worker that answers no request of its. */
  message(thread: DatapathThread, message: FromDatapath): void;
  /** A worker that died started again: what it must be told (its ports, holds, the tunnel). */
  restarted(thread: DatapathThread, code: number): void;
  /** A worker that keeps dying: it is not started again. */
  gaveUp(thread: DatapathThread, code: number): void;
}

export class DatapathWorkers {
  readonly threads: DatapathThread[] = [];
  private stopped = false;

  constructor(count: number, private readonly start: WorkerStart, private readonly events: WorkerEvents, private readonly log: Logger) {
    for (let i = 0; i < count; i++) {
      const thread = new DatapathThread();
      this.run(thread);
      this.threads.push(thread);
    }
  }

  /** The worker that receives on the tunnel and sends what the agent makes. */
  get first(): DatapathThread {
    return this.threads[0];
  }

  /** Tells every worker. */
  post(message: ToDatapath): void {
    for (const thread of this.threads) thread.post(message);
  }

  /** Asks every worker: their answers, `fallback` for one that died first. */
  ask(build: (request: number) => ToDatapath, fallback: FromDatapath): Promise<FromDatapath[]> {
    return Promise.all(this.threads.map((thread) => thread.ask(build, fallback)));
  }

  /** Stops every worker, and answers what they still owed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.threads.map((thread) => new Promise<void>((resolve) => {
      thread.worker.once('exit', () => resolve());
      thread.post({ type: 'stop' });
    })));
    for (const thread of this.threads) {
      settle(thread);
      thread.close();
    }
  }

  private run(thread: DatapathThread): void {
    const worker = new Worker(WORKER_FILE, { workerData: { ...this.start, counters: thread.counters.buffer, wakeFd: thread.wakeFd } });
    thread.worker = worker;
    worker.on('message', (message: FromDatapath) => {
      if (!thread.answered(message)) this.events.message(thread, message);
    });
    worker.on('error', (error) => this.log.error({ err: error }, 'datapath worker failed'));
    worker.on('exit', (code) => {
      if (!this.stopped) this.died(thread, code);
    });
  }

  /** Answers what it owed, and starts it again unless it keeps dying. */
  private died(thread: DatapathThread, code: number): void {
    settle(thread);
    const now = Date.now();
    thread.restarts = [...thread.restarts.filter((t) => now - t < 60_000), now];
    if (thread.restarts.length > MAX_RESTARTS_PER_MINUTE) return this.events.gaveUp(thread, code);
    this.run(thread);
    this.events.restarted(thread, code);
  }
}
