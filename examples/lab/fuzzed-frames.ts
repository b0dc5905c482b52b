// Hostile input at volume, in one process: random, mutated and truncated frames with random
// vnet headers, on two VM ports, and VXLAN datagrams from a peer host and from strangers on
// the tunnel, through the real datapath engine and the real slow path of a tenant's network:
// a bridge with a VM here and one on the peer host, a router, a second bridge with a VM here.
// Every frame must come out sent (alone, or merged with the TCP segments before it), dropped
// with a reason, or taken in by a device (an ARP for the router) or by the overlay (a capture's
// copy, a connection's state), once each, however many ports it went to. For the suite's fuzz
// test and `npm run bench -- fuzz`.
import { HostTopology } from '../../src/agent/host-topology';
import {
  Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FrameIo, FromDatapath, frameOf, newPortMeterBuffers, packAnswers, PortCounter, PortMeters, PortSpec, TUNNEL_PORT,
} from '../../src/datapath';
import { ConnTable, DROP_REASONS, KEY_WORDS } from '../../src/flow';
import { parseMac, VNET_HEADER_BYTES } from '../../src/packet';
import { decodeState, TopologySimulation } from '../../src/simulation';
import { EMPTY, Kind, KindMap, Stored } from '../../src/topology';

export interface FuzzReport {
  frames: number;
  /** Thrown by the datapath or the slow path (each is caught, counted, and the run goes on). */
  exceptions: number;
  /** Frames neither sent, nor dropped with a reason, nor taken in. */
  unaccounted: number;
  sent: number;
  dropped: Record<string, number>;
  /** Taken in by a device (a router answering an ARP or a ping, a frame held for a neighbor). */
  consumed: number;
  /** TCP segments from the tunnel sent merged into one super-frame with those before them. */
  coalesced: number;
  /** The overlay's own datagrams (flow state, capture requests and copies): no frame in them. */
  overlay: number;
  seconds: number;
}

const PEER = '192.0.2.2';
const PEER_NUMBER = 0xc0000202;
const [VNET_FD, PLAIN_FD, TUNNEL_FD] = [1, 2, 3];

/** xorshift32: the same frames on every run. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Frames to start from: what VMs send (ARP, ping, TCP SYN, UDP, neighbor solicitation), from a
 *  small pool of stations so that learning, unicast and floods all happen. */
function templates(): Uint8Array[] {
  const mac = [2, 0, 0, 0, 0, 1];
  const frame = (ethertype: number, payload: number[]) => Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...mac, ethertype >> 8, ethertype & 0xff, ...payload]);
  const ipv4 = (protocol: number, body: number[]) => frame(0x0800, [0x45, 0, 0, 20 + body.length, 0, 0, 0x40, 0, 64, protocol, 0, 0, 10, 0, 1, 5, 10, 0, 2, 5, ...body]);
  const v6 = (last: number, prefix: number[]) => [...prefix, ...new Array(15 - prefix.length).fill(0), last];
  return [
    frame(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...mac, 10, 0, 1, 5, 0, 0, 0, 0, 0, 0, 10, 0, 1, 1]),
    ipv4(1, [8, 0, 0, 0, 0x12, 0x34, 0, 1, ...new Array(32).fill(0x61)]),
    ipv4(6, [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]),
    ipv4(17, [0x9c, 0x40, 0, 53, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
    // A neighbor solicitation for 2001:db8:1::1 from fe80::5.
    frame(0x86dd, [0x60, 0, 0, 0, 0, 24, 58, 255, ...v6(5, [0xfe, 0x80]), ...v6(1, [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0]), 135, 0, 0, 0, 0, 0, 0, 0, ...v6(1, [0x20, 1, 0x0d, 0xb8, 0, 1])]),
  ];
}

class FuzzIo implements FrameIo {
  delivered = 0;
  readonly readable = new Map<number, () => void>();
  private readonly next = random(0x5eed);
  private readonly frame = new Uint8Array(256);
  private readonly templates = templates();

  constructor(private readonly total: number, private readonly tunnelKeys: readonly number[]) {}

  recvBatch(_fd: number, _isTap: boolean, arena: Uint8Array, base: number, slot: number, max: number, lengths: Uint32Array, vnetHdr: boolean, stamps: Float64Array): number {
    const n = Math.min(max, this.total - this.delivered);
    stamps.fill(NaN, 0, n);
    for (let i = 0; i < n; i++) lengths[i] = this.build(arena, base + i * slot, vnetHdr);
    this.delivered += n;
    return n;
  }

