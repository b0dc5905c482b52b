// Where a frame's time in the switch goes, in shared memory beside the counters: a histogram of
// each forwarded frame's transit (from the kernel's receive timestamp to the end of the send
// that carried it on), and each wake-up's time split into stages. The worker adds with plain
// stores; the agent reads for /metrics and `stats`.

/** Upper bounds of the transit histogram's buckets, in µs (the last bucket is unbounded). */
export const TRANSIT_BUCKETS_US = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000, 100_000] as const;

/** A wake-up's stages, in order:
 *  - wait: from the kernel's receive of the first frame read to the readiness being seen (the
 *    thread's wake-up, or its being busy with something else);
 *  - enter: from there into the JavaScript that reads (the event loop, the callback's entry);
 *  - receive: the receive calls; key: parsing and keying (and the tunnel's decapsulation);
 *  - lookup: the flow cache; actions: running the flows' programs; send: the send calls. */
export const Stage = { wait: 0, enter: 1, receive: 2, key: 3, lookup: 4, actions: 5, send: 6 } as const;
export type StageName = keyof typeof Stage;
export const STAGE_NAMES = Object.keys(Stage) as StageName[];

const bucketsAt = 0;
const transitSumAt = TRANSIT_BUCKETS_US.length + 1;
const transitCountAt = transitSumAt + 1;
/** Each stage's time in ms, summed over the wake-ups. */
const stagesAt = transitCountAt + 1;
const wakeupsAt = stagesAt + STAGE_NAMES.length;
/** The worker thread's slice under the fair scheduler (µs), as the kernel reported it. */
const sliceAt = wakeupsAt + 1;
/** Slots of shared memory one recorder writes. */
export const LATENCY_SLOTS = sliceAt + 1;

/** The slice the worker's thread got (native setThreadSlice), for the agent to show. */
export function recordSlice(values: Float64Array, at: number, us: number): void {
  values[at + sliceAt] = us;
}

/** Frames whose transit one recorder keeps until the send that carries them. */
const MAX_IN_FLIGHT = 8192;

export class LatencyRecorder {
  /** performance.now() minus the stamps' clock (native monotonicMs): both count CLOCK_MONOTONIC. */
  private readonly offsetMs: number;
  private last = 0;
  /** Stamps (performance.now()'s clock) of the frames queued to send and not yet sent. */
  private readonly stamps = new Float64Array(MAX_IN_FLIGHT);
  private queued = 0;

  constructor(
    private readonly values: Float64Array,
    private readonly at: number,
    monotonicMs: () => number,
  ) {
    this.offsetMs = clockOffset(monotonicMs);
  }

  /** A wake-up: its readiness was seen at `readyAt` (monotonicMs's clock, NaN if unknown). */
  wake(readyAt: number): void {
    const now = (this.last = performance.now());
    this.values[this.at + wakeupsAt]++;
    const ready = readyAt + this.offsetMs;
    if (ready <= now) this.values[this.at + stagesAt + Stage.enter] += now - ready;
  }

  /** The first frame of a wake-up was received by the kernel at `stamp` (monotonicMs's clock). */
  firstStamp(stamp: number, readyAt: number): void {
    if (stamp <= readyAt) this.values[this.at + stagesAt + Stage.wait] += readyAt - stamp;
  }

  /** The time since the last mark was spent in `stage`. */
  mark(stage: number): void {
    const now = performance.now();
    this.values[this.at + stagesAt + stage] += now - this.last;
    this.last = now;
  }

  /** A frame received at `stamp` (monotonicMs's clock; NaN: unknown) is queued to be sent. */
  queue(stamp: number): void {
    if (stamp === stamp && this.queued < MAX_IN_FLIGHT) this.stamps[this.queued++] = stamp + this.offsetMs;
  }

  /** The queued frames have been sent: their transits go into the histogram. */
  sent(): void {
    if (this.queued === 0) return;
    const now = performance.now();
    const v = this.values;
    const at = this.at;
    for (let i = 0; i < this.queued; i++) {
      const us = Math.max(0, (now - this.stamps[i]) * 1000);
      let bucket = 0;
      while (bucket < TRANSIT_BUCKETS_US.length && us > TRANSIT_BUCKETS_US[bucket]) bucket++;
      v[at + bucketsAt + bucket]++;
      v[at + transitSumAt] += us;
    }
    v[at + transitCountAt] += this.queued;
    this.queued = 0;
  }
}

/** performance.now() minus monotonicMs(): the reading of one between two of the other that are
 *  closest together (a first call to either can take microseconds, which a single pair would
 *  count as offset). */
function clockOffset(monotonicMs: () => number): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 16; i++) {
    const before = monotonicMs();
    const now = performance.now();
    const after = monotonicMs();
    if (after - before < best) [best, offset] = [after - before, now - (before + after) / 2];
  }
  return offset;
}

/** What the recorders of several workers (their shared memory at `at` of each) have seen. */
export interface LatencySummary {
  /** Frames forwarded with a kernel timestamp: their transit's buckets (counts per bound, in
   *  TRANSIT_BUCKETS_US order, then the unbounded one), sum and percentiles (the bound of the
   *  bucket they fall in; null without frames, or beyond the last bound). */
  transit: { frames: number; sumUs: number; buckets: number[]; p50Us: number | null; p99Us: number | null };
  wakeups: number;
  /** Each worker's slice under the kernel's fair scheduler, in µs (0: the kernel keeps none for
   *  it; negative: the errno reading it failed with). */
  slicesUs: number[];
  /** µs spent in each stage over all wake-ups. */
  stagesUs: Record<StageName, number>;
}

export function summarizeLatency(all: readonly { values: Float64Array; at: number }[]): LatencySummary {
  const sum = (slot: number) => all.reduce((s, r) => s + r.values[r.at + slot], 0);
  const buckets = Array.from({ length: TRANSIT_BUCKETS_US.length + 1 }, (_, i) => sum(bucketsAt + i));
  const frames = sum(transitCountAt);
  const percentile = (p: number) => {
    if (frames === 0) return null;
    let seen = 0;
    for (let i = 0; i < TRANSIT_BUCKETS_US.length; i++) if ((seen += buckets[i]) >= p * frames) return TRANSIT_BUCKETS_US[i];
    return null;
  };
  return {
    transit: { frames, sumUs: sum(transitSumAt), buckets, p50Us: percentile(0.5), p99Us: percentile(0.99) },
    wakeups: sum(wakeupsAt),
    slicesUs: all.map((r) => r.values[r.at + sliceAt]),
    stagesUs: Object.fromEntries(STAGE_NAMES.map((name, i) => [name, sum(stagesAt + i) * 1000])) as Record<StageName, number>,
  };
}
