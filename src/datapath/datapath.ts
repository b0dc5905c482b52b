// One datapath worker's engine: receive a batch from a ready port, key each frame, run the
// cached flow's actions or queue the frame behind an upcall, send every output port's batch.
// The fast path imports files, not a folder's index: TypeScript's CommonJS re-exports are
// getters sharing one keyed load, which V8 cannot inline (a megamorphic load per use).
import { ActionTable, dropCode } from '../flow/actions';
import { FlowCache } from '../flow/cache';
import { ConnTable } from '../flow/conntrack';
import { ActionExecutor, FrameSink } from '../flow/execute';
import { FlowKeyExtractor, hashKey, KEY_WORDS, KeyWord } from '../flow/key';
import { TcpCoalescer } from '../packet/coalescing';
import { describeKernelOffloads } from '../packet/kernel-offloads';
import { Segmenter } from '../packet/segmentation';
import { VNET_HEADER_BYTES } from '../packet/vnet-header';
import { VXLAN_HEADER_BYTES, VxlanHeader } from '../packet/vxlan';
import { CacheCounter, DatapathCounters, MAX_PORTS, PortCounter } from './counters';
import { FLOW_UNITS, Meter, PortMeters } from './meters';
import type { FlowDump, FromDatapath, PortSpec, SlowPathAnswers, Transmission, TunnelMap } from './messages';
import { activeConnections, activeSources } from './flow-activity';
import { CLOSING, ConnectionSegments } from './connection-segments';
import { Captures, CaptureSpec } from './capture';
import { FrameIo, isLinkFailure, native } from './native';
import { Upcalls } from './upcalls';
import { Port, TUNNEL_PORT, TunnelPort } from './port';
import { PortOutput } from './port-output';
import { Arrivals } from './arrivals';
import { TunnelOutput } from './tunnel-output';
import { OverlayMessages } from './overlay-messages';
import { LatencyRecorder, Stage } from './latency';
import { nodeTimers, Scheduler } from './worker-loop';

export interface DatapathOptions {
  flowCapacity: number;
  flowIdleMs: number;
  /** Frames per receive call. */
  batch: number;
  /** Frames of one flow queued behind its upcall: four seconds of a 1,000 packets/s flow, such
   *  as the stream a migrated guest sends when it resumes, for a slow path busy with a whole
   *  topology change on a loaded host (256 overflowed after a 260 ms answer, in the full suite
   *  on 2 cores), or what queued in the kernel during a takeover, read at once by a successor
   *  whose slow path has not answered yet (1,024 overflowed after a 1.5 s takeover in a loaded
   *  CI run); frames of all flows are bounded by the next. */
  maxPendingPerFlow: number;
  maxPendingFrames: number;
  slowPathTimeoutMs: number;
  /** After a wake-up with work, how long the worker looks for more before it sleeps (µs). */
  busyPollUs: number;
  /** The worker thread's slice under the kernel's fair scheduler (µs; 0: the kernel's default,
   *  1.4 ms on 2 cores): a short one lets its wake-up preempt a thread running on its core. */
  sliceUs: number;
}

export const DEFAULT_DATAPATH_OPTIONS: DatapathOptions = {
  flowCapacity: 65536,
  flowIdleMs: 10_000,
  batch: 32,
  maxPendingPerFlow: 4096,
  maxPendingFrames: 8192,
  slowPathTimeoutMs: 5000,
  busyPollUs: 0,
  // The kernel's shortest: measured with perf sched, the worker's wake-ups that waited over
  // 0.5 ms for another thread's slice to end went from 23 in 3,000 pings to none.
  sliceUs: 100,
};

/** Room for a vnet header and the largest GSO super-frame (64 KiB of IP plus L2 headers). */
const SLOT_BYTES = 65536 + 64;
const SCRATCH_BYTES = 4 << 20;
/** Receive rounds per readiness callback before other ports and messages get a turn. */
const ROUNDS_PER_WAKE = 8;

const Drop = {
  malformed: dropCode('malformed'),
  oversize: dropCode('oversize'),
  queueFull: dropCode('queueFull'),
  noBuffer: dropCode('noBuffer'),
  rxQueueFull: dropCode('rxQueueFull'),
  unknownTunnelPeer: dropCode('unknownTunnelPeer'),
  unknownTunnelKey: dropCode('unknownTunnelKey'),
  newFlowLimited: dropCode('newFlowLimited'),
  workerFailed: dropCode('workerFailed'),
};