  /** VXLAN datagrams: from the peer host mostly, with one of the network's keys or another;
   *  sometimes from a stranger; sometimes too short for a VXLAN header. */
  recvFromBatch(_fd: number, arena: Uint8Array, base: number, slot: number, max: number, lengths: Uint32Array, sources: Uint32Array, segmentSizes: Uint32Array, stamps: Float64Array): number {
    const r = this.next;
    const n = Math.min(max, this.total - this.delivered);
    stamps.fill(NaN, 0, n);
    for (let i = 0; i < n; i++) {
      const at = base + i * slot;
      sources[i] = r() % 8 === 0 ? r() : PEER_NUMBER;
      segmentSizes[i] = 0;
      const key = r() % 4 === 0 ? r() & 0xffffff : this.tunnelKeys[r() % this.tunnelKeys.length];
      // The inner frame lands after a (zeroed) vnet header and the VXLAN header's 8 bytes.
      const inner = this.build(arena, at + 8, false) - VNET_HEADER_BYTES;
      arena.fill(0, at, at + VNET_HEADER_BYTES);
      arena.set([r() % 16 === 0 ? r() & 0xff : 0x08, 0, 0, 0, key >> 16, (key >> 8) & 0xff, key & 0xff, 0], at + VNET_HEADER_BYTES);
      lengths[i] = r() % 32 === 0 ? VNET_HEADER_BYTES + (r() % 8) : VNET_HEADER_BYTES + 8 + inner;
    }
    this.delivered += n;
    return n;
  }

  sendBatch(_fd: number, _isTap: boolean, _arena: Uint8Array, _offsets: Uint32Array, _lengths: Uint32Array, _pieces: Uint32Array, _start: number, count: number): number {
    return count;
  }

  sendToBatch(_fd: number, _arena: Uint8Array, _offsets: Uint32Array, _lengths: Uint32Array, _pieces: Uint32Array, _destinations: Uint32Array, _segmentSizes: Uint32Array, _start: number, count: number): number {
    return count;
  }

  receiveDrops(): number {
    return 0;
  }

  monotonicMs(): number {
    return performance.now();
  }

  watch(fd: number, onReadable: (readyAt: number) => void): unknown {
    this.readable.set(fd, () => onReadable(NaN));
    return fd;
  }

  unwatch(): void {}

  /** A vnet header (a zeroed one for a port without them) and a frame at `at`; the length. */
  private build(arena: Uint8Array, at: number, withVnet: boolean): number {
    const r = this.next;
    const f = this.frame;
    const start = VNET_HEADER_BYTES;
    f.fill(0, 0, VNET_HEADER_BYTES);
    if (withVnet) {
      const choice = r() % 10;
      if (choice === 0) for (let i = 0; i < VNET_HEADER_BYTES; i++) f[i] = r();
      else if (choice === 1) f.set([1, 0, 0, 0, 0, 0, 34 + (r() % 40), 0, r() % 20, 0]);
    }
    let length: number;
    if (r() % 4 === 0) {
      length = r() % 120;
      for (let i = 0; i < length; i++) f[start + i] = r();
    } else {
      const template = this.templates[r() % this.templates.length];
      f.set(template, start);
      f[start + 5] = r() % 16; // the destination among a few stations, or the router's
      f[start + 11] = r() % 16;
      if (r() % 8 === 0) f[start] |= 1;
      if (r() % 8 === 0) f[start + 6] |= 1;
      if (r() % 4 === 0) f.set(parseMac(ROUTER_MACS[r() % 2]), start);
      for (let flips = r() % 4; flips > 0; flips--) f[start + (r() % template.length)] = r();
      length = r() % 3 === 0 ? r() % (template.length + 1) : template.length;
    }
    arena.set(f.subarray(0, start + length), at);
    return start + length;
  }
}

const ROUTER_MACS = ['02:00:00:00:01:01', '02:00:00:00:01:02'];

/** The tenant's network: bridge A (VM a here, VM r on the peer host), a router, bridge B (VM b
 *  here); datapath port 1 (vnet headers) is a, port 2 (none) is b. */
function network(): { host: HostTopology; keys: number[] } {
  const objects: Stored[] = [];
  const put = <K extends Kind>(kind: K, fields: Partial<KindMap[K]> & { id: string }) => {
    objects.push({ kind, version: objects.length + 1, value: { tenant: 't1', ...EMPTY[kind], ...fields } as KindMap[K] });
  };
  put('host', { id: 'fuzz', underlayAddress: '192.0.2.1' });
  put('host', { id: 'peer', underlayAddress: PEER });
  put('bridge', { id: 'A' });
  put('bridge', { id: 'B' });
  put('router', { id: 'R' });
  put('port', { id: 'rA', device: 'R', mac: ROUTER_MACS[0], addresses: ['10.0.1.1/24'], peer: 'uA', tunnelKey: 11 });
  put('port', { id: 'rB', device: 'R', mac: ROUTER_MACS[1], addresses: ['10.0.2.1/24'], peer: 'uB', tunnelKey: 12 });
  put('port', { id: 'uA', device: 'A', peer: 'rA', tunnelKey: 13 });
  put('port', { id: 'uB', device: 'B', peer: 'rB', tunnelKey: 14 });
  put('port', { id: 'a', device: 'A', portSecurity: false, tunnelKey: 21 });
  put('port', { id: 'b', device: 'B', portSecurity: false, tunnelKey: 22 });
  put('port', { id: 'r', device: 'A', portSecurity: false, tunnelKey: 23 });
  put('binding', { id: 'a', host: 'fuzz', interface: 'fuzz-vnet' });
  put('binding', { id: 'b', host: 'fuzz', interface: 'fuzz-plain' });
  put('binding', { id: 'r', host: 'peer', interface: 'vnet0' });
  const host = new HostTopology('fuzz', 256);
  host.setObjects(objects);
  return { host, keys: [21, 22, 23] };
}

