// The exact-match flow cache: an open-addressing table (linear probing, backward-shift
// deletion) whose 64-byte slots hold a flow's key, hash and id together, so that a hit reads
// one slot (OVS's exact-match cache is laid out the same way); dense per-flow columns by id
// for actions, counters and tags; idle expiry by an incremental sweep; eviction of the least
// recently used of a few candidates when full; removal by tag.
import { KEY_WORDS } from './key';
import { connectionOf, TagSets } from './tags';

export interface FlowCacheOptions {
  /** Flows held at most. */
  capacity: number;
  /** A flow unused this long is removed by `expire`. */
  idleTimeoutMs: number;
  /** Where the action programs live (an ActionTable): a cached flow holds its program. */
  programs?: ProgramHolders;
}

export interface ProgramHolders {
  hold(id: number): void;
  release(id: number): void;
}

export interface FlowCacheStats {
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
  expirations: number;
  invalidations: number;
}

/** Which way of its connection a flow set up ahead of its first frame goes: its first hit is
 *  told to connection tracking as that way (none: any other flow). */
export const TellFirst = { none: 0, original: 1, reply: 2 } as const;

const EMPTY = -1;
const EVICTION_CANDIDATES = 4;
/** Per slot: the key's words, then its hash, then the flow id + 1 (0: a free slot). */
const SLOT_WORDS = 16;
const SLOT_HASH = KEY_WORDS;
const SLOT_ID = KEY_WORDS + 1;

export class FlowCache {
  readonly capacity: number;
  readonly idleTimeoutMs: number;
  private readonly programs: ProgramHolders | undefined;
  /** Per flow: the action program id (ActionTable), or EMPTY for a free slot. */
  readonly actions: Int32Array;
  /** Per flow: the time of its last hit, in the caller's millisecond clock. */
  readonly lastUsed: Uint32Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly stats: FlowCacheStats = { hits: 0, misses: 0, inserts: 0, evictions: 0, expirations: 0, invalidations: 0 };
  readonly tagSets = new TagSets();
  /** Per flow: its tracked connection (a slot of the connection table), or -1. */
  readonly connection: Int32Array;
  /** Per flow: TellFirst. */
  readonly tellFirst: Uint8Array;
  /** Per flow: neighbours in its connection's list; the first flow of each connection's. */
  private readonly connectionNext: Int32Array;
  private readonly connectionPrev: Int32Array;
  private readonly connectionHead = new Map<number, number>();
  private readonly slots: Uint32Array;
  /** Per flow: the slot holding its key. */
  private readonly slotOf: Int32Array;
  private readonly tagSet: Int32Array;
  /** Per flow: neighbours in its tag set's list, or (`next` only) the free list. */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly slotMask: number;
  private freeHead = 0;
  private count = 0;
  private sweepHand = 0;
  private evictHand = 0;

