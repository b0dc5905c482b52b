// `vswitch agent`: one host's switch with its control API, metrics and JSON logs, configured
// by a file and flags, reloaded by SIGHUP (config-reload.ts), stopped cleanly by SIGTERM or
// SIGINT. On the embedded default it also
// keeps the topology store (a file in the state directory) and serves the tenant API.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { Logger } from 'pino';
import { newToken, tokenDigest } from '../api/callers';
import { httpsOnly } from '../api/https-only';
import { tenantApi } from '../api/server';
import type { LearnedStation, Neighbor } from '../simulation';
import { ADMIN_TENANT, EmbeddedStore, EtcdStore, LateStore, stationId, TopologyStore } from '../topology';
import type { TopologyChange } from './host-topology';
import { AddedPorts } from './added-ports';
import { ControlApi, refuseIfTaken } from './control-api';
import { DEFAULT_SOCKET } from './control-socket';
import { noteGuestRunning, watchMigrations } from './migration-watch';
import { SwitchError } from './errors';
import { loadBalancerMetrics, natMetrics, switchMetrics } from './metrics';
import { NatLeases } from './nat-leases';
import { GatewayFailover } from './gateway-failover';
import { HealthMonitor } from './health-monitor';
import { trace } from './trace';
import type { PortConfig } from './port-config';
import { SharedNeighbors } from './shared-neighbors';
import { Switch } from './switch';
import { giveTo, Handover, takeOver } from './takeover';
import { applyPorts, reloaded, ReloadPlan, reloadPlan } from './config-reload';
import { DEFAULT_MAC_AGING_SECONDS, SwitchOptions, validateSwitchOptions } from './switch-options';

export const DEFAULT_STATE_DIR = process.env.VSWITCH_STATE_DIR ?? '/var/lib/vswitch';
export const DEFAULT_API = '127.0.0.1:8780';
const DEFAULT_HOST_LEASE_SECONDS = 5;

export interface AgentConfig extends Omit<SwitchOptions, 'logger' | 'hostId'> {
  socket?: string;
  logLevel?: string;
  /** Ports attached at start. */
  ports?: PortConfig[];
  /** Where the topology store, this host's id and the admin token are kept. */
  stateDir?: string;
  /** Where the tenant API listens: HOST:PORT, a unix socket path, or 'off'. */
  api?: string;
  /** The topology store: 'embedded' (a file in stateDir, the default), etcd://HOST:PORT[,HOST:PORT…],
   *  or etcds://… for etcd over TLS. */
  store?: string;
  /** etcd over TLS: the CA that signed etcd's certificate, and this agent's client certificate
   *  and key (for etcd's --client-cert-auth), PEM files. */
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  /** Serve the tenant API over HTTPS with this certificate and key (PEM files). */
  apiTlsCert?: string;
  apiTlsKey?: string;
  /** This host's address on the underlay (where other hosts' tunnels reach it). */
  underlay?: string;
  /** How long this host stays alive in the store after its agent stops renewing (it died). */
  hostLeaseSeconds?: number;
}

export class Agent {
  private constructor(
    readonly sw: Switch,
    private readonly control: ControlApi,
    private readonly store: TopologyStore,
    private readonly api: FastifyInstance | null,
    readonly socket: string,
    private readonly stopWatching: () => void,
    private readonly leave: (leaving: boolean) => Promise<void>,
    private readonly logger: Logger,
    private config: AgentConfig,
    /** Resolves once this agent has handed its ports to one that took over from it. */
    readonly handedOver: Promise<void>,
  ) {}

