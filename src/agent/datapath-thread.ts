// A datapath worker as the agent's thread keeps it: the thread, its shared counters, and what
// it still owes an answer for.
import type { Worker } from 'node:worker_threads';
import { DatapathCounters, FromDatapath } from '../datapath';

/** A datapath worker thread as the agent's thread keeps it; `worker` is set when it starts. */
export class DatapathThread {
  worker!: Worker;
  readonly counters = new DatapathCounters();
  /** Ports it receives on. */
  receiving = 0;
  /** Requests awaiting its answer, with what to answer if it dies first. */
  readonly replies = new Map<number, { resolve: (message: FromDatapath) => void; fallback: FromDatapath }>();
  /** Port removals awaiting its acknowledgement. */
  readonly removals = new Map<number, () => void>();
  /** When it was restarted, over the last minute. */
  restarts: number[] = [];
}

/** Answers what a thread that is gone still owed: nobody waits forever on it. */
export function settle(thread: DatapathThread): void {
  for (const { resolve, fallback } of thread.replies.values()) resolve(fallback);
  thread.replies.clear();
  for (const resolve of thread.removals.values()) resolve();
  thread.removals.clear();
}