export class Datapath implements FrameSink {
  private readonly cache: FlowCache;
  private readonly actionTable = new ActionTable();
  private readonly extractor = new FlowKeyExtractor();
  private readonly lengths: Uint32Array;
  /** Per received slot: when the kernel received it (monotonicMs's clock, NaN if unknown). */
  private readonly stamps: Float64Array;
  /** Per receive batch: the keys, hashes, flow ids, and places of the frames that parsed. */
  private readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  private readonly ids: Int32Array;
  private readonly frameAt: Uint32Array;
  private readonly frameLength: Uint32Array;
  private readonly frameStamp: Float64Array;
  private readonly latency: LatencyRecorder;
  /** Per frame of the batch: a TCP segment's control bits (TcpBits), which its key leaves out. */
  private readonly control: Uint8Array;
  private readonly segments: ConnectionSegments;
  private readonly captures = new Captures();
  /** The frame being forwarded (vnet header at `currentAt` of the arena), while a capture
   *  runs: a drop of it is captured too; -1 otherwise. */
  private currentAt = -1;
  private currentLength = 0;
  /** One receive ring shared by all ports (a batch is sent before the next is read), then scratch. */
  private readonly arena: Uint8Array;
  private readonly executor: ActionExecutor;
  private readonly ports: (Port | undefined)[] = new Array(MAX_PORTS);
  private tunnelPort: TunnelPort | null = null;
  /** Frames of the current batch keyed and waiting for the lookup. */
  private admitted = 0;
  /** The port whose frame is being forwarded (0: none): its drops count against it too. */
  private inPort = 0;
  private readonly vxlan = new VxlanHeader();
  private readonly sources = new Uint32Array(256);
  /** Per received slot: 0, or the size of each datagram of a run the kernel kept together. */
  private readonly segmentSizes = new Uint32Array(256);
  private readonly coalescer: TcpCoalescer;
  private readonly upcalls: Upcalls;
  private readonly segmenter = new Segmenter(native.internetSums);
  private readonly tunnelOutput: TunnelOutput;
  private readonly arrivals: Arrivals;
  private readonly messages: OverlayMessages;
  private readonly outputs: PortOutput;
  private now = 0;
  private lastTick = 0;
  /** Its ports went to a successor (stopReading): none is read again. */
  private readingStopped = false;

  constructor(
    private readonly options: DatapathOptions,
    readonly counters: DatapathCounters,
    private readonly meters: PortMeters,
    /** The host's connection table, where flow state from other hosts goes. */
    conntrack: ConnTable,
    private readonly send: (message: FromDatapath) => void,
    private readonly io: FrameIo,
    private readonly timers: Scheduler = nodeTimers,
  ) {
    this.arena = new Uint8Array(options.batch * SLOT_BYTES + SCRATCH_BYTES);
    this.executor = new ActionExecutor(this.arena, options.batch * SLOT_BYTES, SCRATCH_BYTES);
    this.outputs = new PortOutput(this.ports, {
      now: () => this.clock(),
      drop: (reasonCode) => this.drop(reasonCode),
      dropAt: (port, reasonCode) => this.dropAt(port, reasonCode),
      flush: () => this.flush(),
      fail: (port, errno) => this.fail(port, errno),
    }, this.arena, this.executor, this.segmenter, meters, this.captures, counters, io, timers);
    this.arrivals = new Arrivals({ port: (n) => this.ports[n], sendUntilRefused: (port, frames) => this.outputs.sendUntilRefused(port, frames) }, counters, timers, () => this.clock());
    this.messages = new OverlayMessages(this.arrivals, this.captures, conntrack, send, (reasonCode) => this.drop(reasonCode));
    this.cache = new FlowCache({ capacity: options.flowCapacity, idleTimeoutMs: options.flowIdleMs, programs: this.actionTable });
    this.segments = new ConnectionSegments(this.cache, conntrack);
    this.lengths = new Uint32Array(options.batch);
    this.stamps = new Float64Array(options.batch);
    this.frameStamp = new Float64Array(options.batch);
    this.latency = new LatencyRecorder(counters.values, counters.latencyAt, io.monotonicMs);
    this.keys = new Uint32Array(options.batch * KEY_WORDS);
    this.hashes = new Uint32Array(options.batch);
    this.ids = new Int32Array(options.batch);
    this.frameAt = new Uint32Array(options.batch);
    this.frameLength = new Uint32Array(options.batch);
    this.control = new Uint8Array(options.batch);
    this.upcalls = new Upcalls({ maxPerFlow: options.maxPendingPerFlow, maxFrames: options.maxPendingFrames }, this.cache, this.actionTable, this.segments, counters, {
      execute: (frame, actionId, inPort) => this.execute(frame, actionId, inPort),
      dropAt: (port, reasonCode) => this.dropAt(port, reasonCode),
      flush: () => this.flush(),
      send,
    });
    this.tunnelOutput = new TunnelOutput(this.executor, this.segmenter, this.outputs);
    this.coalescer = new TcpCoalescer(this.arena, (bytes) => this.reserveOrFlush(bytes), (number, offsets, lengths, count) => this.outputs.outputPieces(number, offsets, lengths, count));
    this.now = this.clock();
  }