/** Runs `frames` fuzzed frames and datagrams through the datapath and the slow path. */
export function runFuzz(frames: number): FuzzReport {
  const started = performance.now();
  const { host, keys } = network();
  const io = new FuzzIo(frames, keys);
  const counters = new DatapathCounters();
  const upcalls: Extract<FromDatapath, { type: 'upcall' }>[] = [];
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, new PortMeters(newPortMeterBuffers()), new ConnTable(1024), (m) => m.type === 'upcall' && upcalls.push(m), io);
  const specs: PortSpec[] = [
    { number: 1, name: 'fuzz-vnet', kind: 'packet', fd: VNET_FD, vnetHdr: true },
    { number: 2, name: 'fuzz-plain', kind: 'packet', fd: PLAIN_FD, vnetHdr: false },
    { number: TUNNEL_PORT, name: 'vxlan', kind: 'tunnel', fd: TUNNEL_FD, vnetHdr: false },
  ];
  const views = [{ number: 1, name: 'fuzz-vnet', up: true, binding: 'a' }, { number: 2, name: 'fuzz-plain', up: true, binding: 'b' }];
  for (const spec of specs) datapath.addPort(spec, true);
  const { peers, ...tunnelKeys } = host.tunnelMap(views);
  datapath.setTunnelMap({ ...tunnelKeys, peers: peers.map((p) => p.split('.').reduce((n, b) => n * 256 + Number(b), 0)) });
  let simulation = new TopologySimulation(decodeState(host.encode(views)));
  let [generation, exceptions, consumed] = [0, 0, 0];

  const answer = (upcall: (typeof upcalls)[number]) => {
    const dispatched = generation;
    const flows = [];
    const stale = new Set<string>();
    for (let at = 0; at < upcall.keys.length; at += KEY_WORDS) {
      const result = simulation.simulate(upcall.keys, at, frameOf(upcall.frames, at / KEY_WORDS), 0);
      if (result.actions.length === 0) consumed++;
      flows.push({ actions: result.actions, tags: result.tags, cache: result.cache, connection: result.connection });
      result.invalidate.forEach((tag) => stale.add(tag));
      if (host.learnNeighbors(result.learned).length > 0) simulation = new TopologySimulation(decodeState(host.encode(views)));
    }
    if (stale.size > 0) datapath.invalidate(++generation, [...stale]);
    datapath.install(upcall.batch, dispatched, packAnswers(flows));
  };
  const safely = (work: () => void) => {
    try {
      work();
    } catch {
      exceptions++;
    }
  };
  const readable = [VNET_FD, PLAIN_FD, TUNNEL_FD].map((fd) => io.readable.get(fd)!);
  for (let turn = 0; io.delivered < frames; turn++) {
    safely(readable[turn % readable.length]);
    for (const upcall of upcalls.splice(0)) safely(() => answer(upcall));
  }
  // The last upcalls: answering them sends the frames that waited for them.
  while (upcalls.length > 0) safely(() => answer(upcalls.shift()!));

  const c = counters.values;
  const ports = [1, 2, TUNNEL_PORT];
  const sum = (counter: number) => ports.reduce((s, p) => s + c[counters.portIndex(p, counter)], 0);
  const dropped: Record<string, number> = Object.fromEntries(DROP_REASONS.map((r, code) => [r, c[counters.dropIndex(code)]] as const).filter(([, n]) => n > 0));
  const drops = Object.values(dropped).reduce((s, n) => s + n, 0);
  const sent = sum(PortCounter.txPackets);
  const [received, coalesced, overlay] = [sum(PortCounter.rxPackets), datapath.coalescedSegments, datapath.overlayMessages];
  // A frame sent to several ports (a flood back out of its router) counts once.
  const outcomes = sent + drops - datapath.extraOutcomes;
  return {
    frames: received, exceptions, unaccounted: received - outcomes - consumed - coalesced - overlay, sent, dropped, consumed, coalesced, overlay, seconds: (performance.now() - started) / 1000,
  };
}
