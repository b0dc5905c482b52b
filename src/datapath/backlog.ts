// Frames a port's device refused for want of room, kept in order and tried again instead of
// dropped. Only a port whose held frames (held-frames.ts) were just let go has one. They come
// all at once, up to a hold window of a stream (500 ms). They go to a guest that has just
// resumed, whose tap's queue takes 500 to 1,000 frames (ENOBUFS past that). What else comes
// for the port meanwhile queues behind them, so that everything arrives in order. Once the
// backlog is empty the port sends directly again. A device that takes nothing for `patienceMs`
// (a guest that died, or never reads) ends it, and what is left is dropped.

import { MAX_HELD_FRAMES } from './held-frames';
import { TX_SENDS } from './tx-queue';

/** How soon a refused send is tried again. */
export const BACKLOG_RETRY_MS = 1;
/** Frames tried at once. Each may become up to this many sends (segmented, for a port without
 *  vnet headers), and a port's queue takes twice as many. */
export const BACKLOG_BATCH = TX_SENDS / 2;

export class Backlog {
  private frames: Uint8Array[];
  private head = 0;
  private lastTaken: number;
  /** Frames given up and not yet counted: over the bound, or left when the device took nothing
   *  for too long. */
  private dropped = 0;

  constructor(frames: Uint8Array[], now: number, private readonly patienceMs: number, private readonly maxFrames = MAX_HELD_FRAMES) {
    this.frames = frames.slice(0, maxFrames);
    this.dropped = frames.length - this.frames.length;
    this.lastTaken = now;
  }

  /** Queues a frame (vnet header first) behind those waiting; over the bound, it is dropped. */
  add(bytes: Uint8Array): void {
    if (this.size >= this.maxFrames) this.dropped++;
    else this.frames.push(bytes);
  }

  /** Up to `max` frames from the front, oldest first: what to try next. */
  front(max: number): Uint8Array[] {
    return this.frames.slice(this.head, this.head + max);
  }

  /** The device took the first `count` frames of those tried at `now`, and of the next one
   *  all but `rest` (null: none of it), which takes its place. */
  taken(count: number, now: number, rest: Uint8Array[] | null = null): void {
    if (rest) this.frames.splice(this.head + count, 1, ...rest);
    else if (count === 0) return;
    this.head += count;
    this.lastTaken = now;
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }

  /** Frames given up since it was last asked. */
  takeDropped(): number {
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }

  /** Whether to give up: the device has taken nothing for longer than the patience. Everything
   *  left then counts as dropped. */
  givesUp(now: number): boolean {
    if (now - this.lastTaken <= this.patienceMs) return false;
    this.dropped += this.size;
    this.frames = [];
    this.head = 0;
    return true;
  }

  get size(): number {
    return this.frames.length - this.head;
  }
}