  /** Reads the configuration again (`read` throws on a bad one: nothing changes) and applies
   *  what can change at run time; the log says what was applied and what waits for a restart. */
  async reload(read: () => AgentConfig): Promise<ReloadPlan | null> {
    let next: AgentConfig;
    try {
      next = read();
      validateAgentConfig(next);
    } catch (error) {
      this.logger.error({ err: error }, 'reload: the configuration is not valid: nothing changed');
      return null;
    }
    const plan = reloadPlan(this.config, next);
    if (plan.applied.includes('logLevel')) this.logger.level = next.logLevel ?? 'info';
    if (plan.applied.includes('ports')) await applyPorts(this.sw, this.config.ports ?? [], next.ports ?? [], this.logger);
    const tls = this.api && next.apiTlsCert && this.config.apiTlsCert ? (this.api.server as unknown as HttpsServer) : null;
    if (tls) {
      try {
        tls.setSecureContext({ cert: pem(next.apiTlsCert!, 'apiTlsCert'), key: pem(next.apiTlsKey!, 'apiTlsKey') });
        if (!plan.applied.includes('apiTlsCert')) plan.applied.push('apiTlsCert (read again)');
      } catch (error) {
        this.logger.error({ err: error }, 'reload: the API\'s certificate or key cannot be read: the API keeps serving the ones it has');
      }
    }
    this.config = reloaded(this.config, next);
    this.logger.info({ applied: plan.applied }, 'configuration reloaded');
    if (plan.needRestart.length > 0) this.logger.warn({ needRestart: plan.needRestart }, 'configuration reloaded: these settings changed and take effect at the next restart');
    return plan;
  }

