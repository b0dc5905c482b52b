// The switch one host's agent runs, and the object an embedding program creates: datapath
// workers that own the ports' fast path, a piscina pool that runs the slow path over the
// host's view of the virtual topology, and the ports' life (add, remove, link down, vanished,
// bound and unbound as the topology says).
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import pino, { Logger } from 'pino';
import { Piscina } from 'piscina';
import {
  FlowDump, FrameBatch, FromDatapath, native, ToDatapath, newPortMeterBuffers,
  PortMeters, PortSpec, Transmission, TUNNEL_PORT,
} from '../datapath';
import { connectionTag, FlowKeyExtractor, KEY_WORDS } from '../flow';
import { VNET_HEADER_BYTES } from '../packet';
import {
  CONNTRACK_SPACE_TAG, decodeState, floodTag, macClock, macTag, portTag, SimulationResult, TABLE_SPACE_TAG, TopologySimulation, TopologyState, vportTag,
} from '../simulation';
import type { Stored } from '../topology';
import type { SimulationAnswer, SimulationTask } from '../../workers/simulation';
import { SwitchError } from './errors';
import { ArrivingGuests } from './arriving-guests';
import type { DatapathThread } from './datapath-thread';
import { DatapathWorkers } from './datapath-workers';
import { AppliedChanges, HostTopology, LOCAL_BRIDGE, TopologyChange } from './host-topology';
import { GatewayAnnouncer } from './gateway-announcer';
import { ageStations, LearnedMac, learnedMacs, MacTableTotals, macTableTotals } from './learned-macs';
import { HostTunnel } from './host-tunnel';
import { PortConfig, PortInfo, validatePortConfig } from './port-config';
import { openPortDevice } from './port-devices';
import { applyPortLimits } from './port-limits';
import { SlowPath, SlowPathStats } from './slow-path';
import { holdableOf, PortRecord, SwitchPorts, viewOf } from './switch-ports';
import { guestMtu } from './guest-mtu';
import { routerAdvertisements } from './router-advertiser';
import { datapathOptionsOf, DEFAULT_MAC_AGING_SECONDS, DEFAULT_RING_SLOTS, SwitchOptions, validateSwitchOptions } from './switch-options';
import { PortCaptures } from './port-captures';
import { PortLinks } from './port-links';
import { RemoteCaptures } from './remote-captures';
import type { HandedOver, InheritedDescriptors } from './takeover';
import { ChangeTimings, ChangeTimingSummary } from './change-timings';
import { datapathTotals, DatapathTotals, portTotals } from './datapath-totals';

export interface SwitchStats {
  ports: number;
  flows: DatapathTotals['flows'];
  /** Connections tracked (security groups, NAT, load balancers). */
  connections: number;
  drops: Record<string, number>;
  macTable: MacTableTotals;
  /** The routers' neighbors, and new ones refused for a router at its bound. */
  neighbors: { entries: number; refusals: number };
  slowPath: SlowPathStats;
  /** How long applying each topology change took this switch's thread (change-timings.ts). */
  topologyChanges: ChangeTimingSummary;
  /** Where forwarded frames' time goes, over every datapath worker (datapath/latency.ts). */
  latency: DatapathTotals['latency'];
  /** The VXLAN tunnel's datagrams, when this host has an underlay address. */
  tunnel: DatapathTotals['tunnel'];
}

const LINK_CHECK_MS = 1000;
/** Seconds between routers' unsolicited advertisements (RFC 4861: at most 600). */
const ROUTER_ADVERTISEMENT_S = 200;
const MAC_AGING_CHECK_MS = 5000;
const CONNTRACK_SWEEP_MS = 1000;
const WORKERS_DIR = path.join(__dirname, '..', '..', 'workers');
/** How old a frame held for an arriving VM may be when it runs. It covers the guest's pause
 *  at the switchover: QEMU aims to keep it under its downtime-limit (300 ms unless set), and
 *  it was 18-65 ms here on a quiet machine but 196 ms beside a CPU hog (docs/MIGRATION.md). */
