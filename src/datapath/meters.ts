// Per-port rate limits: token buckets in shared memory, one set for every datapath worker (a
// port is read by one worker, but any worker may send to it), refilled by whichever worker
// takes from a bucket next. Three per port: the bytes its VM sends (a port in debt is not read
// until it is paid: its frames wait in the kernel's queue), the bytes sent to its VM (frames
// over it wait in the Shaper), and the new flows (upcalls) its VM starts (the excess is
// dropped). A bucket with no rate limits nothing.
import { MAX_PORTS } from './counters';

export const Meter = { fromPort: 0, toPort: 1, newFlows: 2 } as const;
const METERS = 3;
/** Flows are counted in thousandths, so that a bucket of a few flows a second refills by the ms. */
export const FLOW_UNITS = 1000;

export interface PortMeterBuffers {
  /** Per bucket: units per ms, burst in units (written by the agent). */
  config: SharedArrayBuffer;
  /** Per bucket: units left (may dip below zero when workers race), ms of the last refill. */
  state: SharedArrayBuffer;
  /** ms since the epoch that the refill times count from. */
  epoch: number;
}

export function newPortMeterBuffers(): PortMeterBuffers {
  return {
    config: new SharedArrayBuffer(MAX_PORTS * METERS * 2 * 8),
    state: new SharedArrayBuffer(MAX_PORTS * METERS * 2 * 4),
    epoch: Math.floor(performance.timeOrigin + performance.now()),
  };
}

export class PortMeters {
  private readonly config: Float64Array;
  private readonly tokens: Int32Array;
  private readonly refilledAt: Int32Array;

  constructor(private readonly buffers: PortMeterBuffers) {
    this.config = new Float64Array(buffers.config);
    const state = new Int32Array(buffers.state);
    this.tokens = state.subarray(0, MAX_PORTS * METERS);
    this.refilledAt = state.subarray(MAX_PORTS * METERS);
  }

  /** Whether the port has this kind of limit: one load, for the hot path's common case. */
  limits(port: number, meter: number): boolean {
    return this.config[(port * METERS + meter) * 2] > 0;
  }

  /** Takes `units` from the bucket; false (the frame is dropped) when there are not enough. */
  take(port: number, meter: number, units: number): boolean {
    const i = port * METERS + meter;
    const perMs = this.config[i * 2];
    if (perMs === 0) return true;
    this.refill(i, perMs, this.config[i * 2 + 1]);
    if (Atomics.load(this.tokens, i) < units) return false;
    Atomics.sub(this.tokens, i, units);
    return true;
  }

  /** Takes `units` even when there are not enough: the bucket goes into debt, which
   *  `waitMs` says how long it takes to pay back (for a port whose reading is paused). */
  charge(port: number, meter: number, units: number): void {
    const i = port * METERS + meter;
    const perMs = this.config[i * 2];
    if (perMs === 0) return;
    this.refill(i, perMs, this.config[i * 2 + 1]);
    Atomics.sub(this.tokens, i, Math.min(units, 0x3fffffff));
  }

  /** How long until the bucket holds `units` (0: now). */
  waitMs(port: number, meter: number, units = 0): number {
    const i = port * METERS + meter;
    const perMs = this.config[i * 2];
    if (perMs === 0) return 0;
    this.refill(i, perMs, this.config[i * 2 + 1]);
    const missing = units - Atomics.load(this.tokens, i);
    return missing <= 0 ? 0 : Math.max(1, Math.ceil(missing / perMs));
  }

  /** Sets (or, with rate 0, lifts) a limit and fills its bucket: `perSecond` units a second,
   *  `burst` units at once. */
  configure(port: number, meter: number, perSecond: number, burst: number): void {
    const i = port * METERS + meter;
    const perMs = perSecond / 1000;
    if (this.config[i * 2] === perMs && this.config[i * 2 + 1] === burst) return;
    Atomics.store(this.tokens, i, Math.min(burst, 0x7fffffff));
    Atomics.store(this.refilledAt, i, this.clock());
    this.config[i * 2 + 1] = burst;
    this.config[i * 2] = perMs;
  }

  private refill(i: number, perMs: number, burst: number): void {
    const now = this.clock();
    const last = Atomics.load(this.refilledAt, i);
    const elapsed = (now - last) | 0;
    if (elapsed <= 0 || Atomics.compareExchange(this.refilledAt, i, last, now) !== last) return;
    // A debt is paid back in full; a bucket never holds more than its burst.
    const add = Math.min(Math.floor(elapsed * perMs), 0x3fffffff);
    const before = Atomics.add(this.tokens, i, add);
    if (before + add > burst) Atomics.store(this.tokens, i, burst);
  }

  private clock(): number {
    return (Math.floor(performance.timeOrigin + performance.now()) - this.buffers.epoch) | 0;
  }
}