  /** `takeover`: take the ports of the agent running on the same control socket, if one is
   *  (takeover.ts), rather than refuse to start beside it. */
  static async start(config: AgentConfig, takeover = false): Promise<Agent> {
    validateAgentConfig(config);
    const logger = pino({ level: config.logLevel ?? 'info' }, pino.destination(2));
    const socket = config.socket ?? DEFAULT_SOCKET;
    const stateDir = config.stateDir ?? DEFAULT_STATE_DIR;
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    if (!takeover) await refuseIfTaken(socket);
    const hostId = kept(path.join(stateDir, 'host-id'), () => randomUUID());
    // Taking over, the threads start before the running agent stops reading: what the ports
    // queue in between waits the less.
    const sw = Switch.create({ ...config, hostId, logger, awaitingHandover: takeover });
    // The tenant API is readied first, and given the store once it is open: readied after the
    // ports, it held back the slow path's first answers while they waited (docs/RELIABILITY.md).
    const apiStore = new LateStore();
    let api: ReadyApi | null = null;
    let handover: Handover | null = null;
    try {
      api = await readyApi(config, stateDir, hostId, sw, apiStore);
      if (takeover) {
        await sw.warmUp();
        handover = await takeOver(socket, stateDir, logger);
      }
    } catch (error) {
      await api?.app.close();
      await sw.close();
      throw error;
    }
    if (takeover) sw.inherit(handover?.inherited ?? null);
    // The agent taken over from closed the store before it handed over.
    const store = openStore(config, stateDir);
    apiStore.open(store);
    const metrics = switchMetrics(sw);
    const added = new AddedPorts(path.join(stateDir, 'ports.json'), logger);
    let handedOver = () => {};
    const handedOverYet = new Promise<void>((resolve) => (handedOver = resolve));
    const control = new ControlApi(sw, metrics, added, async (to) => {
      const handed = await sw.handOver();
      // Nothing more goes to the store: the successor opens it next.
      stopWatching();
      stopMigrations();
      await leave(false);
      await api?.app.close();
      await store.close();
      giveTo(to, handed, stateDir);
      logger.info({ ports: handed.ports.length, to }, 'handed over: stopping');
      // After the answer is written: the new agent waits for this one to be gone.
      setImmediate(handedOver);
      return { pid: process.pid, ports: handed.ports.length };
    });
    let stopWatching = () => {};
    let stopMigrations = () => {};
    let leave = async (_leaving: boolean) => {};
    try {
      for (const port of config.ports ?? []) sw.addPort(port);
      for (const port of added.list()) {
        try {
          sw.addPort(port);
        } catch (error) {
          logger.warn({ err: error, port: port.name }, 'a port added at run time could not be attached again: it stays remembered until `vswitch port del` forgets it');
        }
      }
      await registerHost(store, hostId, config.underlay ?? '', kept(path.join(stateDir, 'host-token'), newToken), logger);
      const announced = await store.announce(hostId, config.hostLeaseSeconds ?? DEFAULT_HOST_LEASE_SECONDS);
      leave = async (leaving) => void (leaving && (await announced()));
      stopWatching = await followStore(store, sw, logger);
      const untaken = handover?.inherited.closeUntaken() ?? [];
      if (untaken.length > 0) logger.warn({ untaken }, 'takeover: descriptors no port here took (their bindings went meanwhile) were closed');
      const natLeases = new NatLeases(store, sw.topology, logger);
      const failover = new GatewayFailover(store, sw.topology, logger);
      const health = new HealthMonitor(store, hostId, sw, logger);
      const neighbors = new SharedNeighbors(store, config.macAgingSeconds ?? DEFAULT_MAC_AGING_SECONDS, logger);
      health.follow(sw.topology.loadBalancerObjects());
      sw.on('probe-replies', (frames: Uint8Array[]) => health.replies(frames));
      sw.on('topology-changed', () => health.follow(sw.topology.loadBalancerObjects()));
      loadBalancerMetrics(metrics, health, sw);
      leave = async (leaving) => {
        health.stop();
        failover.stop();
        neighbors.stop();
        await natLeases.stop(!leaving);
        if (leaving) await announced();
      };
      natMetrics(metrics, natLeases, sw);
      sw.on('nat-shortages', (shortages: Record<string, number>) => natLeases.balance(shortages));
      sw.on('topology-changed', () => natLeases.balance({}, false));
      sw.on('neighbors-learned', (heard: Neighbor[]) => void neighbors.heard(heard));
      sw.on('stations-learned', (stations: LearnedStation[]) => void shareStations(store, stations, logger));
      sw.on('stations-aged', (stations: LearnedStation[]) => void forgetStations(store, stations, logger));
      sw.on('guest-running', (event: { migration: string; at: number }) => void noteGuestRunning(store, event, logger));
      stopMigrations = watchMigrations(store, sw, hostId, logger);
      // Where the old agent listened, once it has let go.
      await handover?.gone;
      await api?.listen(listenOptions(config.api ?? DEFAULT_API));
      // Last: an agent that answers on its socket is ready in every part.
      await control.listen(socket);
    } catch (error) {
      stopWatching();
      stopMigrations();
      await leave(true).catch(() => undefined);
      await api?.app.close();
      await control.close();
      await sw.close();
      await store.close();
      throw error;
    }
    logger.info({ socket, api: config.api ?? DEFAULT_API, stateDir, hostId, ports: sw.listPorts().length }, 'agent started');
    return new Agent(sw, control, store, api?.app ?? null, socket, () => {
      stopWatching();
      stopMigrations();
    }, leave, logger, config, handedOverYet);
  }

  /** `leaving`: the host says it is gone and gives back its NAT blocks. An agent that handed
   *  over does not, for its successor carries on as the same host, and has closed its store and
   *  API already. */
  async stop(leaving = true): Promise<void> {
    if (!leaving) {
      // The control socket's file stays: the successor listens there now.
      await this.control.close();
      await this.sw.close();
      return;
    }
    this.stopWatching();
    await this.leave(leaving).catch(() => undefined);
    await this.api?.close();
    await this.control.close();
    await this.sw.close();
    await this.store.close();
    fs.rmSync(this.socket, { force: true });
  }
}

/** This host in the store: its underlay address, and its credential's digest the first time
 *  (after that the operator's rotation or revocation stands, and a stale token is warned of). */
