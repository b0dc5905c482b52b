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
    const waiting = this.waiting(arriving);
    for (const port of ports) {
      const wanted = this.wants(port, waiting);
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

  /** A port given to the workers (attached, up again, or to a restarted worker): the window it
   *  holds with from its first frame when its VM is arriving here, else undefined. It goes in
   *  the same message as the port: a hold sent after it would leave a worker the time to forward
   *  to the port meanwhile, to which the tunnel's map may send already (seen under a CPU hog: a
   *  few frames waited in the paused guest's tap, and came to it twice). */
  attaching(port: HoldablePort, arriving: readonly Migration[]): number | undefined {
    if (!this.holding.has(port.number)) {
      if (!this.wants(port, this.waiting(arriving))) return undefined;
      this.holding.add(port.number);
      this.log.info({ port: port.number, name: port.name }, 'holding frames for a VM arriving here');
    }
    return this.windowMs;
  }

  /** Interface → virtual port of the arrivals whose guest has not run here. */
  private waiting(arriving: readonly Migration[]): Map<string, string> {
    return new Map(arriving.filter((m) => !this.arrived.has(arrivalOf(m))).map((m) => [m.destinationInterface, m.port]));
  }

  private wants(port: HoldablePort, waiting: Map<string, string>): boolean {
    return port.binding !== undefined && waiting.get(port.name) === port.binding;
  }

  private hold(number: number): ToDatapath {
    return { type: 'hold', number, windowMs: this.windowMs };
  }
}
