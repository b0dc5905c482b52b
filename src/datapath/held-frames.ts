// Frames for a port whose VM is migrating to this host and does not run here yet. A paused
// QEMU does not read its tap: what is written to it waits in the tap's queue however old it
// gets, and once that is full the newest are dropped, exactly the frames of the switchover.
// So the switch holds them itself, only the newest (those younger than `windowMs`), and sends
// them when the guest first sends something here (QEMU's announcement at resume).
export class HeldFrames {
  private frames: { at: number; bytes: Uint8Array }[] = [];
  /** Frames let go unsent: too old, or over the bound. */
  dropped = 0;

  constructor(readonly windowMs: number, private readonly maxFrames = 8192) {}

  /** Keeps a copy of a frame (vnet header first) that arrived at `now` (ms). */
  add(bytes: Uint8Array, now: number): void {
    this.expire(now);
    if (this.frames.length === this.maxFrames) {
      this.frames.shift();
      this.dropped++;
    }
    this.frames.push({ at: now, bytes });
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