async function registerHost(store: TopologyStore, id: string, underlayAddress: string, token: string, logger: Logger): Promise<void> {
  const known = await store.get('host', id);
  const digest = tokenDigest(token);
  const tokenSha256 = known?.value.tokenSha256 || digest;
  if (tokenSha256 !== digest) {
    logger.warn({ hostId: id }, "the credential in the state directory's host-token is not this host's (rotated or revoked): the API refuses it until `vswitch host rotate-token` runs on this host");
  }
  if (known?.value.underlayAddress === underlayAddress && known.value.tokenSha256 === tokenSha256) return;
  await store.put('host', { id, tenant: ADMIN_TENANT, name: known?.value.name ?? os.hostname(), underlayAddress, tokenSha256 });
}

/** The tenant API, built and ready but not listening yet. */
interface ReadyApi {
  app: FastifyInstance;
  listen(where: { path: string } | { host: string; port: number }): Promise<void>;
}

/** Null when the API is off. Over TLS it listens behind a listener that refuses plain HTTP
 *  clearly. */
async function readyApi(config: AgentConfig, stateDir: string, hostId: string, sw: Switch, store: TopologyStore): Promise<ReadyApi | null> {
  if ((config.api ?? DEFAULT_API) === 'off') return null;
  const adminToken = kept(path.join(stateDir, 'admin-token'), newToken);
  const tls = config.apiTlsCert ? { cert: pem(config.apiTlsCert, 'apiTlsCert'), key: pem(config.apiTlsKey!, 'apiTlsKey') } : undefined;
  const samples = {
    ports: () => sw.listPorts().flatMap((p) => (p.binding ? [{ port: p.binding, tenant: sw.topology.tenantOf(p.binding) ?? '', counters: p.counters, drops: p.drops }] : [])),
    cache: () => sw.stats().flows,
  };
  const app = tenantApi({ store, adminToken, hostId, tls, samples, trace: (port, flow) => trace(sw, port, flow) });
  const httpsListener = tls ? httpsOnly(app.server as unknown as HttpsServer) : null;
  if (httpsListener) app.addHook('onClose', (_instance, done) => httpsListener.close(() => done()));
  await app.ready();
  return {
    app,
    listen: async (where) => {
      if (!httpsListener) return void (await app.listen(where));
      await new Promise<void>((resolve, reject) => {
        httpsListener.once('error', reject);
        httpsListener.listen('path' in where ? where.path : where, () => resolve());
      });
    },
  };
}

function openStore(config: AgentConfig, stateDir: string): TopologyStore {
  const store = config.store ?? 'embedded';
  if (store === 'embedded') return EmbeddedStore.open(path.join(stateDir, 'topology'));
  const [scheme, hosts] = store.split('://');
  if (scheme === 'etcd') return new EtcdStore(hosts.split(',').map((hostPort) => `http://${hostPort}`).join(','));
  const tls = {
    ca: pem(config.etcdCa!, 'etcdCa'),
    ...(config.etcdCert ? { cert: pem(config.etcdCert, 'etcdCert'), key: pem(config.etcdKey!, 'etcdKey') } : {}),
  };
  return new EtcdStore(hosts.split(',').map((hostPort) => `https://${hostPort}`).join(','), undefined, tls);
}

/** A PEM file the config names, or an error that names the setting and the file. */
function pem(file: string, setting: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new SwitchError('CONFIG_INVALID', `${setting}: cannot read ${file}: ${(error as Error).message}`, 400, setting);
  }
}

/** Where this host's bridges learned their stations goes to the store: the other hosts send
 *  to them through the tunnel instead of flooding every host. */
async function shareStations(store: TopologyStore, stations: readonly LearnedStation[], logger: Logger): Promise<void> {
  for (const s of stations) {
    const id = stationId(s.bridge, s.vlan, s.mac);
    try {
      if ((await store.get('station', id))?.value.port === s.port) continue;
      await store.put('station', { id, tenant: ADMIN_TENANT, ...s });
    } catch (error) {
      logger.warn({ err: error, station: s }, 'could not share a learned station (kept locally)');
    }
  }
}

