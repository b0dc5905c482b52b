// The agent's side of the slow path: sends upcall batches to the simulation pool with the
// topology's current state, and carries out what the devices did besides deciding the flow:
// frames they sent, neighbors they resolved, frames that wait for a neighbor or for source
// NAT's ports (held here, a few per address for a few seconds, then dropped and counted, as a
// kernel's neighbor queue does).
import { Piscina } from 'piscina';
import { FLOW_FIELDS, FrameBatch, packFrames, Transmission } from '../datapath';
import { FlowKeyExtractor, KEY_WORDS } from '../flow';
import { VNET_HEADER_BYTES } from '../packet';
import { Hold, LearnedStation, macClock, NAT_HOLD, Neighbor } from '../simulation';
import type { SimulationAnswer, SimulationTask } from '../../workers/simulation';
import { DatapathPortView, HostTopology } from './host-topology';

/** Frames kept per unresolved address (Linux's unres_qlen_bytes is of the same order); per
 *  source NAT address waiting for ports, a burst's new connections. */
const HELD_PER_ADDRESS = 64;
const HELD_PER_NAT_ADDRESS = 1024;
const HOLD_MS = 3000;
/** A neighbor is asked again no sooner than this. */
const ASK_AGAIN_MS = 1000;

export interface SlowPathStats {
  batches: number;
  failures: number;
  lastLatencyMs: number;
  /** Frames that waited for a neighbor and were sent once it answered. */
  released: number;
  /** Frames that waited for a neighbor that never answered, or found the queue full. */
  unresolved: number;
  /** DHCP answers and router advertisements this host sent its VMs. */
  dhcpReplies: number;
  routerAdvertisements: number;
}

export interface SlowPathSink {
  ports(): DatapathPortView[];
  invalidate(tags: string[]): void;
  transmit(frames: Transmission[]): void;
  /** Neighbors this host's routers resolved, to be shared with the other hosts. */
  learned(neighbors: Neighbor[]): void;
  /** Stations this host's bridges learned on their ports, to be shared too. */
  stations(stations: LearnedStation[]): void;
  /** Source NAT addresses (network/address) this host ran out of ports on: connections refused. */
  natShortages(shortages: Record<string, number>): void;
  /** Replies to the agent's health probes, for its health monitor. */
  probeReplies(frames: Uint8Array[]): void;
}

interface Waiting {
  frames: Hold[];
  since: number;
  askedAt: number;
}

export class SlowPath {
  readonly stats: SlowPathStats = { batches: 0, failures: 0, lastLatencyMs: 0, released: 0, unresolved: 0, dhcpReplies: 0, routerAdvertisements: 0 };
  private readonly waiting = new Map<string, Waiting>();
  private readonly extractor = new FlowKeyExtractor();
  /** Slow-path latency observer (the agent's metrics hook in here). */
  onLatency: (seconds: number) => void = () => {};

  constructor(
    private readonly pool: Piscina<SimulationTask, SimulationAnswer>,
    private readonly topology: HostTopology,
    private readonly sink: SlowPathSink,
  ) {}

  /** Simulates a batch of flows; what the devices did on the side is done before it resolves. */
  async simulate(keys: Uint32Array, frames: FrameBatch): Promise<SimulationAnswer> {
    const started = performance.now();
    try {
      const answer = await this.pool.run({ keys, frames, now: macClock(), state: this.topology.encode(this.sink.ports()) });
      const seconds = (performance.now() - started) / 1000;
      this.stats.batches++;
      this.stats.lastLatencyMs = seconds * 1000;
      this.onLatency(seconds);
      this.carryOut(answer);
      return answer;
    } catch (error) {
      this.stats.failures++;
      throw error;
    }
  }

  /** Has each of the pool's `threads` load the simulation and decode the topology, with no
   *  flow: the first upcalls after a takeover, which the ports' queued frames wait for, then
   *  find them ready. */
  async warmUp(threads: number): Promise<void> {
    const task = () => ({ keys: new Uint32Array(0), frames: packFrames([]), now: macClock(), state: this.topology.encode(this.sink.ports()) });
    await Promise.all(Array.from({ length: threads }, () => this.pool.run(task())));
  }

  /** Once a second: frames whose neighbor did not answer in time are dropped. */
  tick(now = Date.now()): void {
    for (const [key, w] of this.waiting) {
      if (now - w.since < HOLD_MS) continue;
      this.stats.unresolved += w.frames.length;
      this.waiting.delete(key);
    }
  }

  private carryOut(answer: SimulationAnswer): void {
    if (answer.emit.length > 0) this.sink.transmit(answer.emit);
    this.stats.dhcpReplies += answer.served.dhcp;
    this.stats.routerAdvertisements += answer.served.routerAdvertisement;
    if (answer.stations.length > 0) this.sink.stations(answer.stations);
    if (Object.keys(answer.natShortages).length > 0) this.sink.natShortages(answer.natShortages);
    if (answer.probeReplies.length > 0) this.sink.probeReplies(answer.probeReplies);
    for (const hold of answer.holds) this.hold(hold);
    if (answer.learned.length === 0) return;
    const stale = this.topology.learnNeighbors(answer.learned);
    if (stale.length > 0) this.sink.invalidate(stale);
    // Refused ones (a router at its bound) are not shared either.
    this.sink.learned(answer.learned.filter((n) => this.topology.knowsNeighbor(n)));
    this.releaseResolved();
  }

  /** Sends the frames whose neighbor is now known, here or by another host; and walks again
   *  those that waited for source NAT's ports (called when the topology changed: a lease may
   *  have come; if not, they wait again). */
  releaseResolved(): void {
    const known = new Set(this.topology.neighborList().map((n) => `${n.router}/${n.address}`));
    for (const key of [...this.waiting.keys()]) if (known.has(key) || key.startsWith(`${NAT_HOLD}/`)) this.release(key);
  }

  private hold(hold: Hold): void {
    const key = `${hold.router}/${hold.address}`;
    const now = Date.now();
    let w = this.waiting.get(key);
    if (!w) this.waiting.set(key, (w = { frames: [], since: now, askedAt: 0 }));
    if (w.frames.length >= (hold.router === NAT_HOLD ? HELD_PER_NAT_ADDRESS : HELD_PER_ADDRESS)) this.stats.unresolved++;
    else w.frames.push(hold);
    if (now - w.askedAt >= ASK_AGAIN_MS) {
      w.askedAt = now;
      if (hold.request) this.sink.transmit([hold.request]);
    }
  }

  /** The neighbor answered: walk the frames that waited again (they now find it) and send them. */
  private release(key: string): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    const keys = new Uint32Array(w.frames.length * KEY_WORDS);
    w.frames.forEach((h, i) => this.extractor.extract(h.frame, VNET_HEADER_BYTES, h.frame.length, h.inPort, keys, i * KEY_WORDS));
    const frames = w.frames.map((h) => h.frame);
    this.simulate(keys, packFrames(frames))
      .then((answer) => {
        this.stats.released += frames.length;
        const { actionLists, flows } = answer.answers;
        this.sink.transmit(frames.map((frame, i) => ({ frame, actions: actionLists[flows[i * FLOW_FIELDS]] })));
      })
      .catch(() => (this.stats.unresolved += frames.length));
  }
}
