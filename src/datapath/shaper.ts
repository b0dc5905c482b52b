// Frames to a port over its receive limit wait here, in order, until its bucket has room: a
// bounded FIFO per port, so that TCP toward a limited VM sees a slower link rather than bursts
// of loss (a 64 KiB super-frame dropped whole is 45 segments lost). What does not fit in the
// queue is dropped, and counted against the port.
import type { Scheduler } from './worker-loop';

const QUEUE_BYTES = 1 << 20;

interface Queue {
  frames: Uint8Array[];
  bytes: number;
  timer: unknown;
}

export class Shaper {
  private readonly queues = new Map<number, Queue>();

  constructor(private readonly timers: Scheduler) {}

  /** Whether frames to the port already wait (a new one must queue behind them). */
  waiting(port: number): boolean {
    return (this.queues.get(port)?.frames.length ?? 0) > 0;
  }

  /** Queues a copy of a frame; false when the port's queue is full (drop it). */
  hold(port: number, frame: Uint8Array): boolean {
    let queue = this.queues.get(port);
    if (!queue) this.queues.set(port, (queue = { frames: [], bytes: 0, timer: null }));
    if (queue.bytes + frame.length > QUEUE_BYTES) return false;
    queue.frames.push(frame);
    queue.bytes += frame.length;
    return true;
  }

  /** The frame whose turn is next, or undefined. */
  head(port: number): Uint8Array | undefined {
    return this.queues.get(port)?.frames[0];
  }

  /** Removes the head frame (it was sent). */
  shift(port: number): void {
    const queue = this.queues.get(port)!;
    queue.bytes -= queue.frames.shift()!.length;
  }

  /** Calls `release` in `ms` unless a call is already due for the port. */
  schedule(port: number, ms: number, release: () => void): void {
    const queue = this.queues.get(port);
    if (!queue || queue.timer) return;
    queue.timer = this.timers.after(ms, () => {
      queue.timer = null;
      release();
    });
  }

  /** Drops what waits for a port that is gone: how many frames that was. */
  forget(port: number): number {
    const queue = this.queues.get(port);
    if (queue?.timer) this.timers.cancel(queue.timer);
    this.queues.delete(port);
    return queue?.frames.length ?? 0;
  }

  close(): void {
    for (const port of [...this.queues.keys()]) this.forget(port);
  }
}