  /** Segments from the tunnel merged into super-frames (each sent as part of another). */
  get coalescedSegments(): number {
    return this.coalescer.merged;
  }

  /** Datagrams of the overlay's own (flow state, capture requests and copies), not frames. */
  get overlayMessages(): number {
    return this.messages.taken;
  }

  /** Outcomes of frames beyond their first: a flood's other copies, a send then a drop. */
  extraOutcomes = 0;

  addPort(spec: PortSpec, receive: boolean): void {
    if (spec.kind === 'tunnel') {
      const tunnel = new TunnelPort({ ...spec, number: TUNNEL_PORT, vnetHdr: false });
      if (this.tunnelPort) [tunnel.delivery, tunnel.ingress, tunnel.marks, tunnel.peers] = [this.tunnelPort.delivery, this.tunnelPort.ingress, this.tunnelPort.marks, this.tunnelPort.peers];
      this.tunnelPort = tunnel;
      this.ports[TUNNEL_PORT] = tunnel;
      if (receive) tunnel.watch = this.io.watch(spec.fd, (readyAt) => this.drainTunnel(tunnel, readyAt));
      return;
    }
    const port = new Port(spec);
    this.ports[spec.number] = port;
    if (receive) port.watch = this.io.watch(spec.fd, (readyAt) => this.drain(spec.number, readyAt));
  }

  setTunnelMap(map: TunnelMap): void {
    const tunnel = this.tunnelPort ?? new TunnelPort({ number: TUNNEL_PORT, name: 'tunnel', kind: 'tunnel', fd: -1, vnetHdr: false });
    tunnel.delivery = new Map(map.delivery);
    tunnel.ingress = new Map(map.ingress);
    tunnel.marks = new Map(map.marks);
    tunnel.peers = new Set(map.peers);
    if (!this.tunnelPort) {
      tunnel.up = false; // a map before the socket: kept for when it comes
      this.tunnelPort = tunnel;
    }
  }

  /** Datagrams from other hosts: each carries a frame for the local port its key names, which
   *  the ingress host's simulation chose; it goes there with no second walk (MidoNet's model).
   *  Segments of one TCP send, as the kernel hands them over together (UDP GRO) in one receive
   *  or more, are merged back into one super-frame on the way. */
  private drainTunnel(tunnel: TunnelPort, readyAt: number): void {
    const c = this.counters.values;
    this.latency.wake(readyAt);
    for (let round = 0; round < ROUNDS_PER_WAKE && tunnel.up; round++) {
      const n = this.io.recvFromBatch(tunnel.spec.fd, this.arena, 0, SLOT_BYTES, this.options.batch, this.lengths, this.sources, this.segmentSizes, this.stamps);
      this.latency.mark(Stage.receive);
      if (n <= 0) return;
      if (round === 0) this.latency.firstStamp(this.stamps[0], readyAt);
      this.now = this.clock();
      for (let i = 0; i < n; i++) {
        const slot = i * SLOT_BYTES;
        const end = slot + this.lengths[i];
        const first = slot + VNET_HEADER_BYTES;
        const step = this.segmentSizes[i] || end - first;
        // An empty datagram is one too (a zero step would make the count NaN for good).
        const empty = this.lengths[i] === 0 || end <= first;
        const datagrams = empty ? 1 : Math.ceil((end - first) / step);
        c[this.counters.portIndex(TUNNEL_PORT, PortCounter.rxPackets)] += datagrams;
        c[this.counters.portIndex(TUNNEL_PORT, PortCounter.rxBytes)] += Math.max(0, end - first);
        if (this.lengths[i] === 0) this.drop(Drop.oversize);
        else if (!tunnel.peers.has(this.sources[i])) c[this.counters.dropIndex(Drop.unknownTunnelPeer)] += datagrams;
        else if (empty) this.drop(Drop.malformed);
        else {
          let delivered = false;
          for (let at = first; at < end; at += step) delivered = this.receiveDatagram(tunnel, at, Math.min(at + step, end), at === first, this.sources[i], this.stamps[i]) || delivered;
          // One transit a receive: its datagrams came together, and leave merged or in one send.
          if (delivered) this.latency.queue(this.stamps[i]);
        }
      }
      // A run goes on across receives: a super-frame too large for one UDP GSO send came as two.
      this.coalescer.finish();
      this.latency.mark(Stage.key);
      this.forwardAdmitted();
      this.flush();
      this.latency.mark(Stage.send);
      this.upcalls.send(this.now);
      if (n < this.options.batch) return;
    }
  }

