// How long the switch's thread took to apply each topology change it was told of (the store's
// watch events of one turn, or a snapshot): what a change costs a host as the topology grows.
// The newest RECENT are kept; the percentiles are of those.

const RECENT = 1024;

export interface ChangeTimingSummary {
  /** Changes applied since the switch started. */
  applied: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class ChangeTimings {
  private readonly recent = new Float64Array(RECENT);
  private applied = 0;

  /** Times `apply`, which runs synchronously, and returns what it returns. */
  time<T>(apply: () => T): T {
    const start = performance.now();
    try {
      return apply();
    } finally {
      this.recent[this.applied++ % RECENT] = performance.now() - start;
    }
  }

  summary(): ChangeTimingSummary {
    const sorted = this.recent.slice(0, Math.min(this.applied, RECENT)).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(3)));
    return { applied: this.applied, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
  }
}
