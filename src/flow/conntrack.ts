// Connection tracking for security groups, in shared memory: every simulation thread tracks
// into the same table, the agent sweeps out what has expired, and the datapath keeps alive the
// connections whose flows are used. Connections are keyed per zone (one per tenant, from its
// id, so overlapping addresses of two tenants never meet) on the tuple as first seen. Only
// flow setups come here: a flow's first frame, and TCP's SYN, FIN and RST, which the flow key
// keeps apart. The table is bounded: when the slots near a new connection's home are taken it
// is refused (and its flow dropped and counted), while established ones go on.
// Timeouts follow Linux's nf_conntrack defaults (Documentation/networking/nf_conntrack-sysctl.rst).
import { IpProtocol } from '../packet/ipv4';

export const CtState = { synSent: 1, synReceived: 2, established: 3, closing: 4, closed: 5, unreplied: 6, replied: 7 } as const;
export type CtStateCode = (typeof CtState)[keyof typeof CtState];
const STATE_NAMES = ['', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE', 'UNREPLIED', 'REPLIED'];
/** Seconds a connection lives past its last flow setup or its last used flow, by state. */
const TIMEOUT_S = [0, 120, 60, 432_000, 120, 10, 30, 120];
/** ICMP's are shorter: nf_conntrack_icmp_timeout. */
const ICMP_TIMEOUT_S = 30;

/** TCP's control bits as the flow key keeps them (KeyFlag's tcp bits, shifted down). */
export const TcpBits = { syn: 1, fin: 2, rst: 4, ack: 8 } as const;

const Header = { lock: 0, count: 1, refusals: 2 } as const;
const HEADER_WORDS = 4;
/** Per slot: status, state, expires (s since the epoch), reply seen, then the tuple. */
const Slot = { status: 0, state: 1, expires: 2, replied: 3, tuple: 4 } as const;
/** zone (2 words), protocol << 8 | family, source (4), destination (4), ports. */
const TUPLE_WORDS = 12;
const SLOT_WORDS = Slot.tuple + TUPLE_WORDS;
const Status = { empty: 0, live: 1, gone: 2 } as const;
/** Slots a connection may sit from its home: past them, the table counts as full. */
const PROBE = 32;

export interface Connection {
  slot: number;
  state: CtStateCode;
  /** Whether the frame goes the other way from the connection's first. */
  reply: boolean;
}

export class ConnTable {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly mask: number;
  private readonly epoch: number;
  private readonly probe = new Int32Array(TUPLE_WORDS);

  /** A new table of `capacity` connections (a power of two), or a view of another thread's. */
  constructor(capacityOrBuffer: number | SharedArrayBuffer, epoch = 0) {
    if (typeof capacityOrBuffer === 'number') {
      let slots = 2;
      while (slots < capacityOrBuffer) slots *= 2;
      this.buffer = new SharedArrayBuffer((HEADER_WORDS + slots * SLOT_WORDS) * 4);
    } else this.buffer = capacityOrBuffer;
    this.words = new Int32Array(this.buffer);
    this.mask = (this.words.length - HEADER_WORDS) / SLOT_WORDS - 1;
    this.epoch = epoch;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  get size(): number {
    return Atomics.load(this.words, Header.count);
  }

  /** New connections refused because the table was full. */
  get refusals(): number {
    return Atomics.load(this.words, Header.refusals);
  }

  /** The connection a frame belongs to, either way, or null. */
  find(zone: readonly [number, number], protocol: number, source: Uint8Array, destination: Uint8Array, sourcePort: number, destinationPort: number): Connection | null {
    // Locked by hand, not through `locked`: this runs for every new flow of a member port.
    this.lock();
    try {
      this.fill(zone, protocol, source, destination, sourcePort, destinationPort);
      const forward = this.lookup();
      if (forward >= 0) return this.connection(forward, false);
      this.fill(zone, protocol, destination, source, destinationPort, sourcePort);
      const back = this.lookup();
      return back >= 0 ? this.connection(back, true) : null;
    } finally {
      this.unlock();
    }
  }

  /** Tracks a new connection as first seen; its slot, or -1 when the table is full. */
  open(zone: readonly [number, number], protocol: number, source: Uint8Array, destination: Uint8Array, sourcePort: number, destinationPort: number, state: CtStateCode, now: number): number {
    return this.locked(() => {
      this.fill(zone, protocol, source, destination, sourcePort, destinationPort);
      const existing = this.lookup();
      if (existing >= 0) return existing;
      const home = hash(this.probe) & this.mask;
      for (let i = 0; i < PROBE; i++) {
        const slot = (home + i) & this.mask;
        const b = this.base(slot);
        if (this.words[b + Slot.status] === Status.live) continue;
        this.words.set(this.probe, b + Slot.tuple);
        this.words[b + Slot.state] = state;
        this.words[b + Slot.replied] = 0;
        this.words[b + Slot.expires] = this.seconds(now) + timeout(state, protocol);
        this.words[b + Slot.status] = Status.live;
        this.words[Header.count]++;
        return slot;
      }
      this.words[Header.refusals]++;
      return -1;
    });
  }

  /** A flow setup of a known connection: its new state (or the same), alive from `now`. */
  update(slot: number, state: CtStateCode, reply: boolean, now: number): void {
    this.locked(() => {
      const b = this.base(slot);
      if (this.words[b + Slot.status] !== Status.live) return;
      this.words[b + Slot.state] = state;
      if (reply) this.words[b + Slot.replied] = 1;
      this.words[b + Slot.expires] = this.seconds(now) + timeout(state, this.words[b + Slot.tuple + 2] >>> 8);
    });
  }

  /** Flows of these connections were used: they live on from `now`. */
  refresh(slots: Iterable<number>, now: number): void {
    this.locked(() => {
      for (const slot of slots) {
        const b = this.base(slot);
        if (this.words[b + Slot.status] !== Status.live) continue;
        this.words[b + Slot.expires] = this.seconds(now) + timeout(this.words[b + Slot.state] as CtStateCode, this.words[b + Slot.tuple + 2] >>> 8);
      }
    });
  }

  /** Ends the connections past their time; their slots (whose flows must go). */
  sweep(now: number): number[] {
    return this.locked(() => {
      const gone: number[] = [];
      const at = this.seconds(now);
      for (let slot = 0; slot <= this.mask; slot++) {
        const b = this.base(slot);
        if (this.words[b + Slot.status] !== Status.live || this.words[b + Slot.expires] > at) continue;
        this.words[b + Slot.status] = Status.gone;
        this.words[Header.count]--;
        gone.push(slot);
      }
      return gone;
    });
  }

  stateName(state: number): string {
    return STATE_NAMES[state] ?? '?';
  }

  private connection(slot: number, reply: boolean): Connection {
    return { slot, state: this.words[this.base(slot) + Slot.state] as CtStateCode, reply };
  }

  private fill(zone: readonly [number, number], protocol: number, source: Uint8Array, destination: Uint8Array, sourcePort: number, destinationPort: number): void {
    const p = this.probe;
    p.fill(0);
    p[0] = zone[0];
    p[1] = zone[1];
    p[2] = (protocol << 8) | source.length;
    for (let i = 0; i < source.length; i++) {
      p[3 + (i >> 2)] |= source[i] << (24 - 8 * (i & 3));
      p[7 + (i >> 2)] |= destination[i] << (24 - 8 * (i & 3));
    }
    p[11] = (sourcePort << 16) | destinationPort;
  }

  /** The live slot holding the probe's tuple, or -1. Gone slots are passed over, not ends. */
  private lookup(): number {
    const home = hash(this.probe) & this.mask;
    for (let i = 0; i < PROBE; i++) {
      const b = this.base((home + i) & this.mask);
      const status = this.words[b + Slot.status];
      if (status === Status.empty) return -1;
      if (status !== Status.live) continue;
      let same = true;
      for (let w = 0; w < TUPLE_WORDS && same; w++) same = this.words[b + Slot.tuple + w] === this.probe[w];
      if (same) return (home + i) & this.mask;
    }
    return -1;
  }

  private seconds(now: number): number {
    return Math.floor((now - this.epoch) / 1000);
  }

  private base(slot: number): number {
    return HEADER_WORDS + slot * SLOT_WORDS;
  }

  private locked<T>(work: () => T): T {
    this.lock();
    try {
      return work();
    } finally {
      this.unlock();
    }
  }

  private lock(): void {
    while (Atomics.compareExchange(this.words, Header.lock, 0, 1) !== 0) Atomics.wait(this.words, Header.lock, 1, 1);
  }

  private unlock(): void {
    Atomics.store(this.words, Header.lock, 0);
    Atomics.notify(this.words, Header.lock, 1);
  }
}

function timeout(state: CtStateCode, protocol: number): number {
  return protocol === IpProtocol.icmp || protocol === IpProtocol.icmpv6 ? ICMP_TIMEOUT_S : TIMEOUT_S[state];
}

/** The next TCP state from a flow setup with these control bits, after nf_conntrack's table
 *  (loosely: a connection picked up mid-stream is taken as established, as tcp_loose=1 does). */
export function nextTcpState(state: CtStateCode | 0, bits: number, reply: boolean): CtStateCode {
  if (bits & TcpBits.rst) return CtState.closed;
  if (bits & TcpBits.fin) return CtState.closing;
  if (bits & TcpBits.syn) {
    if (!(bits & TcpBits.ack)) return state === 0 || state === CtState.closed ? CtState.synSent : (state as CtStateCode);
    return reply && state === CtState.synSent ? CtState.synReceived : (state || CtState.established) as CtStateCode;
  }
  if (state === CtState.synReceived && !reply) return CtState.established;
  if (state === 0) return CtState.established;
  return state;
}

function hash(words: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i], 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}