const MIGRATION_HOLD_MS = 500;

export class Switch extends EventEmitter {
  readonly log: Logger;
  readonly topology: HostTopology;
  /** Packet captures of ports (`vswitch capture`), here and, over the overlay, on other hosts. */
  readonly captures: PortCaptures;
  readonly remoteCaptures: RemoteCaptures;
  private readonly workers: DatapathWorkers;
  private readonly pool: Piscina<SimulationTask, SimulationAnswer>;
  private readonly slowPath: SlowPath;
  private readonly ports = new SwitchPorts();
  /** Ports' QoS limits, shared with every datapath worker. */
  private readonly meterBuffers = newPortMeterBuffers();
  private readonly meters = new PortMeters(this.meterBuffers);
  /** Ports following their interfaces, and bound interfaces awaited. */
  private readonly links: PortLinks;
  /** What the agent this one took over from gave (inherit). */
  private inherited: InheritedDescriptors | undefined;
  /** What that agent dropped in handing over, by reason: counted on in this one's drops. */
  private inheritedDrops: Record<string, number> = {};
  private traced: TopologySimulation | null = null;
  private readonly tunnel: HostTunnel;
  private readonly macAgingSeconds: number;
  /** Migrations from this host that their deadline ended (the agent counts them). */
  migrationsExpired = 0;
  private readonly arriving: ArrivingGuests;
  private readonly gateways = new GatewayAnnouncer();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly changeTimings = new ChangeTimings();
  /** The size of each packet-socket port's receive ring. */
  private readonly ringSlots: number;
  private generation = 0;
  private closed = false;
  /** Its ports went to an agent that took over (handOver): it forwards nothing more. */
  private handedOver = false;

  private constructor(options: SwitchOptions) {
    super();
    validateSwitchOptions(options);
    this.log = options.logger ?? pino({ level: 'silent' });
    this.macAgingSeconds = options.macAgingSeconds ?? DEFAULT_MAC_AGING_SECONDS;
    this.arriving = new ArrivingGuests(options.migrationHoldMs ?? MIGRATION_HOLD_MS, (m) => this.workers.post(m), this.log);
    this.captures = new PortCaptures((m) => this.workers.post(m));
    this.remoteCaptures = new RemoteCaptures({
      captures: this.captures, transmit: (frames) => this.transmit(frames), boundHere: (port) => this.listPorts().find((p) => p.binding === port)?.number,
    }, this.log);
    this.topology = new HostTopology(options.hostId ?? os.hostname(), options.macTableSize ?? 8192, options.conntrackSize);
    this.topology.guestMtu = guestMtu(options.underlay);
    this.ringSlots = options.ringSlots ?? DEFAULT_RING_SLOTS;
    this.links = new PortLinks({
      records: () => this.ports.values(),
      addPort: (config, binding) => this.addPort(config, binding),
      setDown: (record, reason) => this.setDown(record, reason),
      takeUp: (record) => this.takeUp(record),
    }, this.ringSlots, this.log);
    this.tunnel = new HostTunnel(options.underlay, this.topology);
    // Before any thread starts: a bad underlay address is refused with nothing to clean up.
    // Taking over, the tunnel's socket is the predecessor's (inherit).
    if (!options.awaitingHandover) this.tunnel.open();
    this.workers = new DatapathWorkers(options.datapathWorkers ?? 1, { options: datapathOptionsOf(options), meters: this.meterBuffers, conntrack: this.topology.conntrack.buffer }, {
      message: (thread, message) => this.onWorkerMessage(thread, message),
      restarted: (thread, code) => this.workerRestarted(thread, code),
      gaveUp: (thread, code) => this.workerGaveUp(thread, code),
    }, this.log);
    const threads = options.simulationThreads ?? 1;
    this.pool = new Piscina({
      filename: path.join(WORKERS_DIR, 'simulation.js'),
      minThreads: threads,
      maxThreads: threads,
    });
    this.slowPath = new SlowPath(this.pool, this.topology, {
      ports: () => this.ports.views(),
      invalidate: (tags) => this.invalidate(tags),
      transmit: (frames) => this.transmit(frames),
      learned: (neighbors) => this.emit('neighbors-learned', neighbors),
      stations: (stations) => this.emit('stations-learned', stations),
      natShortages: (shortages) => this.emit('nat-shortages', shortages),
      probeReplies: (frames) => this.emit('probe-replies', frames),
    });
    this.attachTunnel();
    this.timers.push(
      setInterval(() => this.links.check(), LINK_CHECK_MS),
      setInterval(() => this.ageMacs(), MAC_AGING_CHECK_MS),
      setInterval(() => this.sweepConnections(), CONNTRACK_SWEEP_MS),
      setInterval(() => this.slowPath.tick(), LINK_CHECK_MS),
      setInterval(() => this.advertise(), (options.routerAdvertisementSeconds ?? ROUTER_ADVERTISEMENT_S) * 1000),
    );
  }

