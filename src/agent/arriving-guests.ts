// VMs migrating to this host: while one's guest has not run here yet, the datapath holds what
// is sent to its port (src/datapath/held-frames.ts). This says which ports hold, from the
// migrations in the store, and ends a hold when the guest first sends here.
import type { Logger } from 'pino';
import type { ToDatapath } from '../datapath';
import type { Migration } from '../topology';

/** A datapath port as holding needs it. */
export interface HoldablePort {
  number: number;
  name: string;
  /** The virtual port it is bound to. */
  binding?: string;
}

const arrivalOf = (m: Migration): string => `${m.port}@${m.begunAt}`;

export class ArrivingGuests {
  /** Datapath ports whose frames are held. */
  private readonly holding = new Set<number>();
  /** Arrivals (port@begunAt) whose guest has run here: never held again. */
  private readonly arrived = new Set<string>();

  constructor(
    private readonly windowMs: number,
    private readonly toWorkers: (message: ToDatapath) => void,
    private readonly log: Logger,
  ) {}

  /** Holds the ports of arrivals (`arriving`: migrations to this host whose guest has not run)
   *  that have not run here; lets go of the others (committed, aborted, ended by a deadline). */
  sync(arriving: readonly Migration[], ports: Iterable<HoldablePort>): void {
    const waiting = new Map(arriving.filter((m) => !this.arrived.has(arrivalOf(m))).map((m) => [m.destinationInterface, m.port]));
    for (const port of ports) {
      const wanted = port.binding !== undefined && waiting.get(port.name) === port.binding;
      if (wanted === this.holding.has(port.number)) continue;
      if (wanted) this.holding.add(port.number);
      else this.holding.delete(port.number);
      this.toWorkers(wanted ? this.hold(port.number) : { type: 'release', number: port.number });
      this.log.info({ port: port.number, name: port.name }, wanted ? 'holding frames for a VM arriving here' : 'no longer holding frames');
    }
  }

  /** A held port's guest sent: it runs here, and every worker sends what it holds for it.
   *  Returns the migration it arrived by, or undefined when the port was not held. */
  guestRan(port: HoldablePort, arriving: readonly Migration[]): Migration | undefined {
    const migration = arriving.find((m) => m.port === port.binding && m.destinationInterface === port.name);
    if (!migration || !this.holding.delete(port.number)) return undefined;
    this.arrived.add(arrivalOf(migration));
    this.toWorkers({ type: 'release', number: port.number });
    this.log.info({ port: port.number, name: port.name, migration: migration.id }, 'the arriving VM runs here: held frames sent');
    return migration;
  }

  /** The port is gone from the datapath, and what it held with it. */
  forget(number: number): void {
    this.holding.delete(number);
  }

  /** What a restarted worker must hold again. */
  holds(): ToDatapath[] {
    return [...this.holding].map((number) => this.hold(number));
  }

  private hold(number: number): ToDatapath {
    return { type: 'hold', number, windowMs: this.windowMs };
  }
}
