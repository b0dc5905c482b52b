// What the datapath workers' counters in shared memory add up to: the switch's totals (flows,
// drops, latency, the tunnel) and one port's. Read without a message to any worker.
import { CacheCounter, DatapathCounters, LatencySummary, PortCounter, summarizeLatency, sumCounters, TUNNEL_PORT } from '../datapath';
import { DROP_REASONS } from '../flow';
import type { PortInfo } from './port-config';

export interface DatapathTotals {
  flows: { cached: number; hits: number; misses: number; upcalls: number; inserts: number; evictions: number; expirations: number; invalidations: number; programs: number };
  /** Frames dropped, by reason (DROP_REASONS), every reason present. */
  drops: Record<string, number>;
  /** Where forwarded frames' time goes (datapath/latency.ts). */
  latency: LatencySummary;
  /** The VXLAN tunnel's datagrams, when there is a tunnel. */
  tunnel: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number } | null;
}

/** The totals over every worker's counters (`all`, one per worker, at least one). */
export function datapathTotals(all: DatapathCounters[], hasTunnel: boolean): DatapathTotals {
  const first = all[0];
  const cache = (c: number) => sumCounters(all, first.cacheIndex(c));
  const tunnel = (c: number) => sumCounters(all, first.portIndex(TUNNEL_PORT, c));
  return {
    flows: {
      cached: cache(CacheCounter.flows), hits: cache(CacheCounter.hits), misses: cache(CacheCounter.misses),
      upcalls: cache(CacheCounter.upcalls), inserts: cache(CacheCounter.inserts), evictions: cache(CacheCounter.evictions),
      expirations: cache(CacheCounter.expirations), invalidations: cache(CacheCounter.invalidations), programs: cache(CacheCounter.programs),
    },
    drops: Object.fromEntries(DROP_REASONS.map((reason, code) => [reason, sumCounters(all, first.dropIndex(code))])),
    latency: summarizeLatency(all.map((c) => ({ values: c.values, at: c.latencyAt }))),
    tunnel: hasTunnel ? {
      rxPackets: tunnel(PortCounter.rxPackets), rxBytes: tunnel(PortCounter.rxBytes),
      txPackets: tunnel(PortCounter.txPackets), txBytes: tunnel(PortCounter.txBytes),
    } : null,
  };
}

/** One port's counters over every worker, and its drops by reason (only the reasons seen). */
export function portTotals(all: DatapathCounters[], port: number): Pick<PortInfo, 'counters' | 'drops'> {
  const counter = (c: number) => sumCounters(all, all[0].portIndex(port, c));
  return {
    counters: {
      rxPackets: counter(PortCounter.rxPackets), rxBytes: counter(PortCounter.rxBytes), rxDropped: counter(PortCounter.rxDropped),
      txPackets: counter(PortCounter.txPackets), txBytes: counter(PortCounter.txBytes), txDropped: counter(PortCounter.txDropped),
    },
    drops: Object.fromEntries(DROP_REASONS.map((reason, code) => [reason, sumCounters(all, all[0].portDropIndex(port, code))] as const).filter(([, n]) => n > 0)),
  };
}