  static create(options: SwitchOptions = {}): Switch {
    return new Switch(options);
  }

  /** Slow-path latency observer (the agent's metrics hook in here). */
  set onSlowPathLatency(observer: (seconds: number) => void) {
    this.slowPath.onLatency = observer;
  }

  /** Attaches an interface: a tap (created, or an existing persistent one) or a packet socket on
   *  an existing interface. Without a binding it is a port of the host's own `local` bridge. */
  addPort(config: PortConfig, binding?: string): PortInfo {
    this.checkOpen();
    validatePortConfig(config);
    const existing = this.ports.named(config.name);
    if (existing) throw new SwitchError('PORT_EXISTS', `interface ${config.name} is already port ${existing.spec.number} of this switch`, 409, 'name');
    const number = this.ports.freeNumber();
    const vnetHdr = config.vnetHdr ?? true;
    const fd = openPortDevice(config, vnetHdr, this.ringSlots, this.inherited, this.log);
    const spec: PortSpec = { number, name: config.name, kind: config.kind, fd, vnetHdr };
    // A number given out anew starts from zero; a port re-attached later (link back, worker restarted) keeps its counts.
    for (const w of this.workers.threads) w.counters.resetPort(number);
    const owner = this.workers.threads.reduce((a, b) => (b.receiving < a.receiving ? b : a));
    owner.receiving++;
    const record: PortRecord = { spec, vlan: config.vlan, binding, state: 'up', owner };
    this.ports.add(record);
    this.applyLimits();
    this.attach(record);
    this.topology.changed();
    this.invalidate(this.tagsOf(record));
    this.refreshTunnel();
    this.announceGateways();
    this.log.info({ port: number, name: config.name, kind: config.kind, vlan: config.vlan }, 'port added');
    const info = this.portInfo(number)!;
    this.emit('port-added', info);
    return info;
  }

  /** Readies the slow path's threads (SlowPath.warmUp): an agent taking over does this before
   *  the running one stops reading. */
  warmUp(): Promise<void> {
    return this.slowPath.warmUp(this.pool.options.maxThreads);
  }

  /** A switch created awaitingHandover takes what its predecessor gave (null: there was none):
   *  the connections it tracked, its tunnel's socket, and for each port, as it is attached,
   *  its descriptor. Before any port is attached. */
  inherit(inherited: InheritedDescriptors | null): void {
    this.checkOpen();
    this.inherited = inherited ?? undefined;
    this.inheritedDrops = inherited?.dropped ?? {};
    if (Object.keys(this.inheritedDrops).length > 0) this.log.warn({ dropped: this.inheritedDrops }, 'takeover: the old agent dropped frames that waited for their ports as it handed them over (counted here)');
    if (inherited?.connections && !this.topology.conntrack.restore(inherited.connections)) {
      this.log.warn('takeover: the old agent tracked connections in a table of another size (conntrackSize changed): they are tracked anew');
    }
    if (!this.tunnel.awaited) return;
    this.tunnel.open(inherited?.takeTunnel());
    this.attachTunnel();
  }

