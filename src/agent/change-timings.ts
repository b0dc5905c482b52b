// How long the switch's thread took to apply each batch of topology changes the store's watch
// told (the events of one turn), per change: what a change costs a host as the topology grows.
// The thread's CPU time, which the other threads and processes of a busy machine do not
// inflate, and the wall time beside it. The newest RECENT batches are kept; the percentiles
// are of those.
import { native } from '../datapath';

const RECENT = 1024;

export interface ChangeTimingSummary {
  /** Changes applied since the switch started, and the batches they came in. */
  applied: number;
  batches: number;
  /** Per change, of the batches kept: CPU time of the switch's thread, and wall time. */
  cpuP50Ms: number;
  cpuP99Ms: number;
  wallP99Ms: number;
}

export class ChangeTimings {
  private readonly cpu = new Float64Array(RECENT);
  private readonly wall = new Float64Array(RECENT);
  private applied = 0;
  private batches = 0;

  /** Times `apply` of `changes` changes, which runs synchronously. */
  time(changes: number, apply: () => void): void {
    const [cpu, wall] = [native.threadCpuMs(), performance.now()];
    try {
      apply();
    } finally {
      const at = this.batches++ % RECENT;
      this.cpu[at] = (native.threadCpuMs() - cpu) / Math.max(1, changes);
      this.wall[at] = (performance.now() - wall) / Math.max(1, changes);
      this.applied += changes;
    }
  }

  summary(): ChangeTimingSummary {
    const kept = Math.min(this.batches, RECENT);
    const quantile = (values: Float64Array, q: number) => {
      const sorted = values.slice(0, kept).sort();
      return kept === 0 ? 0 : Number(sorted[Math.min(kept - 1, Math.floor(q * kept))].toFixed(3));
    };
    return { applied: this.applied, batches: this.batches, cpuP50Ms: quantile(this.cpu, 0.5), cpuP99Ms: quantile(this.cpu, 0.99), wallP99Ms: quantile(this.wall, 0.99) };
  }
}