/** Stations this host's bridges learned and saw no more for their aging time leave the store
 *  (if it still has them where this host saw them), and so every host's tables. */
async function forgetStations(store: TopologyStore, stations: readonly LearnedStation[], logger: Logger): Promise<void> {
  for (const s of stations) {
    const id = stationId(s.bridge, s.vlan, s.mac);
    try {
      const stored = await store.get('station', id);
      if (stored?.value.port === s.port) await store.delete('station', id, stored.version);
    } catch (error) {
      logger.warn({ err: error, station: s }, 'could not take an aged station out of the store (it ages on the other hosts too)');
    }
  }
}

/** A value kept in a file of the state directory, made once (the host's id, the admin token). */
function kept(file: string, make: () => string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const value = make();
  fs.writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}

function listenOptions(api: string): { path: string } | { host: string; port: number } {
  if (api.includes('/')) {
    fs.rmSync(api, { force: true });
    return { path: api };
  }
  const at = api.lastIndexOf(':');
  return { host: api.slice(0, at), port: Number(api.slice(at + 1)) };
}

/** The switch follows the store: every committed change reaches it, a burst as one update,
 *  applied to the objects it has from the watch's events alone (the store is read whole only
 *  to start). A watch that is lost (etcd compacted past it, or gone) is started again from a
 *  new snapshot, retried every second; meanwhile the switch keeps forwarding on what it has. */
async function followStore(store: TopologyStore, sw: Switch, logger: Logger): Promise<() => void> {
  let stopWatch = () => {};
  let stopped = false;
  // The changes of one turn are applied together.
  let changes: TopologyChange[] = [];
  const update = () => {
    const now = changes;
    changes = [];
    if (stopped || now.length === 0) return;
    try {
      sw.applyChanges(now);
    } catch (error) {
      logger.error({ err: error }, 'applying a topology change failed');
    }
  };
  let generation = 0;
  const follow = async (): Promise<void> => {
    const snapshot = await store.snapshot();
    if (stopped) return;
    changes = [];
    sw.setTopology(snapshot.objects);
    const mine = ++generation;
    stopWatch = store.watch(
      snapshot.revision,
      (event) => {
        if (mine !== generation) return;
        changes.push(event.type === 'put' ? { type: 'put', object: event.object } : { type: 'delete', kind: event.kind, id: event.id });
        if (changes.length === 1) setImmediate(update);
      },
      (error) => {
        if (mine !== generation || stopped) return; // a watch already given up, or told twice
        generation++;
        logger.warn({ err: error }, 'topology watch lost: resyncing');
        stopWatch();
        const retry = () => follow().catch(() => !stopped && setTimeout(retry, 1000));
        setTimeout(retry, 1000);
      },
    );
  };
  await follow();
  return () => {
    stopped = true;
    stopWatch();
  };
}