  /** For the agent that takes over from this one (takeover.ts): every port and the tunnel
   *  stop being read, each worker stopping between two batches; the frames that wait for the
   *  slow path are sent once it answers; then the ports are given back open, with whatever the
   *  kernel has queued on them since. The switch forwards nothing after. */
  async handOver(): Promise<HandedOver> {
    this.checkOpen();
    this.handedOver = true;
    this.stopTimers();
    this.log.info('handing over: the ports stop being read');
    await this.workers.ask((request) => ({ type: 'stopReading', request }), { type: 'readingStopped', request: 0 });
    const records = [...this.ports.values()];
    const numbers = [...records.map((r) => r.spec.number), ...(this.tunnel.fd !== null ? [TUNNEL_PORT] : [])];
    const before = this.stats().drops;
    await Promise.all(this.workers.threads.flatMap((w) => numbers.map((n) => w.detach(n))));
    const dropped = Object.fromEntries(Object.entries(this.stats().drops).map(([reason, n]) => [reason, n - before[reason]] as const).filter(([, n]) => n > 0));
    this.log.info({ ports: records.length, dropped }, 'ports handed over');
    return {
      ports: records.map(({ spec }) => ({ name: spec.name, kind: spec.kind, vnetHdr: spec.vnetHdr, fd: spec.fd })),
      tunnel: this.tunnel.fd,
      connections: this.topology.conntrack.copy(),
      dropped,
    };
  }

  /** Detaches a port by name or number; its flows and learned MACs go with it. */
  async removePort(nameOrNumber: string | number): Promise<void> {
    this.checkOpen();
    const record = this.ports.find(nameOrNumber);
    this.forgetPort(record);
    this.ports.delete(record.spec.number);
    this.topology.changed();
    this.refreshTunnel();
    record.owner.receiving--;
    await Promise.all(this.workers.threads.map((w) => w.detach(record.spec.number)));
    // Every worker has let go of the descriptor: now it may be closed and its number reused.
    native.close(record.spec.fd);
    this.log.info({ port: record.spec.number, name: record.spec.name }, 'port removed');
    this.emit('port-removed', { number: record.spec.number, name: record.spec.name });
  }

  listPorts(): PortInfo[] {
    return this.ports.list(this.totals);
  }

  port(nameOrNumber: string | number): PortInfo {
    return this.portInfo(this.ports.find(nameOrNumber).spec.number)!;
  }

  async dumpFlows(): Promise<FlowDump[]> {
    const answers = await this.workers.ask((request) => ({ type: 'dumpFlows', request }), { type: 'flows', request: 0, flows: [] });
    return answers.flatMap((a) => (a.type === 'flows' ? a.flows : []));
  }

  async flushFlows(): Promise<number> {
    const answers = await this.workers.ask((request) => ({ type: 'flushFlows', request }), { type: 'flushed', request: 0, removed: 0 });
    return answers.reduce((sum, a) => sum + (a.type === 'flushed' ? a.removed : 0), 0);
  }

  macs(): LearnedMac[] {
    return learnedMacs(this.topology, this.ports.views());
  }

  /** Takes the topology as the store has it now: binds and unbinds this host's interfaces,
   *  and drops exactly the flows that depended on what changed. */
  setTopology(objects: readonly Stored[]): void {
    this.checkOpen();
    this.follow({ stale: this.topology.setObjects(objects), here: true });
  }

  /** Applies the changes the store's watch told (HostTopology.apply). Those that touch what
   *  this host attaches or tunnels to have the ports and the tunnel looked at again; the others
   *  cost their own tags and no more, however large the topology. */
  applyChanges(changes: readonly TopologyChange[]): void {
    this.checkOpen();
    this.changeTimings.time(changes.length, () => this.follow(this.topology.apply(changes)));
  }

  private follow({ stale, here }: AppliedChanges): void {
    if (here) this.rebind(stale);
    if (stale.length > 0) this.invalidate(stale);
    this.slowPath.releaseResolved();
    this.emit('topology-changed');
  }

