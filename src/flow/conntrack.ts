// Connection tracking for security groups, in shared memory: every simulation thread tracks
// into the same table, the agent sweeps out what has expired, and the datapath keeps alive the
// connections whose flows are used. Connections are keyed per zone (one per tenant, from its
// id, so overlapping addresses of two tenants never meet) on the tuple as first seen. Only
// flow setups come here: a flow's first frame, and TCP's SYN, FIN and RST, which the flow key
// keeps apart. The table is bounded: when the slots near a new connection's home are taken it
// is refused (and its flow dropped and counted), while established ones go on.
// A connection whose source NAT translated has a second entry, its reply index: the tuple as
// the outside sees it (translated source), in the NAT's zone, pointing back at the connection
// and holding the source it replaces (nf_conntrack keeps a reply tuple the same way). The two
// live and end together.
// Timeouts follow Linux's nf_conntrack defaults (Documentation/networking/nf_conntrack-sysctl.rst).
import { IpProtocol } from '../packet/ipv4';
import { TcpBits } from './key';

export const CtState = { synSent: 1, synReceived: 2, established: 3, closing: 4, closed: 5, unreplied: 6, replied: 7 } as const;
export type CtStateCode = (typeof CtState)[keyof typeof CtState];
const STATE_NAMES = ['', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE', 'UNREPLIED', 'REPLIED'];
/** Seconds a connection lives past its last flow setup or its last used flow, by state. */
const TIMEOUT_S = [0, 120, 60, 432_000, 120, 10, 30, 120];
/** ICMP's are shorter: nf_conntrack_icmp_timeout. */
const ICMP_TIMEOUT_S = 30;

const Header = { lock: 0, count: 1, refusals: 2, exhausted: 3 } as const;
const HEADER_WORDS = 4;
/** Per slot: status, state, expires (s since the epoch), reply seen, its role, the slot of its
 *  partner (+1; 0: none), the NAT's address (4 words: IPv4 in the first) and port, which side
 *  it translates, then the tuple. A translated
 *  connection holds the source it was given; its reply index, the source it replaced. */
const Slot = { status: 0, state: 1, expires: 2, replied: 3, role: 4, partner: 5, natAddress: 6, natPort: 10, side: 11, tuple: 12 } as const;
const Role = { plain: 0, translated: 1, replyIndex: 2 } as const;
/** Which end of a connection a translation rewrites: the source (source NAT), or the
 *  destination (a load balancer's VIP, to a member). */
const Side = { source: 0, destination: 1 } as const;
/** Live connections per load balancer member, by a hash of its address and port (what least
 *  connections asks): after the slots. */
const LOAD_WORDS = 4096;
/** Ports source NAT tries at random before it tries them all in order. */
const RANDOM_TRIES = 16;
/** A reply index lives as long as its connection, never by itself. */
const FOREVER = 0x7fffffff;
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
  /** Its translation: for a translated connection the address and port it was given, for a
   *  reply index the ones it replaced (and `slot` is then the connection's); `destination`:
   *  of the destination (a VIP's), else of the source. Else null. */
  nat: { address: Uint8Array; port: number; replyIndex: boolean; destination: boolean } | null;
}

/** A connection as first seen, in its zone. */
export interface Tuple {
  zone: readonly [number, number];
  protocol: number;
  source: Uint8Array;
  destination: Uint8Array;
  sourcePort: number;
  destinationPort: number;
}

/** What a translation asks for: the connection's new source (source NAT) or destination (a
 *  load balancer's member) address (IPv4), the zone its reply index is kept in (source NAT:
 *  the outside's), and the ports it may be given, as [first, count] runs. */
