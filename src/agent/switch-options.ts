// What a Switch is created with, and the checks its settings pass before anything starts.
import type { Logger } from 'pino';
import { DatapathOptions, DEFAULT_DATAPATH_OPTIONS } from '../datapath';
import { SwitchError } from './errors';

export interface SwitchOptions {
  /** Threads running the fast path (ports are spread over them). */
  datapathWorkers?: number;
  /** Threads of the slow-path pool. */
  simulationThreads?: number;
  macTableSize?: number;
  macAgingSeconds?: number;
  flowCapacity?: number;
  flowIdleMs?: number;
  /** After a datapath worker's wake-up with work, how long it keeps looking for more before it
   *  sleeps (µs): a frame that comes meanwhile finds it awake. 0: it sleeps at once. */
  busyPollUs?: number;
  /** Each datapath worker thread's slice under the kernel's fair scheduler (µs, Linux 6.12 and
   *  later; the kernel holds it to 100–100,000): the shorter, the sooner its wake-up preempts
   *  another thread on its core. 0: the kernel's default. By default 100, or the kernel's
   *  with busy polling. */
  sliceUs?: number;
  /** Slots of 2 KiB in each packet-socket port's receive ring: what the kernel holds for a
   *  port while the agent does not read it (8 MiB a port by default). */
  ringSlots?: number;
  /** Connections security groups track at once (a full table refuses new ones). */
  conntrackSize?: number;
  /** This host's id in the topology (its port bindings name it); the hostname by default. */
  hostId?: string;
  /** This host's underlay address: the VXLAN tunnel to other hosts listens there (UDP 4789). */
  underlay?: string;
  /** How old a frame held for a VM arriving by migration may get and still be sent to it (ms). */
  migrationHoldMs?: number;
  /** Seconds between routers' unsolicited advertisements to this host's VMs (RFC 4861's
   *  MaxRtrAdvInterval is 600; 200 by default). */
  routerAdvertisementSeconds?: number;
  logger?: Logger;
  /** Taking over from a running agent: the tunnel waits for its socket (Switch.inherit). */
  awaitingHandover?: boolean;
}

/** Seconds a station no frame came from stays in its MAC table (and a neighbor no router heard
 *  from stays in the store), as 802.1D's default aging time. */
export const DEFAULT_MAC_AGING_SECONDS = 300;

/** 4,096 slots: 8 MiB a port, the bound its socket's queue had before there was a ring. The
 *  ring holds 4 s of a 1,000-packet/s stream while no one reads it (a takeover under test was
 *  silent 2.3 s on a busy machine, and 1,024 slots lost frames). */
export const DEFAULT_RING_SLOTS = 4096;

/** Limits of the numeric options: [field, smallest, largest]. */
const OPTION_RANGES: [keyof SwitchOptions, number, number][] = [
  ['datapathWorkers', 1, 64],
  ['simulationThreads', 1, 64],
  ['macTableSize', 1, 1 << 24],
  ['macAgingSeconds', 1, 1 << 20],
  ['flowCapacity', 1, 1 << 24],
  ['flowIdleMs', 1, 1 << 30],
  ['busyPollUs', 0, 100_000],
  ['sliceUs', 0, 100_000],
  ['ringSlots', 64, 65_536],
  ['conntrackSize', 2, 1 << 22],
  ['migrationHoldMs', 1, 10_000],
  ['routerAdvertisementSeconds', 1, 1800],
];

export function validateSwitchOptions(options: SwitchOptions): void {
  for (const [field, least, most] of OPTION_RANGES) {
    const value = options[field];
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < least || (value as number) > most)) {
      throw new SwitchError('INVALID_OPTION', `${field} must be a whole number from ${least} to ${most}, not ${JSON.stringify(value)}`, 400, field);
    }
  }
  // Two slots make a page, the ring's unit.
  if (options.ringSlots !== undefined && options.ringSlots % 2 !== 0) throw new SwitchError('INVALID_OPTION', `ringSlots must be even, not ${options.ringSlots}`, 400, 'ringSlots');
}

/** What each datapath worker runs with. */
export function datapathOptionsOf(options: SwitchOptions): DatapathOptions {
  return {
    ...DEFAULT_DATAPATH_OPTIONS,
    ...(options.flowCapacity ? { flowCapacity: options.flowCapacity } : {}),
    ...(options.flowIdleMs ? { flowIdleMs: options.flowIdleMs } : {}),
    ...(options.busyPollUs !== undefined ? { busyPollUs: options.busyPollUs } : {}),
    // A worker that busy-polls is awake while traffic flows, and the short slice made its
    // ping p99 no better (1.08x and 1.17x the kernel's slice, alternated).
    sliceUs: options.sliceUs ?? (options.busyPollUs ? 0 : DEFAULT_DATAPATH_OPTIONS.sliceUs),
  };
}