  /** One datagram [at, end) of a slot received at `stamp`; `leads` when it is the slot's first,
   *  whose VXLAN header's room can become the frame's vnet header (no copy). True when it was
   *  delivered to a port here, as the ingress host's simulation decided. */
  private receiveDatagram(tunnel: TunnelPort, at: number, end: number, leads: boolean, source: number, stamp: number): boolean {
    if (end - at < VXLAN_HEADER_BYTES + 14 || this.vxlan.point(this.arena, at, end) !== null) return this.dropped(Drop.malformed);
    if (this.messages.take(tunnel, this.vxlan.vni, this.arena, at, end, source, this.now)) return false;
    const output = tunnel.delivery.get(this.vxlan.vni);
    const ingress = output === undefined ? tunnel.ingress.get(this.vxlan.vni) : undefined;
    if (output === undefined && ingress === undefined) return this.dropped(Drop.unknownTunnelKey);
    const frameAt = at + VXLAN_HEADER_BYTES;
    if (output !== undefined && this.ports[output]?.spec.vnetHdr && this.coalescer.add(output, frameAt, end)) return true;
    this.coalescer.finish();
    const vnetAt = leads ? frameAt - VNET_HEADER_BYTES : this.reserveOrFlush(VNET_HEADER_BYTES + end - frameAt);
    if (vnetAt < 0) return this.dropped(Drop.noBuffer);
    if (!leads) this.arena.copyWithin(vnetAt + VNET_HEADER_BYTES, frameAt, end);
    this.arena.fill(0, vnetAt, vnetAt + VNET_HEADER_BYTES);
    // From a host: delivered as its simulation decided. From a VTEP (a kernel VXLAN device,
    // which simulates nothing): it enters the topology here, on the port the VNI stands for,
    // described as a packet socket would (a VTEP on this machine leaves work unfinished).
    if (output !== undefined) {
      this.output(output, this.arena, vnetAt, VNET_HEADER_BYTES + end - frameAt);
      return true;
    }
    describeKernelOffloads(this.arena, vnetAt, end);
    this.admit(ingress!, vnetAt, VNET_HEADER_BYTES + end - frameAt, stamp); // its transit counts if its flow is cached
    return false;
  }

  /** Scratch space, sending what is queued to make room when it is full; -1 if still none. */
  private reserveOrFlush(bytes: number): number {
    const at = this.executor.reserve(bytes);
    if (at >= 0) return at;
    this.forwardAdmitted();
    this.flush();
    return this.executor.reserve(bytes);
  }

  removePort(number: number): void {
    this.outputs.forget(number);
    const port = this.ports[number];
    if (!port) return;
    if (port.watch) this.io.unwatch(port.watch);
    port.up = false;
    this.ports[number] = undefined;
    this.arrivals.forget(port);
  }

  /** The agent hands its ports over (takeover): none is read again, between two batches, and
   *  every one stays open for what still waits for the slow path to be sent; `settled` once
   *  nothing does. Frames the kernel queues from now on are the successor's to read. */
  stopReading(settled: () => void): void {
    for (const port of this.ports) {
      if (!port?.watch) continue;
      this.io.unwatch(port.watch);
      port.watch = null;
    }
    this.readingStopped = true;
    this.upcalls.whenSettled(settled);
  }

