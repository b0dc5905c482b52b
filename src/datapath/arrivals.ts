// Ports of VMs migrating to this host (docs/MIGRATION.md). What is sent to one is held while its
// guest does not run here yet (held-frames.ts). Marks from the source host let go of what the
// guest read there. Once it runs here, the rest goes into its device as fast as the device takes
// it (backlog.ts).
import { dropCode } from '../flow/actions';
import { Backlog, BACKLOG_BATCH, BACKLOG_RETRY_MS } from './backlog';
import type { DatapathCounters } from './counters';
import { HeldFrames } from './held-frames';
import type { Port } from './port';
import type { SentUntilRefused } from './port-output';
import { countDropped } from './send-queue';
import type { Scheduler } from './worker-loop';

const HELD_TOO_LONG = dropCode('heldTooLong');
const MIGRATION_MARK = dropCode('migrationMark');
const READ_AT_SOURCE = dropCode('readAtSource');
const TX_ERROR = dropCode('txError');
const PORT_DOWN = dropCode('portDown');

/** What arrivals need of the datapath. */
export interface ArrivalPorts {
  /** The port with this number, as the datapath has it now. */
  port(number: number): Port | undefined;
  /** Sends `frames` to `port` in order until its device refuses one for want of room. */
  sendUntilRefused(port: Port, frames: Uint8Array[]): SentUntilRefused;
}

export class Arrivals {
  constructor(
    private readonly ports: ArrivalPorts,
    private readonly counters: DatapathCounters,
    private readonly timers: Scheduler,
    private readonly clock: () => number,
  ) {}

  /** Starts holding what is sent to a port. */
  hold(number: number, windowMs: number): void {
    const port = this.ports.port(number);
    if (port && !port.held) port.held = new HeldFrames(windowMs);
  }

  /** The arriving VM's guest sent a frame at the source (its mark came at `now`): what is held
   *  for it from before then, it has read there. The mark itself goes no further. */
  sentAtSource(number: number, now: number): void {
    const c = this.counters.values;
    c[this.counters.dropIndex(MIGRATION_MARK)]++;
    const held = this.ports.port(number)?.held;
    if (held) c[this.counters.dropIndex(READ_AT_SOURCE)] += held.readAtSource(now);
  }

  /** The guest runs here: what the port holds that is still young enough goes, and holding
   *  stops. The frames passed the port's meters and captures as they came. */
  release(number: number): void {
    const port = this.ports.port(number);
    const held = port?.held;
    if (!port || !held) return;
    port.held = null;
    const now = this.clock();
    const frames = held.take(now);
    this.counters.values[this.counters.dropIndex(HELD_TOO_LONG)] += held.dropped;
    if (port.backlog) {
      for (const frame of frames) port.backlog.add(frame);
      return;
    }
    port.backlog = new Backlog(frames, now, held.windowMs);
    this.sendBacklog(port);
  }

  /** The port goes (unbound, or its device down), or the worker dies (`reason`): what it holds
   *  or keeps in a backlog is lost, and counted. */
  forget(port: Port, reason = PORT_DOWN): void {
    const held = port.held;
    const backlog = port.backlog;
    port.held = null;
    port.backlog = null;
    const c = this.counters.values;
    if (held) c[this.counters.dropIndex(HELD_TOO_LONG)] += held.dropped;
    if (backlog) countDropped(this.counters, port.number, backlog.takeDropped(), TX_ERROR);
    countDropped(this.counters, port.number, (held?.size ?? 0) + (backlog?.size ?? 0), reason);
  }

  /** Sends what a port's backlog holds, as far as its device takes it now, and tries the rest
   *  again shortly; ends it once it is empty. */
  private sendBacklog(port: Port): void {
    const backlog = port.backlog;
    if (!backlog) return; // the port went (forget)
    if (port.up) {
      const { taken, rest } = this.ports.sendUntilRefused(port, backlog.front(BACKLOG_BATCH));
      backlog.taken(taken, this.clock(), rest);
    }
    const ended = !port.up || backlog.size === 0 || backlog.givesUp(this.clock());
    countDropped(this.counters, port.number, backlog.takeDropped(), TX_ERROR);
    if (!ended) {
      this.timers.after(BACKLOG_RETRY_MS, () => this.sendBacklog(port));
      return;
    }
    // A port that went down loses what waited for it.
    countDropped(this.counters, port.number, backlog.size, PORT_DOWN);
    port.backlog = null;
  }
}
