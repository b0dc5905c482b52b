// A datapath worker's counters in shared memory: the worker writes them on the hot path with
// plain stores, the agent reads them for `port list`, `stats` and /metrics without a message.
import { DROP_REASONS } from '../flow/actions';
import { LATENCY_SLOTS } from './latency';

export const MAX_PORTS = 1024;
export const PortCounter = { rxPackets: 0, rxBytes: 1, rxDropped: 2, txPackets: 3, txBytes: 4, txDropped: 5 } as const;
const PORT_COUNTERS = 6;
/** The flow cache's counts; `programs`, the action programs it holds (ActionTable), is a size too. */
export const CacheCounter = { hits: 0, misses: 1, flows: 2, inserts: 3, evictions: 4, expirations: 5, invalidations: 6, upcalls: 7, programs: 8 } as const;
const CACHE_COUNTERS = 9;

const portsAt = 0;
const dropsAt = MAX_PORTS * PORT_COUNTERS;
const cacheAt = dropsAt + DROP_REASONS.length;
/** Drops by reason of each port's frames (what it sent that went nowhere), beside the totals. */
const portDropsAt = cacheAt + CACHE_COUNTERS;
/** Where the frames' time goes (latency.ts). */
const latencyAt = portDropsAt + MAX_PORTS * DROP_REASONS.length;
const TOTAL = latencyAt + LATENCY_SLOTS;

export class DatapathCounters {
  readonly values: Float64Array;

  constructor(buffer = new SharedArrayBuffer(TOTAL * 8)) {
    this.values = new Float64Array(buffer);
  }

  get buffer(): SharedArrayBuffer {
    return this.values.buffer as SharedArrayBuffer;
  }

  portIndex(port: number, counter: number): number {
    return portsAt + port * PORT_COUNTERS + counter;
  }

  dropIndex(reasonCode: number): number {
    return dropsAt + reasonCode;
  }

  cacheIndex(counter: number): number {
    return cacheAt + counter;
  }

  portDropIndex(port: number, reasonCode: number): number {
    return portDropsAt + port * DROP_REASONS.length + reasonCode;
  }

  /** Where this worker's LatencyRecorder writes. */
  get latencyAt(): number {
    return latencyAt;
  }

  /** Zeroes a port's counters when its number is given to a new port. */
  resetPort(port: number): void {
    this.values.fill(0, this.portIndex(port, 0), this.portIndex(port, PORT_COUNTERS));
    this.values.fill(0, this.portDropIndex(port, 0), this.portDropIndex(port, DROP_REASONS.length));
  }
}

/** Sums of several workers' counters. */
export function sumCounters(all: readonly DatapathCounters[], index: number): number {
  let sum = 0;
  for (const c of all) sum += c.values[index];
  return sum;
}