  /** Reads and forwards up to ROUNDS_PER_WAKE batches from a ready port, which was seen ready at
   *  `readyAt` (monotonicMs's clock; NaN: not from a readiness event). */
  drain(number: number, readyAt = NaN): void {
    const port = this.ports[number];
    if (!port) return;
    this.latency.wake(readyAt);
    for (let round = 0; round < ROUNDS_PER_WAKE && port.up; round++) {
      if (this.meters.limits(number, Meter.fromPort)) {
        const wait = this.meters.waitMs(number, Meter.fromPort);
        if (wait > 0) return this.pause(port, wait);
      }
      const n = this.io.recvBatch(port.spec.fd, port.isTap, this.arena, 0, SLOT_BYTES, this.options.batch, this.lengths, port.spec.vnetHdr, this.stamps);
      this.latency.mark(Stage.receive);
      if (n < 0) {
        if (isLinkFailure(-n, port.isTap)) this.fail(port, -n);
        return;
      }
      if (n === 0) return;
      if (round === 0) this.latency.firstStamp(this.stamps[0], readyAt);
      this.now = this.clock();
      if (port.held) {
        // The arriving guest's first frame (QEMU announces it at resume): it runs here now.
        this.send({ type: 'guestRunning', number });
        this.release(number);
      }
      this.forward(port, n);
      this.flush();
      this.latency.mark(Stage.send);
      this.upcalls.send(this.now);
      if (n < this.options.batch) return;
    }
  }

  /** Keys and hashes every frame of the batch, looks them all up at once, then acts on each in order. */
  private forward(port: Port, n: number): void {
    for (let i = 0; i < n; i++) this.admit(port.number, i * SLOT_BYTES, this.lengths[i], this.stamps[i]);
    this.latency.mark(Stage.key);
    this.forwardAdmitted();
  }

  /** Counts a received frame (vnet header at `at`, received by the kernel at `stamp`) on its
   *  in-port and keys it for the batch. */
  private admit(number: number, at: number, length: number, stamp: number): void {
    this.inPort = number;
    const c = this.counters.values;
    c[this.counters.portIndex(number, PortCounter.rxPackets)]++;
    c[this.counters.portIndex(number, PortCounter.rxBytes)] += length - VNET_HEADER_BYTES;
    if (this.captures.active) this.captures.received(number, this.arena, at, length);
    if (this.meters.limits(number, Meter.fromPort)) this.meters.charge(number, Meter.fromPort, length - VNET_HEADER_BYTES);
    const parsed = this.admitted;
    if (length === 0) this.drop(Drop.oversize);
    else if (!this.extractor.extract(this.arena, at + VNET_HEADER_BYTES, at + length, number, this.keys, parsed * KEY_WORDS)) this.drop(Drop.malformed);
    else {
      this.hashes[parsed] = hashKey(this.keys, parsed * KEY_WORDS);
      this.frameAt[parsed] = at;
      this.frameLength[parsed] = length;
      this.frameStamp[parsed] = stamp;
      this.control[parsed] = this.extractor.tcpControl;
      this.admitted++;
    }
  }

  /** Looks the admitted frames up at once, then runs each one's flow or queues it for the slow path. */
  private forwardAdmitted(): void {
    const parsed = this.admitted;
    if (parsed === 0) return;
    this.admitted = 0;
    this.cache.lookupBatch(this.keys, parsed, this.hashes, this.ids);
    this.latency.mark(Stage.lookup);
    for (let j = 0; j < parsed; j++) {
      const id = this.ids[j];
      const at = this.frameAt[j];
      const length = this.frameLength[j];
      this.inPort = this.keys[j * KEY_WORDS + KeyWord.inPortVlan] >>> 16;
      if (this.captures.active) [this.currentAt, this.currentLength] = [at, length];
      if (id >= 0) {
        this.cache.lastUsed[id] = this.now;
        this.cache.packets[id]++;
        this.cache.bytes[id] += length - VNET_HEADER_BYTES;
        if ((this.control[j] & CLOSING) !== 0 || this.cache.tellFirst[id] !== 0) this.segments.hit(id, this.control[j]);
        this.latency.queue(this.frameStamp[j]);
        const outcomes = this.executor.run(this.actionTable.programs[this.cache.actions[id]], at, length, this);
        if (outcomes > 1) this.extraOutcomes += outcomes - 1;
      } else if (this.meters.limits(this.inPort, Meter.newFlows) && !this.upcalls.pending.has(this.keys, j * KEY_WORDS, this.hashes[j]) && !this.meters.take(this.inPort, Meter.newFlows, FLOW_UNITS)) {
        this.drop(Drop.newFlowLimited);
      } else if (!this.upcalls.pending.add(this.keys, j * KEY_WORDS, this.hashes[j], this.arena, at, length, this.control[j] & CLOSING)) {
        this.drop(Drop.queueFull);
      }
    }
    this.inPort = 0;
    this.currentAt = -1;
    this.latency.mark(Stage.actions);
  }

