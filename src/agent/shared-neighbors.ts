// The neighbors this host's routers resolve go to the store, for every host (and a restart),
// and age out of it as a MAC table's stations do: one this host's routers have not heard from
// (an ARP or neighbor advertisement, a VM's own re-validation of its gateway included) for the
// aging time is taken out of the store, and every host's routers resolve it again when they
// next need it. Only the host that heard a neighbor ages it: the others did not hear it.
import type { Logger } from 'pino';
import type { Neighbor } from '../simulation';
import { ADMIN_TENANT, neighborId, TopologyStore } from '../topology';

export class SharedNeighbors {
  /** Neighbors heard here: their MAC, and when last heard (ms). */
  private readonly heardAt = new Map<string, { neighbor: Neighbor; at: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly store: TopologyStore, private readonly agingSeconds: number, private readonly logger: Logger) {
    this.timer = setInterval(() => void this.age(), Math.max(1000, (agingSeconds * 1000) / 2));
  }

  /** Neighbors the routers heard from: new or moved ones go to the store; each is fresh again. */
  async heard(neighbors: readonly Neighbor[], now = Date.now()): Promise<void> {
    for (const n of neighbors) {
      const id = neighborId(n.router, n.address);
      const known = this.heardAt.get(id);
      this.heardAt.set(id, { neighbor: n, at: now });
      if (known?.neighbor.mac === n.mac) continue;
      try {
        if ((await this.store.get('neighbor', id))?.value.mac === n.mac) continue;
        await this.store.put('neighbor', { id, tenant: ADMIN_TENANT, router: n.router, address: n.address, mac: n.mac });
      } catch (error) {
        this.heardAt.delete(id); // shared at the next hearing
        this.logger.warn({ err: error, neighbor: n }, 'could not share a resolved neighbor (kept locally)');
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Takes out of the store the neighbors not heard from for the aging time, if the store still
   *  has them as they were heard. */
  private async age(now = Date.now()): Promise<void> {
    for (const [id, { neighbor, at }] of [...this.heardAt]) {
      if (now - at < this.agingSeconds * 1000) continue;
      this.heardAt.delete(id);
      try {
        const stored = await this.store.get('neighbor', id);
        if (stored?.value.mac === neighbor.mac) await this.store.delete('neighbor', id, stored.version);
      } catch (error) {
        this.logger.warn({ err: error, neighbor }, 'could not take an aged neighbor out of the store');
      }
    }
  }
}
