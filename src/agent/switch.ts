// The switch one host's agent runs, and the object an embedding program creates: datapath
// workers that own the ports' fast path, a piscina pool that runs the slow path, the shared
// MAC table, and the ports' life (add, remove, link down, vanished).
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pino, { Logger } from 'pino';
import { Piscina } from 'piscina';
import {
  CacheCounter, DatapathCounters, DatapathOptions, DEFAULT_DATAPATH_OPTIONS, FlowDump, FromDatapath, native,
  PortCounter, PortSpec, sumCounters, ToDatapath, MAX_PORTS,
} from '../datapath';
import { DROP_REASONS } from '../flow';
import { BridgePort, FLOOD_TAG, MacEntry, MacTable, macClock, macTag, portTag, TABLE_SPACE_TAG } from '../simulation';
import type { SimulationAnswer, SimulationTask } from '../../workers/simulation';
import { SwitchError } from './errors';
import { PortConfig, PortInfo, PortState, validatePortConfig } from './port-config';

export interface SwitchOptions {
  /** Threads running the fast path (ports are spread over them). */
  datapathWorkers?: number;
  /** Threads of the slow-path pool. */
  simulationThreads?: number;
  macTableSize?: number;
  macAgingSeconds?: number;
  flowCapacity?: number;
  flowIdleMs?: number;
  logger?: Logger;
}

export interface SwitchStats {
  ports: number;
  flows: { cached: number; hits: number; misses: number; upcalls: number; inserts: number; evictions: number; expirations: number; invalidations: number };
  drops: Record<string, number>;
  macTable: { entries: number; capacity: number; refusals: number };
  slowPath: { batches: number; failures: number; lastLatencyMs: number };
}

interface PortRecord {
  spec: PortSpec;
  vlan?: number;
  state: PortState;
  reason?: string;
  owner: DatapathThread;
}

/** A datapath worker thread as the agent's thread keeps it; `worker` is set when it starts. */
class DatapathThread {
  worker!: Worker;
  readonly counters = new DatapathCounters();
  /** Ports it receives on. */
  receiving = 0;
  /** Requests awaiting its answer, with what to answer if it dies first. */
  readonly replies = new Map<number, { resolve: (message: FromDatapath) => void; fallback: FromDatapath }>();
  /** Port removals awaiting its acknowledgement. */
  readonly removals = new Map<number, () => void>();
  /** When it was restarted, over the last minute. */
  restarts: number[] = [];
}

/** Answers what a thread that is gone still owed: nobody waits forever on it. */
function settle(thread: DatapathThread): void {
  for (const { resolve, fallback } of thread.replies.values()) resolve(fallback);
  thread.replies.clear();
  for (const resolve of thread.removals.values()) resolve();
  thread.removals.clear();
}

const LINK_CHECK_MS = 1000;
/** A worker that dies more often than this in a minute is not restarted again. */
const MAX_RESTARTS_PER_MINUTE = 5;
const MAC_AGING_CHECK_MS = 5000;
const WORKERS_DIR = path.join(__dirname, '..', '..', 'workers');

export class Switch extends EventEmitter {
  readonly log: Logger;
  readonly macTable: MacTable;
  private readonly workers: DatapathThread[] = [];
  private readonly pool: Piscina<SimulationTask, SimulationAnswer>;
  private readonly ports = new Map<number, PortRecord>();
  private readonly macAgingSeconds: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly datapathOptions: DatapathOptions;
  private nextRequest = 1;
  private generation = 0;
  private slowPath = { batches: 0, failures: 0, lastLatencyMs: 0 };
  private closed = false;
  /** Slow-path latency observer (the agent's metrics hook in here). */
  onSlowPathLatency: (seconds: number) => void = () => {};