  constructor(options: FlowCacheOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new RangeError('flow cache capacity must be a positive integer');
    const n = options.capacity;
    this.capacity = n;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.programs = options.programs;
    this.slotOf = new Int32Array(n);
    this.actions = new Int32Array(n).fill(EMPTY);
    this.tagSet = new Int32Array(n);
    this.lastUsed = new Uint32Array(n);
    this.packets = new Float64Array(n);
    this.bytes = new Float64Array(n);
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.connection = new Int32Array(n).fill(EMPTY);
    this.tellFirst = new Uint8Array(n);
    this.connectionNext = new Int32Array(n);
    this.connectionPrev = new Int32Array(n);
    for (let i = 0; i < n; i++) this.next[i] = i + 1 < n ? i + 1 : EMPTY;
    // At most three quarters full, usually about half: probes stay short.
    let slots = 2;
    while (slots * 3 < n * 4) slots *= 2;
    this.slots = new Uint32Array(slots * SLOT_WORDS);
    this.slotMask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The flow id holding this key, or -1. Counts a hit or a miss. */
  lookup(key: Uint32Array, at: number, hash: number): number {
    const id = this.find(key, at, hash);
    if (id === EMPTY) this.stats.misses++;
    else this.stats.hits++;
    return id;
  }

  /** Looks up `count` keys laid out one after another in `keys`, with their `hashes`; writes
   *  each flow id or -1 to `ids`. Every home slot is read before any is compared, so that the
   *  cache misses of a batch overlap instead of following one another. */
  lookupBatch(keys: Uint32Array, count: number, hashes: Uint32Array, ids: Int32Array): void {
    const slots = this.slots;
    for (let i = 0; i < count; i++) ids[i] = slots[(hashes[i] & this.slotMask) * SLOT_WORDS + SLOT_ID];
    for (let i = 0; i < count; i++) {
      // An empty home slot is a miss without probing.
      const id = ids[i] === 0 ? EMPTY : this.find(keys, i * KEY_WORDS, hashes[i]);
      ids[i] = id;
      if (id === EMPTY) this.stats.misses++;
      else this.stats.hits++;
    }
  }

  /** Installs a flow (the key must not be cached); evicts one first when full. Returns its id. */
  insert(key: Uint32Array, at: number, hash: number, actionId: number, tags: readonly string[], now: number, connection = EMPTY, tellFirst = 0): number {
    if (this.count === this.capacity) this.evictOne();
    const id = this.freeHead;
    this.freeHead = this.next[id];
    this.actions[id] = actionId;
    this.programs?.hold(actionId);
    this.tellFirst[id] = tellFirst;
    this.lastUsed[id] = now;
    this.packets[id] = 0;
    this.bytes[id] = 0;
    const set = this.tagSets.intern(tags);
    this.tagSet[id] = set;
    this.tagSets.refs[set]++;
    const head = this.tagSets.head[set];
    this.next[id] = head;
    this.prev[id] = EMPTY;
    if (head !== EMPTY) this.prev[head] = id;
    this.tagSets.head[set] = id;
    this.connection[id] = connection;
    if (connection !== EMPTY) {
      const first = this.connectionHead.get(connection) ?? EMPTY;
      this.connectionNext[id] = first;
      this.connectionPrev[id] = EMPTY;
      if (first !== EMPTY) this.connectionPrev[first] = id;
      this.connectionHead.set(connection, id);
    }
    let slot = hash & this.slotMask;
    while (this.slots[slot * SLOT_WORDS + SLOT_ID] !== 0) slot = (slot + 1) & this.slotMask;
    const base = slot * SLOT_WORDS;
    this.slots.set(key.subarray(at, at + KEY_WORDS), base);
    this.slots[base + SLOT_HASH] = hash;
    this.slots[base + SLOT_ID] = id + 1;
    this.slotOf[id] = slot;
    this.count++;
    this.stats.inserts++;
    return id;
  }

  remove(id: number): void {
    if (this.actions[id] === EMPTY) return;
    const set = this.tagSet[id];
    const [before, after] = [this.prev[id], this.next[id]];
    if (before !== EMPTY) this.next[before] = after;
    else this.tagSets.head[set] = after;
    if (after !== EMPTY) this.prev[after] = before;
    if (--this.tagSets.refs[set] === 0) this.tagSets.release(set);
    const connection = this.connection[id];
    if (connection !== EMPTY) {
      const [earlier, later] = [this.connectionPrev[id], this.connectionNext[id]];
      if (earlier !== EMPTY) this.connectionNext[earlier] = later;
      else if (later !== EMPTY) this.connectionHead.set(connection, later);
      else this.connectionHead.delete(connection);
      if (later !== EMPTY) this.connectionPrev[later] = earlier;
      this.connection[id] = EMPTY;
    }
    this.unindex(id);
    this.programs?.release(this.actions[id]);
    this.actions[id] = EMPTY;
    this.next[id] = this.freeHead;
    this.freeHead = id;
    this.count--;
  }

  /** Removes every flow tagged `tag` (or, for a connection's tag, of that connection); returns how many. */
  invalidate(tag: string): number {
    let removed = 0;
    const connection = connectionOf(tag);
    if (connection >= 0) {
      for (let id = this.connectionHead.get(connection) ?? EMPTY; id !== EMPTY; ) {
        const following = this.connectionNext[id];
        this.remove(id);
        removed++;
        id = following;
      }
      this.stats.invalidations += removed;
      return removed;
    }
    for (const set of this.tagSets.setsWith(tag)) {
      for (let id = this.tagSets.head[set]; id !== EMPTY; ) {
        const following = this.next[id];
        this.remove(id);
        removed++;
        id = following;
      }
    }
    this.stats.invalidations += removed;
    return removed;
  }

  /** Removes every flow. */
  clear(): number {
    let removed = 0;
    for (let id = 0; id < this.capacity; id++) {
      if (this.actions[id] !== EMPTY) {
        this.remove(id);
        removed++;
      }
    }
    return removed;
  }

  /** Looks at up to `budget` slots from where the last sweep stopped and removes idle flows. */
  expire(now: number, budget: number): number {
    let removed = 0;
    for (let i = 0; i < budget && this.count > 0; i++) {
      const id = this.sweepHand;
      this.sweepHand = (this.sweepHand + 1) % this.capacity;
      if (this.actions[id] !== EMPTY && ((now - this.lastUsed[id]) >>> 0) > this.idleTimeoutMs) {
        this.remove(id);
        removed++;
      }
    }
    this.stats.expirations += removed;
    return removed;
  }

  /** Calls `visit` for each cached flow with its key's words (a view, valid during the call). */
  forEach(visit: (id: number, key: Uint32Array, tags: readonly string[]) => void): void {
    for (let id = 0; id < this.capacity; id++) {
      if (this.actions[id] === EMPTY) continue;
      const base = this.slotOf[id] * SLOT_WORDS;
      visit(id, this.slots.subarray(base, base + KEY_WORDS), this.tagSets.tags(this.tagSet[id]));
    }
  }

  /** One word of a cached flow's key (KeyWord), for housekeeping scans that must not allocate. */
  keyWord(id: number, word: number): number {
    return this.slots[this.slotOf[id] * SLOT_WORDS + word];
  }

  /** Typed-array bytes per flow of capacity (what `capacity` flows cost, divided by it). */
  get bytesPerFlow(): number {
    const columns = [this.slots, this.slotOf, this.actions, this.tagSet, this.lastUsed, this.packets, this.bytes, this.next, this.prev];
    return columns.reduce((sum, c) => sum + c.byteLength, 0) / this.capacity;
  }

  /** Like lookup, without counting. */
  find(key: Uint32Array, at: number, hash: number): number {
    const slots = this.slots;
    for (let slot = hash & this.slotMask; ; slot = (slot + 1) & this.slotMask) {
      const base = slot * SLOT_WORDS;
      const idPlusOne = slots[base + SLOT_ID];
      if (idPlusOne === 0) return EMPTY;
      if (slots[base + SLOT_HASH] !== hash) continue;
      let w = 0;
      while (w < KEY_WORDS && slots[base + w] === key[at + w]) w++;
      if (w === KEY_WORDS) return idPlusOne - 1;
    }
  }

  private unindex(id: number): void {
    const mask = this.slotMask;
    const slots = this.slots;
    let hole = this.slotOf[id];
    // Backward-shift: pull later entries of the probe run into the hole when their home allows.
    for (let j = (hole + 1) & mask; slots[j * SLOT_WORDS + SLOT_ID] !== 0; j = (j + 1) & mask) {
      const home = slots[j * SLOT_WORDS + SLOT_HASH] & mask;
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (movable) {
        slots.copyWithin(hole * SLOT_WORDS, j * SLOT_WORDS, (j + 1) * SLOT_WORDS);
        this.slotOf[slots[hole * SLOT_WORDS + SLOT_ID] - 1] = hole;
        hole = j;
      }
    }
    slots.fill(0, hole * SLOT_WORDS, (hole + 1) * SLOT_WORDS);
  }

  private evictOne(): void {
    let victim = EMPTY;
    for (let seen = 0; seen < EVICTION_CANDIDATES; ) {
      const id = this.evictHand;
      this.evictHand = (this.evictHand + 1) % this.capacity;
      if (this.actions[id] === EMPTY) continue;
      if (victim === EMPTY || this.lastUsed[id] < this.lastUsed[victim]) victim = id;
      seen++;
    }
    this.remove(victim);
    this.stats.evictions++;
  }
}