  /** Binds and unbinds this host's interfaces as the topology says, and adds to `stale` the
   *  tags of the flows that this changes. */
  private rebind(stale: string[]): void {
    const wanted = this.topology.bindingsHere();
    for (const record of [...this.ports.values()]) {
      if (record.binding && wanted.get(record.spec.name) !== record.binding) {
        this.removePort(record.spec.number).catch((error: Error) => this.log.error({ err: error }, 'unbinding failed'));
      }
    }
    this.links.forgetAwaited();
    for (const [name, port] of wanted) {
      const record = this.ports.named(name);
      if (record && !record.binding) {
        record.binding = port;
        this.topology.changed();
        stale.push(...this.tagsOf(record), floodTag(LOCAL_BRIDGE));
      } else if (!record) this.links.bind(name, port);
    }
    this.applyLimits();
    // Holds first: a port bound anew to an arriving VM must hold before the tunnel sends to it.
    this.syncHolds();
    this.refreshTunnel();
    this.announceGateways();
  }

  /** The topology as this host's walk sees it now. */
  state(): TopologyState {
    return this.topology.state(this.ports.views());
  }

  /** Frames the agent's own services send (health checks), each out as its actions say. */
  send(frames: Transmission[]): void {
    this.checkOpen();
    this.transmit(frames);
  }

  /** Uplinks newly bound here announce their gateways' addresses (gratuitous ARP). */
  private announceGateways(): void {
    const frames = this.gateways.newlyBound(this.state());
    if (frames.length > 0) this.transmit(frames);
  }

  /** Holds frames for the ports of VMs arriving here that have not run yet (ArrivingGuests). */
  private syncHolds(): void {
    this.arriving.sync(this.topology.arrivingHere(), this.ports.holdable());
  }

  /** A held port's guest sent: it runs here (the agent records it in the migration). */
  private guestRunning(number: number): void {
    const record = this.ports.get(number);
    const migration = record && this.arriving.guestRan(holdableOf(record), this.topology.arrivingHere());
    if (migration) this.emit('guest-running', { migration: migration.id, at: Date.now() });
  }

  /** What the slow path would do with a frame arriving on a port (an interface, a port number, or
   *  the virtual port bound to it), without doing it. */
  trace(port: string | number, frame: Uint8Array): SimulationResult & { flow: Uint32Array } {
    const record = this.ports.find(port, true);
    const withHeader = new Uint8Array(VNET_HEADER_BYTES + frame.length);
    withHeader.set(frame, VNET_HEADER_BYTES);
    const key = new Uint32Array(KEY_WORDS);
    new FlowKeyExtractor().extract(withHeader, VNET_HEADER_BYTES, withHeader.length, record.spec.number, key, 0);
    const encoded = this.topology.encode(this.ports.views());
    if (this.traced?.topology.version !== encoded.version) this.traced = new TopologySimulation(decodeState(encoded));
    return { ...this.traced.simulate(key, 0, withHeader, macClock(), 'trace'), flow: key };
  }