  /** Into the tunnel, in runs (see TunnelOutput). */
  tunnel(key: number, remote: number, arena: Uint8Array, at: number, length: number): void {
    this.tunnelOutput.send(this.tunnelPort, key, remote, arena, at, length);
  }

  /** Starts holding what is sent to a port (see Arrivals). */
  hold(number: number, windowMs: number): void {
    this.arrivals.hold(number, windowMs);
  }

  /** The port's guest runs here: what it held goes (see Arrivals). */
  release(number: number): void {
    this.arrivals.release(number);
  }

  /** A VM over its send limit is not read until its bucket's debt is paid: its frames wait in
   *  the kernel's queue (which drops when full), as behind a slower link. */
  private pause(port: Port, ms: number): void {
    if (!port.watch) return;
    this.io.unwatch(port.watch);
    port.watch = null;
    this.timers.after(ms, () => {
      if (this.ports[port.number] !== port || port.watch || !port.up || this.readingStopped) return;
      port.watch = this.io.watch(port.spec.fd, (readyAt) => this.drain(port.number, readyAt));
      this.drain(port.number);
    });
  }

  output(number: number, arena: Uint8Array, at: number, length: number): void {
    this.outputs.output(number, arena, at, length);
  }

  drop(reasonCode: number): void {
    this.dropAt(this.inPort, reasonCode);
  }

  /** A drop, where the answer is whether the frame was delivered. */
  private dropped(reasonCode: number): false {
    this.drop(reasonCode);
    return false;
  }

  /** A drop counted against a port other than the one whose frame is forwarded (the limited
   *  port a frame was sent to). */
  private dropAt(port: number, reasonCode: number): void {
    if (this.captures.active && this.currentAt >= 0) this.captures.dropped(port, reasonCode, this.arena, this.currentAt, this.currentLength);
    this.counters.values[this.counters.dropIndex(reasonCode)]++;
    this.counters.values[this.counters.portDropIndex(port, reasonCode)]++;
  }

  /** Sends every queued output batch and frees the scratch space. */
  private flush(): void {
    if (this.captures.pending) this.send({ type: 'captured', frames: this.captures.take() });
    if (this.tunnelPort) this.tunnelOutput.endRun(this.tunnelPort);
    this.outputs.sendQueued();
    this.executor.reset();
    this.latency.sent();
  }

  private fail(port: Port, errno: number): void {
    if (!port.up) return;
    port.up = false;
    if (port.watch) this.io.unwatch(port.watch);
    port.watch = null;
    this.send({ type: 'portFailed', number: port.number, errno });
  }

  /** The slow path's answers to upcall batch `batch` (see Upcalls). */
  install(batch: number, generation: number, answers: SlowPathAnswers): void {
    this.now = this.clock();
    this.upcalls.install(batch, generation, answers, this.now);
  }

  /** Starts capturing on a port (the agent has checked the spec's match). */
  startCapture(spec: CaptureSpec): void {
    this.captures.start(spec);
  }

  stopCapture(id: number): void {
    this.captures.stop(id);
  }

  /** Sends frames the slow path made or held, each with its own actions. */
  transmit(frames: readonly Transmission[]): void {
    const ids = frames.map(({ frame, actions }) => {
      const id = this.actionTable.intern(actions);
      this.execute(frame, id);
      return id;
    });
    this.flush();
    for (const id of ids) this.actionTable.release(id);
  }

