// The stations the host's bridges have learned: listed for `vswitch mac list`, summed for the
// stats, and aged out when unseen, with the flows that depended on them.
import { formatMac } from '../packet';
import { LearnedStation, macClock, macTag, TABLE_SPACE_TAG } from '../simulation';
import type { DatapathPortView, HostTopology } from './host-topology';

/** A learned station: the bridge and port where it lives. */
export interface LearnedMac {
  bridge: string;
  vlan: number;
  mac: string;
  /** The datapath port on this host, or 0 when the port is not bound here. */
  port: number;
  portName: string;
  lastSeen: number;
}

export interface MacTableTotals {
  entries: number;
  capacity: number;
  refusals: number;
}

export function learnedMacs(topology: HostTopology, ports: readonly DatapathPortView[]): LearnedMac[] {
  const byIndex = new Map(topology.state(ports).ports.map((p) => [p.index, p]));
  return topology.allMacTables().flatMap(({ bridge, table }) =>
    table.entries().map((e) => ({
      bridge, vlan: e.vlan, mac: formatMac(e.mac), port: byIndex.get(e.port)?.datapathPort ?? 0,
      portName: byIndex.get(e.port)?.name ?? '', lastSeen: e.lastSeen,
    })));
}

export function macTableTotals(topology: HostTopology): MacTableTotals {
  const tables = topology.allMacTables().map((t) => t.table);
  const sum = (of: (t: (typeof tables)[number]) => number) => tables.reduce((total, t) => total + of(t), 0);
  return { entries: sum((t) => t.size), capacity: sum((t) => t.capacity), refusals: sum((t) => t.refusals) };
}

/** Takes out the stations unseen for `agingSeconds`: the tags of the flows that depended on
 *  them, and those learned on ports bound here, for the agent to take out of the store. */
export function ageStations(topology: HostTopology, agingSeconds: number): { stale: string[]; aged: LearnedStation[] } {
  const stale: string[] = [];
  const aged: LearnedStation[] = [];
  for (const { bridge, table } of topology.allMacTables()) {
    const expired = table.expire(macClock() - agingSeconds);
    stale.push(...expired.map((e) => macTag(bridge, e.vlan, e.mac)));
    aged.push(...topology.stationsAgedHere(bridge, expired));
  }
  return { stale: stale.length > 0 ? [...stale, TABLE_SPACE_TAG] : [], aged };
}