  private constructor(options: SwitchOptions) {
    super();
    validateSwitchOptions(options);
    this.log = options.logger ?? pino({ level: 'silent' });
    this.macAgingSeconds = options.macAgingSeconds ?? 300;
    this.macTable = new MacTable(options.macTableSize ?? 8192);
    this.datapathOptions = {
      ...DEFAULT_DATAPATH_OPTIONS,
      ...(options.flowCapacity ? { flowCapacity: options.flowCapacity } : {}),
      ...(options.flowIdleMs ? { flowIdleMs: options.flowIdleMs } : {}),
    };
    for (let i = 0; i < (options.datapathWorkers ?? 1); i++) {
      const handle = new DatapathThread();
      this.startWorker(handle);
      this.workers.push(handle);
    }
    const threads = options.simulationThreads ?? 1;
    this.pool = new Piscina({
      filename: path.join(WORKERS_DIR, 'simulation.js'),
      minThreads: threads,
      maxThreads: threads,
      workerData: { macTable: this.macTable.buffer },
    });
    this.timers.push(setInterval(() => this.checkLinks(), LINK_CHECK_MS), setInterval(() => this.ageMacs(), MAC_AGING_CHECK_MS));
  }

  static create(options: SwitchOptions = {}): Switch {
    return new Switch(options);
  }

  /** Attaches an interface: a tap (created, or an existing persistent one) or a packet socket on an existing interface. */
  addPort(config: PortConfig): PortInfo {
    this.checkOpen();
    validatePortConfig(config);
    for (const p of this.ports.values()) {
      if (p.spec.name === config.name) throw new SwitchError('PORT_EXISTS', `interface ${config.name} is already port ${p.spec.number} of this switch`, 409, 'name');
    }
    const number = this.freeNumber();
    const vnetHdr = config.vnetHdr ?? true;
    let fd = -1;
    try {
      fd = config.kind === 'tap' ? native.openTap(config.name, vnetHdr) : native.openPacket(config.name, vnetHdr);
      if (config.kind === 'tap') native.setLinkUp(config.name);
    } catch (error) {
      if (fd >= 0) native.close(fd);
      const e = error as Error & { code?: string };
      const status = e.code === 'ENODEV' ? 404 : e.code === 'EBUSY' ? 409 : e.code === 'EPERM' || e.code === 'EACCES' ? 403 : 400;
      throw new SwitchError(e.code === 'ENODEV' ? 'NO_SUCH_INTERFACE' : `OPEN_FAILED_${e.code ?? 'EIO'}`, e.message, status, 'name');
    }
    const spec: PortSpec = { number, name: config.name, kind: config.kind, fd, vnetHdr };
    // A number given out anew starts from zero; a port re-attached later (link back, worker restarted) keeps its counts.
    for (const w of this.workers) w.counters.resetPort(number);
    const owner = this.workers.reduce((a, b) => (b.receiving < a.receiving ? b : a));
    owner.receiving++;
    this.ports.set(number, { spec, vlan: config.vlan, state: 'up', owner });
    this.attach(spec, owner);
    this.invalidate([FLOOD_TAG]);
    this.log.info({ port: number, name: config.name, kind: config.kind, vlan: config.vlan }, 'port added');
    const info = this.portInfo(number)!;
    this.emit('port-added', info);
    return info;
  }

  /** Detaches a port by name or number; its flows and learned MACs go with it. */
  async removePort(nameOrNumber: string | number): Promise<void> {
    this.checkOpen();
    const record = this.find(nameOrNumber);
    this.ports.delete(record.spec.number);
    record.owner.receiving--;
    await Promise.all(this.workers.map((w) => this.detach(w, record.spec.number)));
    // Every worker has let go of the descriptor: now it may be closed and its number reused.
    native.close(record.spec.fd);
    this.forgetPort(record.spec.number);
    this.log.info({ port: record.spec.number, name: record.spec.name }, 'port removed');
    this.emit('port-removed', { number: record.spec.number, name: record.spec.name });
  }

  listPorts(): PortInfo[] {
    return [...this.ports.keys()].sort((a, b) => a - b).map((n) => this.portInfo(n)!);
  }