  /** Runs a program on a frame held outside the arena, which came in on `inPort` (0: made here). */
  private execute(frame: Uint8Array, actionId: number, inPort = 0): void {
    this.inPort = inPort;
    let at = this.executor.stage(frame);
    if (at < 0) {
      this.flush();
      at = this.executor.stage(frame);
    }
    if (at >= 0) {
      if (this.captures.active) [this.currentAt, this.currentLength] = [at, frame.length];
      const outcomes = this.executor.run(this.actionTable.programs[actionId], at, frame.length, this);
      if (outcomes > 1) this.extraOutcomes += outcomes - 1;
      this.currentAt = -1;
    } else this.drop(Drop.oversize);
    this.inPort = 0;
  }

  /** The slow path failed this batch (see Upcalls). */
  failBatch(batch: number): void {
    this.upcalls.fail(batch, this.clock());
  }

  /** The tags changed at `generation` (see Upcalls): how many flows went. */
  invalidate(generation: number, tags: readonly string[]): number {
    return this.upcalls.invalidate(generation, tags);
  }

  flushFlows(): number {
    return this.cache.clear();
  }

  dumpFlows(): FlowDump[] {
    const flows: FlowDump[] = [];
    const now = this.clock();
    this.cache.forEach((id, key, tags) => {
      flows.push({
        key: key.slice(), actions: this.actionTable.lists[this.cache.actions[id]], tags,
        packets: this.cache.packets[id], bytes: this.cache.bytes[id], idleMs: (now - this.cache.lastUsed[id]) >>> 0,
      });
    });
    return flows;
  }

  /** Once a second: expire idle flows, give up on unanswered upcalls, report active stations. */
  tick(): void {
    const now = (this.now = this.clock());
    const sweep = Math.max(1024, Math.ceil((this.cache.capacity * 1000) / Math.max(1000, this.options.flowIdleMs)));
    this.cache.expire(now, sweep);
    this.upcalls.failOverdue(now, this.options.slowPathTimeoutMs);
    this.countKernelDrops();
    const sources = activeSources(this.cache, this.lastTick);
    if (sources.length > 0) this.send({ type: 'activeSources', sources });
    const connections = activeConnections(this.cache, this.lastTick);
    if (connections.length > 0) this.send({ type: 'activeConnections', slots: connections });
    this.lastTick = now;
    this.publishCacheCounters();
  }

  /** Frames the kernel dropped before we could read them (a receive queue overflowed). */
  private countKernelDrops(): void {
    const c = this.counters.values;
    for (const port of this.ports) {
      if (!port || !port.watch || port.isTap) continue;
      const dropped = this.io.receiveDrops(port.spec.fd);
      if (dropped === 0) continue;
      c[this.counters.portIndex(port.number, PortCounter.rxDropped)] += dropped;
      c[this.counters.dropIndex(Drop.rxQueueFull)] += dropped;
    }
  }

  publishCacheCounters(): void {
    const c = this.counters.values;
    const s = this.cache.stats;
    c[this.counters.cacheIndex(CacheCounter.hits)] = s.hits;
    c[this.counters.cacheIndex(CacheCounter.misses)] = s.misses;
    c[this.counters.cacheIndex(CacheCounter.flows)] = this.cache.size;
    c[this.counters.cacheIndex(CacheCounter.inserts)] = s.inserts;
    c[this.counters.cacheIndex(CacheCounter.evictions)] = s.evictions;
    c[this.counters.cacheIndex(CacheCounter.expirations)] = s.expirations;
    c[this.counters.cacheIndex(CacheCounter.invalidations)] = s.invalidations;
    c[this.counters.cacheIndex(CacheCounter.programs)] = this.actionTable.size;
  }

  close(): void {
    for (const port of this.ports) if (port) this.removePort(port.number);
  }

  /** The worker dies of an error (a bug): the frames that wait in it, for the slow path, for
   *  an arriving guest, in a backlog or a shaper, are lost with it, and counted. */
  failed(): void {
    this.counters.values[this.counters.dropIndex(Drop.workerFailed)] += this.upcalls.pending.queuedFrames;
    for (const port of this.ports) {
      if (!port) continue;
      this.outputs.forget(port.number, Drop.workerFailed);
      this.arrivals.forget(port, Drop.workerFailed);
    }
  }

  private clock(): number {
    return Math.floor(performance.now()) >>> 0;
  }
}