export interface Translation {
  zone: readonly [number, number];
  address: Uint8Array;
  ports: readonly (readonly [number, number])[];
  destination?: boolean;
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
      this.buffer = new SharedArrayBuffer((HEADER_WORDS + slots * SLOT_WORDS + LOAD_WORDS) * 4);
    } else this.buffer = capacityOrBuffer;
    this.words = new Int32Array(this.buffer);
    this.mask = (this.words.length - HEADER_WORDS - LOAD_WORDS) / SLOT_WORDS - 1;
    this.epoch = epoch;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** The whole table as it is, taken under its lock: for the agent that takes over from this one. */
  copy(): Uint8Array {
    return this.locked(() => new Uint8Array(this.buffer).slice());
  }

  /** Takes what `copy` gave another table of the same capacity; false (and nothing taken) for
   *  another capacity. Done before any frame is tracked. */
  restore(bytes: Uint8Array): boolean {
    if (bytes.length !== this.buffer.byteLength) return false;
    new Uint8Array(this.buffer).set(bytes);
    Atomics.store(this.words, Header.lock, 0); // copied under the other table's lock
    return true;
  }

  get size(): number {
    return Atomics.load(this.words, Header.count);
  }

  /** New connections refused because the table was full. */
  get refusals(): number {
    return Atomics.load(this.words, Header.refusals);
  }

  /** New connections source NAT found no port for: every one it may give was taken. */
  get exhausted(): number {
    return Atomics.load(this.words, Header.exhausted);
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
      const slot = this.place(state, this.seconds(now) + timeout(state, protocol));
      if (slot < 0) this.words[Header.refusals]++;
      return slot;
    });
  }

  /** Tracks a connection with its source translated (source NAT): to `nat.address` and a port
   *  of `nat.ports` that no connection from there to the same destination holds, with its
   *  reply index in `nat.zone`; or, `nat.destination`, its destination (a load balancer's
   *  member: one port, free unless the same client already reaches it from the same port). A connection tracked
   *  already keeps its translation. `claim`: the only port is this one, and whatever holds it
   *  here is ended (another host, which leased it, says so), its slots added to `claim`. To a
   *  member, a TCP connection that is closing or closed gives up the client's port to a new one
   *  (as Linux's NAT evicts such an entry on a clash): a client that reuses its port to reach
   *  the member through another VIP must not wait out the old connection's time (source NAT
   *  just takes another port). Its slots are added to `evicted`: their flows must go.
   *  The connection (`nat` its new source), or 'exhausted' when every port is taken, or 'full'. */
  openTranslated(t: Tuple, nat: Translation, state: CtStateCode, now: number, claim: number[] | null = null, evicted: number[] = []): Connection | 'exhausted' | 'full' {
    return this.locked(() => {
      this.fill(t.zone, t.protocol, t.source, t.destination, t.sourcePort, t.destinationPort);
      let existing = this.lookup();
      const was = this.base(existing);
      if (existing >= 0 && this.words[was + Slot.role] === Role.translated) {
        const same = this.holdsAddress(was, nat.address) && this.words[was + Slot.natPort] === nat.ports[0][0];
        if (!claim || same) return this.connection(existing, false);
        claim.push(...this.end(existing));
        existing = -1;
      }
      const port = this.freePort(t, nat, claim, evicted);
      if (port < 0) {
        this.words[Header.exhausted]++;
        return 'exhausted';
      }
      // The reply index first (the probe holds its tuple), then the connection.
      const expires = this.seconds(now) + timeout(state, t.protocol);
      const index = this.place(state, FOREVER);
      this.fill(t.zone, t.protocol, t.source, t.destination, t.sourcePort, t.destinationPort);
      const slot = index < 0 ? -1 : existing >= 0 ? existing : this.place(state, expires);
      if (slot < 0) {
        if (index >= 0) this.end(index);
        this.words[Header.refusals]++;
        return 'full';
      }
      const b = this.base(slot);
      const i = this.base(index);
      const side = nat.destination ? Side.destination : Side.source;
      const [replaced, replacedPort] = nat.destination ? [t.destination, t.destinationPort] : [t.source, t.sourcePort];
      this.words[b + Slot.expires] = expires;
      [this.words[b + Slot.role], this.words[b + Slot.partner], this.words[b + Slot.natPort], this.words[b + Slot.side]] = [Role.translated, index + 1, port, side];
      [this.words[i + Slot.role], this.words[i + Slot.partner], this.words[i + Slot.natPort], this.words[i + Slot.side]] = [Role.replyIndex, slot + 1, replacedPort, side];
      this.words.set(addressWords(nat.address), b + Slot.natAddress);
      this.words.set(addressWords(replaced), i + Slot.natAddress);
      if (nat.destination) this.words[this.loadAt(fold(addressWords(nat.address)), port)]++;
      return this.connection(slot, false);
    });
  }

  /** The port for `t` from nat.ports, with the probe left holding its reply index's tuple; -1
   *  when all are taken. Ports are tried at random, then in order: with the blocks at most half
   *  used (the agent leases ahead), a free one is found in two tries on average, where trying
   *  them in order from one point walks the ever longer runs of taken ones. */
  private freePort(t: Tuple, nat: Translation, claim: number[] | null, evicted: number[]): number {
    const starts: number[] = [];
    let total = 0;
    for (const [, count] of nat.ports) {
      starts.push(total);
      total += count;
    }
    const portAt = (i: number): number => {
      let [low, high] = [0, starts.length - 1];
      while (low < high) {
        const middle = (low + high + 1) >> 1;
        if (starts[middle] <= i) low = middle;
        else high = middle - 1;
      }
      return nat.ports[low][0] + i - starts[low];
    };
    // The reply index's tuple: the connection as the far end sees it.
    const index = (port: number) => nat.destination
      ? this.fill(nat.zone, t.protocol, t.source, nat.address, t.sourcePort, port)
      : this.fill(nat.zone, t.protocol, nat.address, t.destination, port, t.destinationPort);
    const free = (port: number): boolean => {
      index(port);
      const holder = this.lookup();
      if (holder < 0) return true;
      if (claim) claim.push(...this.end(holder));
      else if (nat.destination && this.isClosingTcp(holder)) evicted.push(...this.end(holder));
      else return false;
      index(port);
      return true;
    };
    for (let tries = 0; tries < Math.min(total, RANDOM_TRIES); tries++) {
      const port = portAt(Math.floor(Math.random() * total));
      if (free(port)) return port;
    }
    for (let i = 0; i < total; i++) if (free(portAt(i))) return portAt(i);
    return -1;
  }

  /** A free slot near the probe's home, made live with the probe's tuple; -1 when none is. */
  private place(state: CtStateCode, expires: number): number {
    const home = hash(this.probe) & this.mask;
    for (let i = 0; i < PROBE; i++) {
      const slot = (home + i) & this.mask;
      const b = this.base(slot);
      if (this.words[b + Slot.status] === Status.live) continue;
      this.words.set(this.probe, b + Slot.tuple);
      this.words[b + Slot.state] = state;
      this.words[b + Slot.replied] = 0;
      this.words[b + Slot.role] = Role.plain;
      this.words[b + Slot.partner] = 0;
      this.words[b + Slot.side] = Side.source;
      this.words[b + Slot.expires] = expires;
      this.words[b + Slot.status] = Status.live;
      this.words[Header.count]++;
      return slot;
    }
    return -1;
  }

  /** Ends a connection, or a reply index, and its partner; the slots ended. */
  private end(slot: number): number[] {
    const b = this.base(slot);
    if (this.words[b + Slot.status] !== Status.live) return [];
    this.words[b + Slot.status] = Status.gone;
    this.words[Header.count]--;
    if (this.words[b + Slot.role] === Role.translated && this.words[b + Slot.side] === Side.destination) {
      this.words[this.loadAt(fold(this.words.subarray(b + Slot.natAddress, b + Slot.natAddress + 4)), this.words[b + Slot.natPort])]--;
    }
    const partner = this.words[b + Slot.partner] - 1;
    return partner >= 0 ? [slot, ...this.end(partner)] : [slot];
  }

  /** Whether the connection a slot is (or indexes) is TCP's, closing or closed. */
  private isClosingTcp(slot: number): boolean {
    let b = this.base(slot);
    if (this.words[b + Slot.role] === Role.replyIndex) b = this.base(this.words[b + Slot.partner] - 1);
    const state = this.words[b + Slot.state];
    return this.words[b + Slot.tuple + 2] >>> 8 === IpProtocol.tcp && (state === CtState.closing || state === CtState.closed);
  }

  /** Ends a connection a walk opened for a frame that went nowhere after all. */
  close(slot: number): void {
    this.locked(() => this.end(slot));
  }

  /** Live connections a load balancer gave this member (approximate: members that hash alike
   *  count together). */
  load(address: Uint8Array, port: number): number {
    return Atomics.load(this.words, this.loadAt(fold(addressWords(address)), port));
  }

  private holdsAddress(b: number, address: Uint8Array): boolean {
    const words = addressWords(address);
    return words.every((w, k) => this.words[b + Slot.natAddress + k] === w);
  }

  private loadAt(address: number, port: number): number {
    return HEADER_WORDS + (this.mask + 1) * SLOT_WORDS + ((Math.imul(address ^ Math.imul(port, 0x9e3779b1), 0x85ebca6b) >>> 20) & (LOAD_WORDS - 1));
  }

  /** The sources source NAT gave the connections tracked here: address (IPv4 as a number)
   *  and port of each. Read without the lock, which a scan of the whole table would hold for
   *  milliseconds: a connection opened or ended meanwhile may be missed or seen, as a count of
   *  ports in use allows. */
  translations(): { address: number; port: number }[] {
    const out: { address: number; port: number }[] = [];
    for (let slot = 0; slot <= this.mask; slot++) {
      const b = this.base(slot);
      if (this.words[b + Slot.status] === Status.live && this.words[b + Slot.role] === Role.translated && this.words[b + Slot.side] === Side.source) out.push({ address: this.words[b + Slot.natAddress] >>> 0, port: this.words[b + Slot.natPort] });
    }
    return out;
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

  /** A TCP segment forwarded on a connection's cached flow, which the slow path did not see
   *  (a FIN or a reset, which the flow key keeps with the other segments; the first of a flow
   *  set up ahead of it): its state moves on, and with it how long it lives. The datapath
   *  calls this as it forwards, so it takes no lock (which a slow-path thread may hold for a
   *  while): the state moves by compare-and-swap. */
  segmentSeen(slot: number, bits: number, reply: boolean, now: number): void {
    const b = this.base(slot);
    for (;;) {
      if (Atomics.load(this.words, b + Slot.status) !== Status.live) return;
      const state = Atomics.load(this.words, b + Slot.state) as CtStateCode;
      const next = nextTcpState(state, bits, reply);
      if (Atomics.compareExchange(this.words, b + Slot.state, state, next) !== state) continue;
      Atomics.store(this.words, b + Slot.expires, this.seconds(now) + timeout(next, IpProtocol.tcp));
      if (reply) Atomics.store(this.words, b + Slot.replied, 1);
      return;
    }
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

  /** Ends the connections past their time; their slots (whose flows must go). They are looked
   *  for without the lock (a scan of the whole table), then ended under it, each looked at again. */
  sweep(now: number): number[] {
    const at = this.seconds(now);
    const due: number[] = [];
    for (let slot = 0; slot <= this.mask; slot++) {
      const b = this.base(slot);
      if (this.words[b + Slot.status] === Status.live && this.words[b + Slot.expires] <= at) due.push(slot);
    }
    if (due.length === 0) return [];
    return this.locked(() => {
      const gone: number[] = [];
      for (const slot of due) {
        const b = this.base(slot);
        if (this.words[b + Slot.status] === Status.live && this.words[b + Slot.expires] <= at) gone.push(...this.end(slot));
      }
      return gone;
    });
  }

  stateName(state: number): string {
    return STATE_NAMES[state] ?? '?';
  }

  private connection(slot: number, reply: boolean): Connection {
    const b = this.base(slot);
    const role = this.words[b + Slot.role];
    if (role === Role.plain) return { slot, state: this.words[b + Slot.state] as CtStateCode, reply, nat: null };
    const address = new Uint8Array(this.words[this.base(slot) + Slot.tuple + 2] & 0xff); // the tuple's family
    for (let k = 0; k < address.length; k++) address[k] = this.words[b + Slot.natAddress + (k >> 2)] >>> (24 - 8 * (k & 3));
    const nat = { address, port: this.words[b + Slot.natPort], replyIndex: role === Role.replyIndex, destination: this.words[b + Slot.side] === Side.destination };
    const own = role === Role.replyIndex ? this.words[b + Slot.partner] - 1 : slot;
    return { slot: own, state: this.words[this.base(own) + Slot.state] as CtStateCode, reply, nat };
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

/** An address (4 or 16 bytes) as four words, big-endian, IPv4's in the first. */
function addressWords(address: Uint8Array): Int32Array {
  const words = new Int32Array(4);
  for (let k = 0; k < address.length; k++) words[k >> 2] |= address[k] << (24 - 8 * (k & 3));
  return words;
}

function fold(words: Int32Array): number {
  return words[0] ^ words[1] ^ words[2] ^ words[3];
}

function hash(words: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i], 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}
