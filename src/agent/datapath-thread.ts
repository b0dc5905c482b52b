// A datapath worker as the agent's thread keeps it: the thread, its shared counters, what it
// still owes an answer for, and the asking.
import type { Worker } from 'node:worker_threads';
import { DatapathCounters, FromDatapath, native, ToDatapath } from '../datapath';

/** A datapath worker thread as the agent's thread keeps it; `worker` is set when it starts. */
export class DatapathThread {
  worker!: Worker;
  readonly counters = new DatapathCounters();
  /** Signalled after each message posted: the thread waits on it with its ports (WorkerLoop). */
  readonly wakeFd = native.openEventFd();
  /** Ports it receives on. */
  receiving = 0;
  /** Requests awaiting its answer, with what to answer if it dies first. */
  readonly replies = new Map<number, { resolve: (message: FromDatapath) => void; fallback: FromDatapath }>();
  /** Port removals awaiting its acknowledgement. */
  readonly removals = new Map<number, () => void>();
  /** When it was restarted, over the last minute. */
  restarts: number[] = [];
  private nextRequest = 1;

  post(message: ToDatapath | { type: 'stop' }): void {
    this.worker.postMessage(message);
    native.signalEventFd(this.wakeFd);
  }

  /** Once its thread has exited for good. */
  close(): void {
    native.close(this.wakeFd);
  }

  /** A request and its answer; `fallback` if the thread dies before it answers. */
  ask(build: (request: number) => ToDatapath, fallback: FromDatapath): Promise<FromDatapath> {
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      this.replies.set(request, { resolve, fallback });
      this.post(build(request));
    });
  }

  /** Takes a message that answers a request or a removal of this thread's; false for any other. */
  answered(message: FromDatapath): boolean {
    switch (message.type) {
      case 'portRemoved':
        this.removals.get(message.number)?.();
        this.removals.delete(message.number);
        return true;
      case 'flows':
      case 'flushed':
      case 'readingStopped':
        this.replies.get(message.request)?.resolve(message);
        this.replies.delete(message.request);
        return true;
      default:
        return false;
    }
  }

  /** Once the thread has let go of the port (it neither reads nor sends on it any more). */
  detach(number: number): Promise<void> {
    return new Promise((resolve) => {
      this.removals.set(number, resolve);
      this.post({ type: 'removePort', number });
    });
  }
}

/** Answers what a thread that is gone still owed: nobody waits forever on it. */
export function settle(thread: DatapathThread): void {
  for (const { resolve, fallback } of thread.replies.values()) resolve(fallback);
  thread.replies.clear();
  for (const resolve of thread.removals.values()) resolve();
  thread.removals.clear();
}
