// Frames for a port whose VM is migrating to this host and does not run here yet. A paused
// QEMU does not read its tap: what is written to it waits in the tap's queue however old it
// gets, and once that is full the newest are dropped, exactly the frames of the switchover.
// So the switch holds them itself, only the newest (those younger than `windowMs`), and sends
// them when the guest first sends something here (QEMU's announcement at resume). Most of what
// is held the guest read at the source before it paused, and would get twice: the source host
// marks each frame the guest sends there, and what was held before a mark is let go.

/** Copies come to this host straight from the sending host, the mark from the source host: the
 *  two paths' delays differ, and a guest may send before it reads what just came, more so while
 *  QEMU tracks its dirty pages (a TCG guest here lagged over 10 ms at 1,000 packets/s). A frame
 *  held this close to a mark is kept: a duplicate at worst, never a loss. */
const READ_MARGIN_MS = 30;

/** Frames a port holds, or keeps behind a refusing device (backlog.ts), at most. */
export const MAX_HELD_FRAMES = 8192;

export class HeldFrames {
  private frames: { at: number; bytes: Uint8Array }[] = [];
  /** Frames let go unsent: too old, or over the bound. */
  dropped = 0;

  constructor(readonly windowMs: number, private readonly maxFrames = MAX_HELD_FRAMES) {}

  /** Keeps a copy of a frame (vnet header first) that arrived at `now` (ms). */
  add(bytes: Uint8Array, now: number): void {
    this.expire(now);
    if (this.frames.length === this.maxFrames) {
      this.frames.shift();
      this.dropped++;
    }
    this.frames.push({ at: now, bytes });
  }

  /** The guest sent a frame at the source (its mark came at `now`): frames held before then,
   *  less READ_MARGIN_MS, it has read there. Returns how many are let go. */
  readAtSource(now: number): number {
    let read = 0;
    while (read < this.frames.length && this.frames[read].at < now - READ_MARGIN_MS) read++;
    this.frames.splice(0, read);
    return read;
  }

  /** The frames still young enough, oldest first; the holder is empty after. */
  take(now: number): Uint8Array[] {
    this.expire(now);
    const out = this.frames.map((f) => f.bytes);
    this.frames = [];
    return out;
  }

  get size(): number {
    return this.frames.length;
  }

  private expire(now: number): void {
    let old = 0;
    while (old < this.frames.length && now - this.frames[old].at > this.windowMs) old++;
    if (old === 0) return;
    this.frames.splice(0, old);
    this.dropped += old;
  }
}