/** Reads a JSON config file: the AgentConfig fields. */
export function readAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new SwitchError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new SwitchError('CONFIG_INVALID', `config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new SwitchError('CONFIG_INVALID', `config file ${file} must hold a JSON object such as {"ports": [{"name": "vnet0", "kind": "packet"}]}`);
  }
  return config as AgentConfig;
}

const CONFIG_KEYS = new Set([
  'socket', 'logLevel', 'ports', 'stateDir', 'api', 'apiTlsCert', 'apiTlsKey', 'store', 'etcdCa', 'etcdCert', 'etcdKey', 'underlay', 'hostLeaseSeconds', 'datapathWorkers', 'simulationThreads', 'macTableSize', 'macAgingSeconds', 'flowCapacity', 'flowIdleMs', 'busyPollUs', 'sliceUs', 'ringSlots', 'conntrackSize',
  'migrationHoldMs', 'routerAdvertisementSeconds',
]);
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Checks an agent's settings (from a file and flags) before anything starts. Ports are checked
 *  as they are added. */
export function validateAgentConfig(config: AgentConfig): void {
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.has(key)) throw new SwitchError('CONFIG_INVALID', `unknown setting '${key}' (known: ${[...CONFIG_KEYS].join(', ')})`, 400, key);
  }
  if (config.socket !== undefined && (typeof config.socket !== 'string' || config.socket === '')) {
    throw new SwitchError('CONFIG_INVALID', 'socket must be the path of the control socket', 400, 'socket');
  }
  if (config.logLevel !== undefined && !LOG_LEVELS.has(config.logLevel)) {
    throw new SwitchError('CONFIG_INVALID', `logLevel must be one of ${[...LOG_LEVELS].join(', ')}`, 400, 'logLevel');
  }
  if (config.stateDir !== undefined && (typeof config.stateDir !== 'string' || config.stateDir === '')) {
    throw new SwitchError('CONFIG_INVALID', 'stateDir must be a directory path', 400, 'stateDir');
  }
  if (config.api !== undefined && (typeof config.api !== 'string' || !(config.api === 'off' || config.api.includes('/') || /^[^:]+:\d{1,5}$/.test(config.api)))) {
    throw new SwitchError('CONFIG_INVALID', "api must be HOST:PORT (e.g. 127.0.0.1:8780), a unix socket path, or 'off'", 400, 'api');
  }
  if (config.store !== undefined && (typeof config.store !== 'string' || !/^(embedded|etcds?:\/\/[^,/\s]+:\d+(,[^,/\s]+:\d+)*)$/.test(config.store))) {
    throw new SwitchError('CONFIG_INVALID', "store must be 'embedded', etcd://HOST:PORT[,HOST:PORT...] or etcds://… (TLS)", 400, 'store');
  }
  for (const key of ['apiTlsCert', 'apiTlsKey', 'etcdCa', 'etcdCert', 'etcdKey'] as const) {
    if (config[key] !== undefined && (typeof config[key] !== 'string' || config[key] === '')) throw new SwitchError('CONFIG_INVALID', `${key} must be the path of a PEM file`, 400, key);
  }
  const pair = (a: 'apiTlsCert' | 'etcdCert', b: 'apiTlsKey' | 'etcdKey') => {
    if ((config[a] === undefined) !== (config[b] === undefined)) throw new SwitchError('CONFIG_INVALID', `${a} and ${b} go together: a certificate and its private key`, 400, config[a] ? b : a);
  };
  pair('apiTlsCert', 'apiTlsKey');
  pair('etcdCert', 'etcdKey');
  const overTls = config.store?.startsWith('etcds://') ?? false;
  if (overTls && !config.etcdCa) throw new SwitchError('CONFIG_INVALID', 'etcds:// needs etcdCa: the CA that signed etcd\'s certificate', 400, 'etcdCa');
  if (!overTls && (config.etcdCa || config.etcdCert)) throw new SwitchError('CONFIG_INVALID', 'etcdCa, etcdCert and etcdKey are for a store at etcds://HOST:PORT', 400, 'store');
  if (config.underlay !== undefined && !/^[\d.]+$|^[0-9a-fA-F:]+$/.test(String(config.underlay))) {
    throw new SwitchError('CONFIG_INVALID', 'underlay must be this host\'s IP address on the underlay network', 400, 'underlay');
  }
  if (config.hostLeaseSeconds !== undefined && (!Number.isInteger(config.hostLeaseSeconds) || config.hostLeaseSeconds < 1 || config.hostLeaseSeconds > 3600)) {
    throw new SwitchError('CONFIG_INVALID', 'hostLeaseSeconds must be a whole number from 1 to 3600', 400, 'hostLeaseSeconds');
  }
  if (config.ports !== undefined && !Array.isArray(config.ports)) {
    throw new SwitchError('CONFIG_INVALID', 'ports must be a list such as [{"name": "vnet0", "kind": "packet"}]', 400, 'ports');
  }
  validateSwitchOptions(config);
}