  port(nameOrNumber: string | number): PortInfo {
    return this.portInfo(this.find(nameOrNumber).spec.number)!;
  }

  async dumpFlows(): Promise<FlowDump[]> {
    const answers = await Promise.all(this.workers.map((w) => this.ask(w, (request) => ({ type: 'dumpFlows', request }), { type: 'flows', request: 0, flows: [] })));
    return answers.flatMap((a) => (a.type === 'flows' ? a.flows : []));
  }

  async flushFlows(): Promise<number> {
    const answers = await Promise.all(this.workers.map((w) => this.ask(w, (request) => ({ type: 'flushFlows', request }), { type: 'flushed', request: 0, removed: 0 })));
    return answers.reduce((sum, a) => sum + (a.type === 'flushed' ? a.removed : 0), 0);
  }

  macs(): MacEntry[] {
    return this.macTable.entries();
  }

  stats(): SwitchStats {
    const all = this.workers.map((w) => w.counters);
    const first = all[0];
    const cache = (c: number) => sumCounters(all, first.cacheIndex(c));
    const drops: Record<string, number> = {};
    DROP_REASONS.forEach((reason, code) => (drops[reason] = sumCounters(all, first.dropIndex(code))));
    return {
      ports: this.ports.size,
      flows: {
        cached: cache(CacheCounter.flows), hits: cache(CacheCounter.hits), misses: cache(CacheCounter.misses),
        upcalls: cache(CacheCounter.upcalls), inserts: cache(CacheCounter.inserts), evictions: cache(CacheCounter.evictions),
        expirations: cache(CacheCounter.expirations), invalidations: cache(CacheCounter.invalidations),
      },
      drops,
      macTable: { entries: this.macTable.size, capacity: this.macTable.capacity, refusals: this.macTable.refusals },
      slowPath: { ...this.slowPath },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.forEach(clearInterval);
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.worker.once('exit', () => resolve());
            w.worker.postMessage({ type: 'stop' });
          }),
      ),
    );
    this.workers.forEach(settle);
    for (const record of this.ports.values()) native.close(record.spec.fd);
    this.ports.clear();
    await this.pool.destroy();
  }

  private attach(spec: PortSpec, owner: DatapathThread): void {
    for (const w of this.workers) this.post(w, { type: 'addPort', port: spec, receive: w === owner });
  }

  private detach(w: DatapathThread, number: number): Promise<void> {
    return new Promise((resolve) => {
      w.removals.set(number, resolve);
      this.post(w, { type: 'removePort', number });
    });
  }

  private startWorker(handle: DatapathThread): void {
    const worker = new Worker(path.join(WORKERS_DIR, 'datapath.js'), { workerData: { options: this.datapathOptions, counters: handle.counters.buffer } });
    handle.worker = worker;
    worker.on('message', (message: FromDatapath) => this.onWorkerMessage(handle, message));
    worker.on('error', (error) => this.log.error({ err: error }, 'datapath worker failed'));
    worker.on('exit', (code) => {
      if (!this.closed) this.workerDied(handle, code);
    });
  }

  /** A datapath worker ended by itself (a bug): settle what it owed, start another on the same
   *  counters and give it back its ports, unless it keeps dying. */
  private workerDied(handle: DatapathThread, code: number): void {
    settle(handle);
    const now = Date.now();
    handle.restarts = [...handle.restarts.filter((t) => now - t < 60_000), now];
    const owned = [...this.ports.values()].filter((p) => p.owner === handle);
    if (handle.restarts.length > MAX_RESTARTS_PER_MINUTE) {
      this.log.error({ code }, 'datapath worker keeps failing: not restarted');
      for (const record of owned) if (record.state === 'up') this.setDown(record, 'datapath worker failed');
      return;
    }
    this.log.error({ code, ports: owned.map((p) => p.spec.name) }, 'datapath worker exited: restarting it');
    this.startWorker(handle);
    for (const record of this.ports.values()) {
      if (record.state === 'up') this.post(handle, { type: 'addPort', port: record.spec, receive: record.owner === handle });
    }
    this.emit('worker-restarted', { ports: owned.map((p) => p.spec.name) });
  }

  private onWorkerMessage(handle: DatapathThread, message: FromDatapath): void {
    switch (message.type) {
      case 'upcall':
        return this.simulate(handle, message.batch, message.keys);
      case 'portFailed':
        return this.portFailed(message.number, message.errno);
      case 'portRemoved':
        handle.removals.get(message.number)?.();
        handle.removals.delete(message.number);
        return;
      case 'activeSources':
        for (const s of message.sources) {
          const vlan = this.ports.get(s.port)?.vlan ?? s.vlanTci & 0x0fff;
          this.macTable.refresh(vlan, s.mac, 0, s.port, macClock());
        }
        return;
      case 'flows':
      case 'flushed':
        handle.replies.get(message.request)?.resolve(message);
        handle.replies.delete(message.request);
    }
  }

  private simulate(handle: DatapathThread, batch: number, keys: Uint32Array): void {
    const generation = this.generation;
    const started = performance.now();
    this.pool
      .run({ keys, ports: this.bridgePorts(), now: macClock() })
      .then((answer) => {
        const seconds = (performance.now() - started) / 1000;
        this.slowPath.batches++;
        this.slowPath.lastLatencyMs = seconds * 1000;
        this.onSlowPathLatency(seconds);
        // Invalidations first: every worker drops what the answer made stale before it installs.
        if (answer.invalidate.length > 0) this.invalidate(answer.invalidate);
        this.post(handle, { type: 'results', batch, generation, flows: answer.flows });
      })
      .catch((error: Error) => {
        this.slowPath.failures++;
        if (this.closed) return;
        this.log.error({ err: error }, 'slow path failed a batch');
        this.post(handle, { type: 'failed', batch });
      });
  }

  private bridgePorts(): BridgePort[] {
    return [...this.ports.values()].map((p) => ({ number: p.spec.number, up: p.state === 'up', vlan: p.vlan }));
  }

  private invalidate(tags: string[]): void {
    const generation = ++this.generation;
    for (const w of this.workers) this.post(w, { type: 'invalidate', generation, tags });
  }

  /** A port's flows, its learned MACs, and every flood's output set depend on it. */
  private forgetPort(number: number): void {
    const macs = this.macTable.flushPort(number).map((e) => macTag(e.vlan, e.mac));
    this.invalidate([portTag(number), FLOOD_TAG, ...macs, ...(macs.length ? [TABLE_SPACE_TAG] : [])]);
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
    for (const w of this.workers) this.post(w, { type: 'removePort', number: record.spec.number });
    this.forgetPort(record.spec.number);
    this.log.warn({ port: record.spec.number, name: record.spec.name, reason }, 'port down');
    this.emit('port-down', this.portInfo(record.spec.number));
  }

  /** Packet ports follow their interface: down when it is down or gone, up when it runs again,
   *  and reopened when an interface of that name comes back (libvirt recreates vnetN when a VM
   *  restarts). A tap's device may live in another namespace, as a VM's does: its descriptor tells. */
  private checkLinks(): void {
    for (const record of this.ports.values()) {
      if (record.spec.kind !== 'packet') continue;
      const link = native.linkState(record.spec.name);
      if (record.state === 'up' && (!link || !link.running)) this.setDown(record, link ? 'link down' : 'interface vanished');
      else if (record.state === 'down' && record.reason === 'interface vanished' && link) this.reopen(record);
      if (record.state === 'down' && record.reason === 'link down' && link?.running) {
        record.state = 'up';
        record.reason = undefined;
        this.attach(record.spec, record.owner);
        this.invalidate([FLOOD_TAG]);
        this.log.info({ port: record.spec.number, name: record.spec.name }, 'port up');
        this.emit('port-up', this.portInfo(record.spec.number));
      }
    }
  }

  /** The interface is back: a new socket on it (the old one was bound to the device that went). */
  private reopen(record: PortRecord): void {
    let fd: number;
    try {
      fd = native.openPacket(record.spec.name, record.spec.vnetHdr);
    } catch (error) {
      this.log.debug({ port: record.spec.number, err: error }, 'interface is back but cannot be opened yet');
      return;
    }
    native.close(record.spec.fd);
    record.spec = { ...record.spec, fd };
    record.reason = 'link down';
    this.log.info({ port: record.spec.number, name: record.spec.name }, 'interface is back: reopened');
  }

  private ageMacs(): void {
    const expired = this.macTable.expire(macClock() - this.macAgingSeconds);
    if (expired.length > 0) this.invalidate([...expired.map((e) => macTag(e.vlan, e.mac)), TABLE_SPACE_TAG]);
  }

  private ask(w: DatapathThread, build: (request: number) => ToDatapath, fallback: FromDatapath): Promise<FromDatapath> {
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      w.replies.set(request, { resolve, fallback });
      this.post(w, build(request));
    });
  }

  private post(w: DatapathThread, message: ToDatapath): void {
    w.worker.postMessage(message);
  }

  private portInfo(number: number): PortInfo | undefined {
    const record = this.ports.get(number);
    if (!record) return undefined;
    const all = this.workers.map((w) => w.counters);
    const counter = (c: number) => sumCounters(all, all[0].portIndex(number, c));
    return {
      number,
      name: record.spec.name,
      kind: record.spec.kind,
      ...(record.vlan !== undefined ? { vlan: record.vlan } : {}),
      state: record.state,
      ...(record.reason ? { reason: record.reason } : {}),
      counters: {
        rxPackets: counter(PortCounter.rxPackets), rxBytes: counter(PortCounter.rxBytes), rxDropped: counter(PortCounter.rxDropped),
        txPackets: counter(PortCounter.txPackets),
        txBytes: counter(PortCounter.txBytes), txDropped: counter(PortCounter.txDropped),
      },
    };
  }

  private find(nameOrNumber: string | number): PortRecord {
    const asNumber = typeof nameOrNumber === 'number' ? nameOrNumber : /^\d+$/.test(nameOrNumber) ? Number(nameOrNumber) : NaN;
    const record = this.ports.get(asNumber) ?? [...this.ports.values()].find((p) => p.spec.name === nameOrNumber);
    if (!record) throw new SwitchError('NO_SUCH_PORT', `no port ${nameOrNumber} on this switch (vswitch port list shows the ports)`, 404, 'port');
    return record;
  }

  private freeNumber(): number {
    for (let n = 1; n < MAX_PORTS; n++) if (!this.ports.has(n)) return n;
    throw new SwitchError('TOO_MANY_PORTS', `this switch holds at most ${MAX_PORTS - 1} ports`, 409);
  }

  private checkOpen(): void {
    if (this.closed) throw new SwitchError('CLOSED', 'the switch is closed', 409);
  }
}

/** Limits of the numeric options: [field, smallest, largest]. */
const OPTION_RANGES: [keyof SwitchOptions, number, number][] = [
  ['datapathWorkers', 1, 64],
  ['simulationThreads', 1, 64],
  ['macTableSize', 1, 1 << 24],
  ['macAgingSeconds', 1, 1 << 20],
  ['flowCapacity', 1, 1 << 24],
  ['flowIdleMs', 1, 1 << 30],
];

export function validateSwitchOptions(options: SwitchOptions): void {
  for (const [field, least, most] of OPTION_RANGES) {
    const value = options[field];
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < least || (value as number) > most)) {
      throw new SwitchError('INVALID_OPTION', `${field} must be a whole number from ${least} to ${most}, not ${JSON.stringify(value)}`, 400, field);
    }
  }
}