  stats(): SwitchStats {
    const { flows, drops, latency, tunnel } = datapathTotals(this.workers.threads.map((w) => w.counters), this.tunnel.fd !== null);
    drops.neighborUnresolved += this.slowPath.stats.unresolved;
    for (const [reason, n] of Object.entries(this.inheritedDrops)) if (reason in drops) drops[reason] += n;
    return {
      ports: this.ports.size,
      flows,
      connections: this.topology.conntrack.size,
      drops,
      macTable: macTableTotals(this.topology),
      neighbors: { entries: this.topology.neighborList().length, refusals: this.topology.neighborRefusals },
      slowPath: { ...this.slowPath.stats },
      topologyChanges: this.changeTimings.summary(),
      latency,
      tunnel,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.remoteCaptures.stop();
    await this.workers.stop();
    for (const record of this.ports.values()) native.close(record.spec.fd);
    this.ports.clear();
    this.tunnel.close();
    await this.pool.destroy();
  }

  /** Connections past their time end, and their flows with them. */
  private sweepConnections(): void {
    const gone = this.topology.conntrack.sweep(Date.now());
    if (gone.length > 0) this.invalidate([...gone.map(connectionTag), CONNTRACK_SPACE_TAG]);
  }

  private applyLimits(): void {
    applyPortLimits(this.meters, [...this.ports.values()].map((r) => ({ number: r.spec.number, qos: r.binding ? this.topology.qosOf(r.binding) : undefined })));
  }

  /** Gives every worker the tunnel, when there is one; the first receives on it. */
  private attachTunnel(): void {
    for (const w of this.workers.threads) this.tunnel.attach(w === this.workers.first, this.ports.views()).forEach((m) => w.post(m));
  }

  /** Gives a port to every worker, with its hold when its VM is arriving here (ArrivingGuests). */
  private attach(record: PortRecord): void {
    for (const w of this.workers.threads) w.post(this.portMessage(record, w));
    this.syncHolds();
  }

  private portMessage(record: PortRecord, to: DatapathThread): ToDatapath {
    const holdMs = this.arriving.attaching(holdableOf(record), this.topology.arrivingHere());
    return { type: 'addPort', port: record.spec, receive: record.owner === to, ...(holdMs === undefined ? {} : { holdMs }) };
  }

  /** A datapath worker died by itself (a bug) and started again: it gets its ports back, and
   *  what else it must know. */
  private workerRestarted(thread: DatapathThread, code: number): void {
    const owned = [...this.ports.values()].filter((p) => p.owner === thread);
    this.log.error({ code, ports: owned.map((p) => p.spec.name) }, 'datapath worker exited: restarted');
    for (const record of this.ports.values()) if (record.state === 'up') thread.post(this.portMessage(record, thread));
    this.tunnel.attach(thread === this.workers.first, this.ports.views()).forEach((m) => thread.post(m));
    for (const capture of this.captures.running()) thread.post(capture);
    this.emit('worker-restarted', { ports: owned.map((p) => p.spec.name) });
  }

  /** A datapath worker that keeps dying is not started again: its ports are down. */
  private workerGaveUp(thread: DatapathThread, code: number): void {
    this.log.error({ code }, 'datapath worker keeps failing: not restarted');
    for (const record of this.ports.values()) if (record.owner === thread && record.state === 'up') this.setDown(record, 'datapath worker failed');
  }

  private onWorkerMessage(handle: DatapathThread, message: FromDatapath): void {
    switch (message.type) {
      case 'upcall':
        return this.simulate(handle, message.batch, message.keys, message.frames);
      case 'captured':
        return this.captures.deliver(message.frames);
      case 'captureRequest':
        return this.remoteCaptures.requested(message.from, message.bytes);
      case 'portFailed':
        return this.portFailed(message.number, message.errno);
      case 'guestRunning':
        return this.guestRunning(message.number);
      case 'activeConnections':
        this.topology.conntrack.refresh(message.slots, Date.now());
        return;
      case 'connectionsEnded':
        this.invalidate(message.slots.map(connectionTag));
        return;
      case 'activeSources':
        for (const s of message.sources) {
          const record = this.ports.get(s.port);
          if (record) this.topology.refreshStation(viewOf(record), s.vlanTci, s.mac, this.ports.views());
        }
    }
  }

  private simulate(handle: DatapathThread, batch: number, keys: Uint32Array, frames: FrameBatch): void {
    const generation = this.generation;
    this.slowPath
      .simulate(keys, frames)
      .then((answer) => {
        // Invalidations first: every worker drops what the answer made stale before it installs.
        if (answer.invalidate.length > 0) this.invalidate(answer.invalidate);
        handle.post({ type: 'results', batch, generation, answers: answer.answers });
      })
      .catch((error: Error) => {
        if (this.closed) return;
        this.log.error({ err: error }, 'slow path failed a batch');
        handle.post({ type: 'failed', batch });
      });
  }

  private refreshTunnel(): void {
    const map = this.closed ? null : this.tunnel.map(this.ports.views());
    if (map) this.workers.post(map);
  }

  /** Routers' unsolicited advertisements to the VMs bound here (router-advertiser.ts). */
  private advertise(): void {
    const frames = routerAdvertisements(this.topology.state(this.ports.views()));
    this.transmit(frames);
    this.slowPath.stats.routerAdvertisements += frames.length;
  }

  /** Frames the agent makes (the slow path's, services'): any worker may send on any port. */
  private transmit(frames: Transmission[]): void {
    if (!this.closed) this.workers.first.post({ type: 'transmit', frames });
  }

  /** The flows that depend on a datapath port: its own, its virtual port's, its bridge's floods. */
  private tagsOf(record: PortRecord): string[] {
    const port = this.topology.virtualPortOf(viewOf(record));
    return [portTag(record.spec.number), vportTag(port.id), ...(port.bridge ? [floodTag(port.bridge)] : [])];
  }

  private invalidate(tags: string[]): void {
    const generation = ++this.generation;
    this.workers.post({ type: 'invalidate', generation, tags });
  }

  /** A port's flows, its learned MACs, and every flood's output set depend on it. */
  private forgetPort(record: PortRecord): void {
    this.arriving.forget(record.spec.number);
    const port = this.topology.virtualPortOf(viewOf(record));
    const table = port.bridge ? this.topology.macTable(port.bridge) : undefined;
    const macs = (table?.flushPort(port.index) ?? []).map((e) => macTag(port.bridge!, e.vlan, e.mac));
    this.invalidate([...this.tagsOf(record), ...macs, ...(macs.length ? [TABLE_SPACE_TAG] : [])]);
  }

  private portFailed(number: number, errno: number): void {
    const record = this.ports.get(number);
    if (!record || record.state === 'down') return;
    const link = record.spec.kind === 'packet' ? native.linkState(record.spec.name) : null;
    this.log.debug({ port: number, errno }, 'port failed');
    this.setDown(record, link ? 'link down' : 'interface vanished');
  }

  private setDown(record: PortRecord, reason: string): void {
    record.state = 'down';
    record.reason = reason;
    this.workers.post({ type: 'removePort', number: record.spec.number });
    this.topology.changed();
    this.forgetPort(record);
    this.log.warn({ port: record.spec.number, name: record.spec.name, reason }, 'port down');
    if (reason === 'link down') this.links.linkDown();
    this.emit('port-down', this.portInfo(record.spec.number));
  }

  private stopTimers(): void {
    this.timers.forEach(clearInterval);
    this.links.stop();
  }

  /** A port whose link came up forwards again. */
  private takeUp(record: PortRecord): void {
    record.state = 'up';
    record.reason = undefined;
    this.attach(record);
    this.topology.changed();
    this.invalidate(this.tagsOf(record));
    this.refreshTunnel();
    this.log.info({ port: record.spec.number, name: record.spec.name }, 'port up');
    this.emit('port-up', this.portInfo(record.spec.number));
  }

  /** Stations unseen for macAgingSeconds leave their tables; those learned on ports bound here
   *  are told (`stations-aged`), for the agent to take them out of the store. */
  private ageMacs(): void {
    const { stale, aged } = ageStations(this.topology, this.macAgingSeconds);
    if (stale.length > 0) this.invalidate(stale);
    if (aged.length > 0) this.emit('stations-aged', aged);
  }

  private portInfo(number: number): PortInfo | undefined {
    return this.ports.info(number, this.totals);
  }

  private readonly totals = (number: number) => portTotals(this.workers.threads.map((w) => w.counters), number);

  private checkOpen(): void {
    if (this.closed) throw new SwitchError('CLOSED', 'the switch is closed', 409);
    if (this.handedOver) throw new SwitchError('HANDED_OVER', 'the switch has handed its ports to the agent that took over from it', 409);
  }
}
