// A bridge's MAC learning table in shared memory: every simulation thread learns into the
// same table and the datapath refreshes it for flows that hit the cache. Open addressing on
// (VLAN, MAC); a spin lock on Atomics guards writers; the cap refuses (and counts) rather
// than evicts, as a switch under a MAC flood should keep the stations it already knows.

export type LearnResult = 'new' | 'refreshed' | 'moved' | 'refused';

export interface MacEntry {
  vlan: number;
  mac: Uint8Array;
  port: number;
  /** Seconds since the table's epoch. */
  lastSeen: number;
}

const Header = { lock: 0, count: 1, capacity: 2, refusals: 3 } as const;
const HEADER_WORDS = 4;
/** Per slot: key high (vlan << 16 | mac[0..1]), key low (mac[2..5]), port (0 = empty), last seen. */
const SLOT_WORDS = 4;
const Slot = { keyHigh: 0, keyLow: 1, port: 2, lastSeen: 3 } as const;

export class MacTable {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly mask: number;

  /** A new table for `capacity` entries, or a view of one another thread made (its `buffer`). */
  constructor(capacityOrBuffer: number | SharedArrayBuffer) {
    if (typeof capacityOrBuffer === 'number') {
      let slots = 2;
      while (slots < capacityOrBuffer * 2) slots *= 2;
      this.buffer = new SharedArrayBuffer((HEADER_WORDS + slots * SLOT_WORDS) * 4);
      this.words = new Int32Array(this.buffer);
      this.words[Header.capacity] = capacityOrBuffer;
    } else {
      this.buffer = capacityOrBuffer;
      this.words = new Int32Array(this.buffer);
    }
    this.mask = (this.words.length - HEADER_WORDS) / SLOT_WORDS - 1;
  }

  get size(): number {
    return Atomics.load(this.words, Header.count);
  }

  get capacity(): number {
    return this.words[Header.capacity];
  }

  /** Times a new MAC was refused because the table was full. */
  get refusals(): number {
    return Atomics.load(this.words, Header.refusals);
  }

  /** Port of (vlan, mac), or 0 when unknown. */
  lookup(vlan: number, mac: Uint8Array, at = 0): number {
    return this.locked(() => {
      const slot = this.find(keyHigh(vlan, mac, at), keyLow(mac, at));
      return slot < 0 ? 0 : this.words[this.base(slot) + Slot.port];
    });
  }

  learn(vlan: number, mac: Uint8Array, at: number, port: number, now: number): LearnResult {
    const high = keyHigh(vlan, mac, at);
    const low = keyLow(mac, at);
    return this.locked(() => {
      const slot = this.find(high, low);
      const w = this.words;
      if (slot >= 0) {
        const b = this.base(slot);
        w[b + Slot.lastSeen] = now;
        if (w[b + Slot.port] === port) return 'refreshed';
        w[b + Slot.port] = port;
        return 'moved';
      }
      if (w[Header.count] >= w[Header.capacity]) {
        w[Header.refusals]++;
        return 'refused';
      }
      let free = home(high, low) & this.mask;
      while (w[this.base(free) + Slot.port] !== 0) free = (free + 1) & this.mask;
      const b = this.base(free);
      [w[b + Slot.keyHigh], w[b + Slot.keyLow], w[b + Slot.port], w[b + Slot.lastSeen]] = [high, low, port, now];
      w[Header.count]++;
      return 'new';
    });
  }

  /** Keeps an entry alive while its station's flows are served from the cache. */
  refresh(vlan: number, mac: Uint8Array, at: number, port: number, now: number): void {
    this.locked(() => {
      const slot = this.find(keyHigh(vlan, mac, at), keyLow(mac, at));
      if (slot >= 0 && this.words[this.base(slot) + Slot.port] === port) this.words[this.base(slot) + Slot.lastSeen] = now;
    });
  }

  /** Removes entries not seen since `before`; returns them. */
  expire(before: number): MacEntry[] {
    return this.removeWhere((port, lastSeen) => port !== 0 && lastSeen < before);
  }

