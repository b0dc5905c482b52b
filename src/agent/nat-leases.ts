// Source NAT's ports, leased from the store a block at a time (MidoNet's model): a host gives
// a connection a port only from a block it holds, so two hosts never give the same port of one
// address, and no host asks another for each connection. A host holds a block for each
// gateway that a VM bound on it sits behind, and more while its connections use over half of
// what it holds and what the last second's rate adds, or when the simulation ran out (the
// connection refused meanwhile retries);
// a block unused for a while goes back, and all go back when the agent stops. A dead host's
// blocks are taken over only when an address has no block left that nobody holds.
import type { Logger } from 'pino';
import { ADMIN_TENANT, NAT_BLOCK_PORTS, NAT_BLOCKS, NAT_FIRST_PORT, natBlockId, NatBlock, StoreConflict, TopologyStore } from '../topology';
import type { HostTopology } from './host-topology';

/** How long a block beyond what is needed stays unused before it goes back. */
const IDLE_MS = 30_000;
/** How often usage is looked at (a scan of the connection table: 6 ms for a million slots). */
const BALANCE_MS = 1_000;

export interface NatLeaseStats {
  /** Blocks this host holds now. */
  blocks: number;
  /** Connections this host translated that are live now. */
  translations: number;
  leased: number;
  released: number;
  /** Blocks that could not be had: every block of the address is someone's. */
  failures: number;
}

export class NatLeases {
  readonly stats: NatLeaseStats = { blocks: 0, translations: 0, leased: 0, released: 0, failures: 0 };
  private readonly idleSince = new Map<string, number>();
  /** Translations in use per address at the last look: how fast they grow. */
  private readonly lastInUse = new Map<string, number>();
  private running: Promise<void> | null = null;
  private again = false;
  private pending: Record<string, number> = {};
  private counting = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly store: TopologyStore, private readonly topology: HostTopology, private readonly logger: Logger, private readonly idleMs = IDLE_MS) {
    this.timer = setInterval(() => this.balance(), BALANCE_MS);
    this.timer.unref();
  }

  /** Looks again now; `shortages`: addresses the simulation ran out of ports on. Without
   *  `usage`, only that each address wanted has a block: the translations in use are counted
   *  (a scan of the connection table) on shortages and on the timer, not on every change. */
  balance(shortages: Record<string, number> = {}, usage = true): void {
    for (const [key, n] of Object.entries(shortages)) this.pending[key] = (this.pending[key] ?? 0) + n;
    this.counting ||= usage;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'source NAT blocks: could not lease or give back (tried again shortly)'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.balance({}, false);
        }
      });
  }

  /** Once what was asked so far is done. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Gives every block back (the agent stops); `keep`: keeps them, for the agent that took
   *  over from this one carries on with the same connections. */
  async stop(keep = false): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (keep) return;
    for (const b of this.mine()) await this.store.delete('natBlock', b.id).catch(() => undefined);
  }

  private async run(): Promise<void> {
    const [shortages, counting] = [this.pending, this.counting];
    [this.pending, this.counting] = [{}, false];
    const mine = this.mine();
    const wanted = new Map(this.topology.sourceNatWanted().map((w) => [`${w.network}/${w.address}`, w]));
    if (wanted.size === 0 && mine.length === 0) return; // no source NAT here: nothing to count
    if (!counting) {
      for (const { network, address } of wanted.values()) {
        if (!mine.some((b) => b.network === network && b.address === address)) await this.lease(network, address, 1);
      }
      return;
    }
    const used = new Map<string, number>(); // block id -> live translations on it
    const byAddress = new Map(mine.map((b) => [`${b.address}/${b.block}`, b.id]));
    let translations = 0;
    for (const t of this.topology.conntrack.translations()) {
      const address = [24, 16, 8, 0].map((s) => (t.address >>> s) & 0xff).join('.');
      const id = byAddress.get(`${address}/${Math.floor((t.port - NAT_FIRST_PORT) / NAT_BLOCK_PORTS)}`);
      if (id === undefined) continue; // another host's: flow state of its connections
      used.set(id, (used.get(id) ?? 0) + 1);
      translations++;
    }
    this.stats.translations = translations;
    const now = Date.now();
    for (const [key, { network, address }] of wanted) {
      const held = mine.filter((b) => b.network === network && b.address === address);
      const inUse = held.reduce((n, b) => n + (used.get(b.id) ?? 0), 0) + (shortages[key] ?? 0);
      // Room for twice what is in use and what the next two looks may add at the rate of the
      // last: a refused connection waits for its SYN's retransmission (a second), so a burst
      // must find its ports leased ahead.
      const growth = Math.max(0, inUse - (this.lastInUse.get(key) ?? 0));
      this.lastInUse.set(key, inUse);
      const needed = Math.max(1, Math.ceil((2 * (inUse + 2 * growth)) / NAT_BLOCK_PORTS));
      if (held.length < needed) await this.lease(network, address, needed - held.length);
      let spare = held.length - needed;
      for (const b of held) if (spare > 0 && this.idle(b, used, now) && (await this.release(b))) spare--;
    }
    for (const b of mine) if (!wanted.has(`${b.network}/${b.address}`) && this.idle(b, used, now)) await this.release(b);
    this.stats.blocks = this.mine().length;
  }

  /** Whether a block has been unused for long enough to go back. */
  private idle(b: NatBlock, used: Map<string, number>, now: number): boolean {
    if ((used.get(b.id) ?? 0) > 0) {
      this.idleSince.delete(b.id);
      return false;
    }
    const since = this.idleSince.get(b.id) ?? now;
    this.idleSince.set(b.id, since);
    return now - since >= this.idleMs;
  }

  private async lease(network: string, address: string, count: number): Promise<void> {
    const taken = new Map(this.topology.natBlocks().filter((b) => b.network === network && b.address === address).map((b) => [b.block, b.host]));
    const free = shuffled([...Array(NAT_BLOCKS).keys()].filter((n) => !taken.has(n)));
    const host = this.topology.hostId;
    let got = 0;
    for (const block of free) {
      if (got === count) return;
      try {
        await this.store.put('natBlock', { id: natBlockId(network, address, block), tenant: ADMIN_TENANT, network, address, block, host }, 0);
        got++;
        this.stats.leased++;
      } catch (error) {
        if (!(error instanceof StoreConflict)) throw error; // another host took it meanwhile
      }
    }
    // Every block is someone's: take over those of hosts that are gone.
    const live = await this.store.liveHosts();
    for (const [block, holder] of taken) {
      if (got === count) return;
      if (live.has(holder)) continue;
      const stored = await this.store.get('natBlock', natBlockId(network, address, block));
      if (!stored || live.has(stored.value.host)) continue;
      try {
        await this.store.put('natBlock', { ...stored.value, host }, stored.version);
        got++;
        this.stats.leased++;
      } catch (error) {
        if (!(error instanceof StoreConflict)) throw error;
      }
    }
    if (got < count) {
      this.stats.failures += count - got;
      this.logger.warn({ network, address, wanted: count, got }, 'source NAT: every block of ports of this address is held: connections past them are refused');
    }
  }

  private async release(b: NatBlock): Promise<boolean> {
    const gone = await this.store.delete('natBlock', b.id);
    this.idleSince.delete(b.id);
    if (gone) this.stats.released++;
    return gone;
  }

  private mine(): NatBlock[] {
    return this.topology.natBlocks().filter((b) => b.host === this.topology.hostId);
  }
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
