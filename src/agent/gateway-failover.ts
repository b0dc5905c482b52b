// Gateway failover: a binding with standby hosts (an external network's uplink, bound on one
// gateway host at a time so that the outside sees one way in) moves to the first live standby
// when its host's agent dies. Each standby's agent watches the host's liveness (its lease in
// the store) and takes the binding over with a compare-and-set, so that two never both do; a
// standby later in the list waits while one before it lives. The binding's watch then moves
// the uplink everywhere: the new host binds its interface and announces the gateways'
// addresses (gateway-announcer.ts), the other hosts tunnel to it. The host that died becomes
// the last standby, and stays one when it comes back.
import type { Logger } from 'pino';
import { StoreConflict, TopologyStore } from '../topology';
import type { HostTopology } from './host-topology';

/** How often a standby looks at its bindings' hosts: a failover takes the host's lease time
 *  (its agent's --host-lease) and at most this much more. */
const CHECK_MS = 500;

export class GatewayFailover {
  /** Bindings this host took over. */
  takeovers = 0;
  private readonly timer: NodeJS.Timeout;
  private checking = false;

  constructor(private readonly store: TopologyStore, private readonly topology: HostTopology, private readonly logger: Logger) {
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    const bindings = this.topology.standbyHere();
    if (bindings.length === 0 || this.checking) return;
    this.checking = true;
    try {
      const live = await this.store.liveHosts();
      const me = this.topology.hostId;
      for (const b of bindings) {
        if (live.has(b.host)) continue;
        const at = b.standby.findIndex((s) => s.host === me);
        if (b.standby.slice(0, at).some((s) => live.has(s.host))) continue; // one before this host takes it
        const stored = await this.store.get('binding', b.id);
        if (!stored || stored.value.host !== b.host) continue; // moved meanwhile
        const standby = [...stored.value.standby.filter((s) => s.host !== me), { host: b.host, interface: b.interface }];
        try {
          await this.store.put('binding', { ...stored.value, host: me, interface: b.standby[at].interface, standby }, stored.version);
          this.takeovers++;
          this.logger.warn({ port: b.id, from: b.host, interface: b.standby[at].interface }, 'took over a binding whose host is gone (gateway failover)');
        } catch (error) {
          if (!(error instanceof StoreConflict)) throw error; // another standby was first
        }
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'gateway failover: could not look at or take over a binding (tried again shortly)');
    } finally {
      this.checking = false;
    }
  }
}