  /** Removes (vlan, mac) if it is on `port` (its owner said it aged out); whether it was. */
  forget(vlan: number, mac: Uint8Array, port: number): boolean {
    const high = keyHigh(vlan, mac, 0);
    const low = keyLow(mac, 0);
    return this.locked(() => {
      const slot = this.find(high, low);
      if (slot < 0 || this.words[this.base(slot) + Slot.port] !== port) return false;
      this.removeSlot(slot);
      return true;
    });
  }

  /** Removes the entries learned on `port` (it went down or was removed); returns them. */
  flushPort(port: number): MacEntry[] {
    return this.removeWhere((p) => p === port);
  }

  entries(): MacEntry[] {
    return this.locked(() => {
      const out: MacEntry[] = [];
      for (let slot = 0; slot <= this.mask; slot++) if (this.words[this.base(slot) + Slot.port] !== 0) out.push(this.entryAt(slot));
      return out;
    });
  }

  private removeWhere(match: (port: number, lastSeen: number) => boolean): MacEntry[] {
    return this.locked(() => {
      const removed: MacEntry[] = [];
      for (let slot = 0; slot <= this.mask; ) {
        const b = this.base(slot);
        if (this.words[b + Slot.port] !== 0 && match(this.words[b + Slot.port], this.words[b + Slot.lastSeen])) {
          removed.push(this.entryAt(slot));
          this.removeSlot(slot); // the next entry may have shifted into this slot: look again
        } else slot++;
      }
      return removed;
    });
  }

  private entryAt(slot: number): MacEntry {
    const b = this.base(slot);
    const high = this.words[b + Slot.keyHigh];
    const low = this.words[b + Slot.keyLow];
    const mac = Uint8Array.from([(high >>> 8) & 0xff, high & 0xff, (low >>> 24) & 0xff, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff]);
    return { vlan: (high >>> 16) & 0xfff, mac, port: this.words[b + Slot.port], lastSeen: this.words[b + Slot.lastSeen] };
  }

  private base(slot: number): number {
    return HEADER_WORDS + slot * SLOT_WORDS;
  }

  private find(high: number, low: number): number {
    const w = this.words;
    for (let slot = home(high, low) & this.mask; ; slot = (slot + 1) & this.mask) {
      const b = this.base(slot);
      if (w[b + Slot.port] === 0) return -1;
      if (w[b + Slot.keyHigh] === high && w[b + Slot.keyLow] === low) return slot;
    }
  }

  /** Backward-shift deletion keeps every probe run unbroken. */
  private removeSlot(slot: number): void {
    const w = this.words;
    let hole = slot;
    for (let j = (hole + 1) & this.mask; w[this.base(j) + Slot.port] !== 0; j = (j + 1) & this.mask) {
      const at = home(w[this.base(j) + Slot.keyHigh], w[this.base(j) + Slot.keyLow]) & this.mask;
      const movable = hole <= j ? at <= hole || at > j : at <= hole && at > j;
      if (movable) {
        w.copyWithin(this.base(hole), this.base(j), this.base(j) + SLOT_WORDS);
        hole = j;
      }
    }
    w.fill(0, this.base(hole), this.base(hole) + SLOT_WORDS);
    w[Header.count]--;
  }

  private locked<T>(work: () => T): T {
    while (Atomics.compareExchange(this.words, Header.lock, 0, 1) !== 0) Atomics.wait(this.words, Header.lock, 1, 1);
    try {
      return work();
    } finally {
      Atomics.store(this.words, Header.lock, 0);
      Atomics.notify(this.words, Header.lock, 1);
    }
  }
}

/** The home slot's hash: MACs of one vendor share their first bytes, so both words are mixed. */
function home(high: number, low: number): number {
  let h = Math.imul(high ^ 0x9e3779b9, 0x85ebca6b) ^ low;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function keyHigh(vlan: number, mac: Uint8Array, at: number): number {
  return ((vlan & 0xfff) << 16) | (mac[at] << 8) | mac[at + 1];
}

function keyLow(mac: Uint8Array, at: number): number {
  return (mac[at + 2] << 24) | (mac[at + 3] << 16) | (mac[at + 4] << 8) | mac[at + 5];
}

/** The table's clock: whole seconds, the same in every thread. */
export function macClock(): number {
  return Math.floor(Date.now() / 1000) - 1_735_689_600; // from 2025-01-01, to stay in 31 bits
}
