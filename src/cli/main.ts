// `vswitch`: the agent daemon and the commands that talk to it.
import type { AgentConfig, LearnedMac, PortConfig, PortInfo, SwitchStats } from '../agent';
import { DEFAULT_SOCKET } from '../agent/control-socket';
import { Args, flag, integerFlag, parseArgs } from './args';
import { ControlClient, ControlError } from './client';
import { table } from './table';
import { SUBNET_BOOLEANS } from './subnet-commands';
import { tenantClient, topologyCommand, TOPOLOGY_COMMANDS, TOPOLOGY_OPTIONS, TOPOLOGY_USAGE, VIRTUAL_PORT_COMMANDS } from './topology-commands';
import { openApiDocument } from '../api/openapi';
import { CAPTURE_OPTIONS, CAPTURE_SHORT, CAPTURE_USAGE, captureCommand } from './capture-command';
import { bashCompletion } from './completion';
import type { Neighbor } from '../simulation';

const USAGE = `usage: vswitch [--socket PATH] [--json] COMMAND

  agent [--config FILE] [--port NAME[:KIND[:VLAN]]]... [--log-level LEVEL]
        [--datapath-workers N] [--simulation-threads N]   run the switch (the daemon)
        [--state-dir DIR] [--api HOST:PORT|PATH|off]      topology store, tenant API
        [--api-tls-cert PEM --api-tls-key PEM]            the tenant API over HTTPS only
        [--store embedded|etcd://HOST:PORT[,…]]            where the topology lives
        [--store etcds://HOST:PORT[,…] --etcd-ca PEM [--etcd-cert PEM --etcd-key PEM]]
                                                          etcd over TLS (with a client certificate)
        [--underlay ADDRESS] [--host-lease SECONDS]        this host on the underlay
        [--migration-hold-ms MS]        how old a frame held for a VM arriving by migration may get (500)
        [--conntrack-size N]            connections security groups track at once (65536)
        [--router-advertisement-seconds N]  between routers' unsolicited advertisements (200)
        [--busy-poll-us N]              how long a datapath worker keeps looking for frames
                                        after some came, before it sleeps (0)
        [--slice-us N]                  a datapath worker thread's scheduler slice: a short one
                                        wakes it sooner on a busy core (100; with busy polling,
                                        0: the kernel's)
        [--ring-slots N]                2 KiB slots in each packet port's receive ring (4096)
        [--takeover]                    take the ports of the agent running on the same socket,
                                        with what is queued on them, and replace it (an upgrade)
  port add NAME [--kind packet|tap] [--vlan N] [--no-vnet-hdr]
                                  attach an interface (packet: an existing one such as
                                  a QEMU vnet device or veth; tap: create or open a tap);
                                  kept in the state directory, attached again at a restart
  port del NAME|NUMBER            detach a port (and forget one port add attached)
  port list                       ports with their state and counters
  flows [flush]                   dump the flow cache, or empty it
  stats                           flow cache, drops by reason, MAC table, slow path
  macs                            the learned MAC table
  neighbors                       what the routers know of their neighbors (ARP, NDP)
${CAPTURE_USAGE}
  completion bash                 bash completion for vswitch (source <(vswitch completion bash))
  openapi                         the tenant API's OpenAPI document, as the agent serves it
                                  at /openapi.json (for client generators and linters)
${TOPOLOGY_USAGE}

The agent's local socket defaults to $VSWITCH_SOCKET or ${DEFAULT_SOCKET}.`;

const BOOLEANS = new Set(['json', 'drops', 'takeover', 'no-vnet-hdr', 'help', 'vlan-aware', 'trunk', 'no-port-security', 'ipv6', 'external', ...SUBNET_BOOLEANS]);
const GLOBAL_OPTIONS = ['socket', 'json', 'help', 'api', 'token', 'cacert'];
/** The options each command takes, besides the global ones. */
const COMMAND_OPTIONS: Record<string, string[]> = {
  agent: [
    'config', 'port', 'log-level', 'datapath-workers', 'simulation-threads', 'state-dir', 'api', 'api-tls-cert', 'api-tls-key', 'store', 'etcd-ca', 'etcd-cert', 'etcd-key',
    'underlay', 'host-lease', 'migration-hold-ms', 'conntrack-size', 'router-advertisement-seconds', 'busy-poll-us', 'slice-us', 'ring-slots', 'takeover',
  ],
  'port add': ['kind', 'vlan', 'no-vnet-hdr'],
  capture: CAPTURE_OPTIONS,
  ...TOPOLOGY_OPTIONS,
};

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv.map((word) => CAPTURE_SHORT[word] ?? word), BOOLEANS);
  } catch (error) {
    process.stderr.write(`vswitch: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, sub, ...rest] = args.positional;
  if (!command || args.flags.has('help') || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  const known = new Set([...GLOBAL_OPTIONS, ...(COMMAND_OPTIONS[`${command} ${sub}`] ?? COMMAND_OPTIONS[command] ?? [])]);
  for (const name of args.flags.keys()) {
    if (!known.has(name)) {
      const words = command === 'port' ? `port ${sub ?? ''}`.trim() : command;
      process.stderr.write(`vswitch: unknown option --${name} for '${words}' (it takes ${[...known].map((o) => `--${o}`).join(', ')})\n`);
      return 2;
    }
  }
  const json = args.flags.has('json');
  const client = new ControlClient(flag(args, 'socket') ?? DEFAULT_SOCKET);
  const print = (value: unknown, text: () => string) => process.stdout.write((json ? JSON.stringify(value, null, 2) : text()) + '\n');
  try {
    switch (command) {
      case 'agent':
        return await runAgent(args);
      case 'port':
        if (VIRTUAL_PORT_COMMANDS.has(sub)) return await topologyCommand(tenantClient(args), client, args.positional, args, print);
        return await portCommand(client, sub, rest, args, print);
      case 'flows': {
        if (sub === 'flush') {
          const result = await client.request<{ removed: number }>('DELETE', '/flows');
          print(result, () => `${result.removed} flows removed`);
          return 0;
        }
        const flows = await client.request<{ match: string; actions: string; packets: number; bytes: number; idleMs: number }[]>('GET', '/flows');
        print(flows, () => flows.map((f) => `packets=${f.packets}, bytes=${f.bytes}, idle=${(f.idleMs / 1000).toFixed(1)}s, ${f.match} actions=${f.actions}`).join('\n'));
        return 0;
      }
      case 'stats': {
        const stats = await client.request<SwitchStats>('GET', '/stats');
        print(stats, () => formatStats(stats));
        return 0;
      }
      case 'macs': {
        const macs = await client.request<LearnedMac[]>('GET', '/macs');
        print(macs, () => table(['bridge', 'port', 'vlan', 'mac'], macs.map((m) => [m.bridge.slice(0, 8), m.portName, m.vlan, m.mac])));
        return 0;
      }
      case 'neighbors': {
        const neighbors = await client.request<Neighbor[]>('GET', '/neighbors');
        print(neighbors, () => table(['router', 'address', 'mac'], neighbors.map((n) => [n.router.slice(0, 8), n.address, n.mac])));
        return 0;
      }
      case 'capture':
        return await captureCommand(client, sub, args);
      case 'completion':
        if (sub !== 'bash') throw new Error('completion: only bash is made (vswitch completion bash)');
        process.stdout.write(bashCompletion(USAGE, COMMAND_OPTIONS, GLOBAL_OPTIONS));
        return 0;
      case 'openapi':
        process.stdout.write(JSON.stringify(openApiDocument(), null, 2) + '\n');
        return 0;
      default:
        if (TOPOLOGY_COMMANDS.has(command)) return await topologyCommand(tenantClient(args), client, args.positional, args, print);
        process.stderr.write(`vswitch: unknown command '${command}'\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    const field = error instanceof ControlError && error.field ? ` (field: ${error.field})` : '';
    process.stderr.write(`vswitch: ${(error as Error).message}${field}\n`);
    return 1;
  }
}

async function portCommand(
  client: ControlClient, sub: string | undefined, rest: string[], args: Args, print: (value: unknown, text: () => string) => void,
): Promise<number> {
  if (sub === 'list' || sub === undefined) {
    const ports = await client.request<PortInfo[]>('GET', '/ports');
    print(ports, () =>
      table(
        ['port', 'name', 'kind', 'vlan', 'state', 'rx packets', 'rx bytes', 'rx dropped', 'tx packets', 'tx bytes', 'tx dropped', 'its frames dropped'],
        ports.map((p) => [
          p.number, p.name, p.kind, p.vlan ?? 'trunk', p.state + (p.reason ? ` (${p.reason})` : ''),
          p.counters.rxPackets, p.counters.rxBytes, p.counters.rxDropped, p.counters.txPackets, p.counters.txBytes, p.counters.txDropped,
          Object.entries(p.drops).map(([reason, n]) => `${reason}=${n}`).join(' ') || '-',
        ]),
      ),
    );
    return 0;
  }
  const name = rest[0];
  if (!name) throw new Error(`vswitch port ${sub} needs an interface name`);
  if (sub === 'add') {
    const body: PortConfig = { name, kind: (flag(args, 'kind') ?? 'packet') as PortConfig['kind'] };
    const vlan = integerFlag(args, 'vlan');
    if (vlan !== undefined) body.vlan = vlan;
    if (args.flags.has('no-vnet-hdr')) body.vnetHdr = false;
    const port = await client.request<PortInfo>('POST', '/ports', body);
    print(port, () => `port ${port.number}: ${port.name} (${port.kind}) ${port.state}`);
    return 0;
  }
  if (sub === 'del') {
    await client.request('DELETE', `/ports/${encodeURIComponent(name)}`);
    print({ removed: name }, () => `port ${name} removed`);
    return 0;
  }
  throw new Error(`unknown port command '${sub}' (add, del, list)`);
}

function formatStats(s: SwitchStats): string {
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0);
  return [
    `ports: ${s.ports}`,
    `flow cache: ${s.flows.cached} flows, ${s.flows.hits} hits, ${s.flows.misses} misses, ${s.flows.upcalls} upcalls, ` +
      `${s.flows.evictions} evicted, ${s.flows.expirations} expired, ${s.flows.invalidations} invalidated`,
    `drops: ${drops.length ? drops.map(([r, n]) => `${r}=${n}`).join(', ') : 'none'}`,
    `mac table: ${s.macTable.entries}/${s.macTable.capacity} entries, ${s.macTable.refusals} refused`,
    `neighbors: ${s.neighbors.entries}, ${s.neighbors.refusals} refused`,
    `slow path: ${s.slowPath.batches} batches, ${s.slowPath.failures} failed, last ${s.slowPath.lastLatencyMs.toFixed(3)} ms`,
  ].join('\n');
}

async function runAgent(args: Args): Promise<number> {
  // Loaded for this command alone: the others only talk to a running agent (70 ms less each).
  const { Agent, readAgentConfig } = await import('../agent');
  const agent = await Agent.start(agentConfig(args, readAgentConfig), args.flags.has('takeover'));
  const reload = () => void agent.reload(() => agentConfig(args, readAgentConfig));
  process.on('SIGHUP', reload);
  const handedOver = await Promise.race([
    new Promise<boolean>((resolve) => {
      process.once('SIGTERM', () => resolve(false));
      process.once('SIGINT', () => resolve(false));
    }),
    agent.handedOver.then(() => true),
  ]);
  process.off('SIGHUP', reload);
  await agent.stop(!handedOver);
  return 0;
}

/** The agent's configuration: its file (--config), then its flags over it. */
function agentConfig(args: Args, readAgentConfig: (file: string) => AgentConfig): AgentConfig {
  const configFile = flag(args, 'config');
  const config: AgentConfig = configFile ? readAgentConfig(configFile) : {};
  const socket = flag(args, 'socket');
  if (socket) config.socket = socket;
  const logLevel = flag(args, 'log-level');
  if (logLevel) config.logLevel = logLevel;
  const stateDir = flag(args, 'state-dir');
  if (stateDir) config.stateDir = stateDir;
  const api = flag(args, 'api');
  if (api) config.api = api;
  const store = flag(args, 'store');
  if (store) config.store = store;
  for (const [option, key] of [['api-tls-cert', 'apiTlsCert'], ['api-tls-key', 'apiTlsKey'], ['etcd-ca', 'etcdCa'], ['etcd-cert', 'etcdCert'], ['etcd-key', 'etcdKey']] as const) {
    const file = flag(args, option);
    if (file) config[key] = file;
  }
  const underlay = flag(args, 'underlay');
  if (underlay) config.underlay = underlay;
  const lease = integerFlag(args, 'host-lease');
  if (lease !== undefined) config.hostLeaseSeconds = lease;
  const conntrackSize = integerFlag(args, 'conntrack-size');
  if (conntrackSize !== undefined) config.conntrackSize = conntrackSize;
  const advertisementSeconds = integerFlag(args, 'router-advertisement-seconds');
  if (advertisementSeconds !== undefined) config.routerAdvertisementSeconds = advertisementSeconds;
  const hold = integerFlag(args, 'migration-hold-ms');
  if (hold !== undefined) config.migrationHoldMs = hold;
  const busyPoll = integerFlag(args, 'busy-poll-us');
  if (busyPoll !== undefined) config.busyPollUs = busyPoll;
  const slice = integerFlag(args, 'slice-us');
  if (slice !== undefined) config.sliceUs = slice;
  const ringSlots = integerFlag(args, 'ring-slots');
  if (ringSlots !== undefined) config.ringSlots = ringSlots;
  const datapathWorkers = integerFlag(args, 'datapath-workers');
  if (datapathWorkers !== undefined) config.datapathWorkers = datapathWorkers;
  const simulationThreads = integerFlag(args, 'simulation-threads');
  if (simulationThreads !== undefined) config.simulationThreads = simulationThreads;
  for (const spec of args.flags.get('port') ?? []) {
    const [name, kind = 'packet', vlan] = spec.split(':');
    config.ports = [...(config.ports ?? []), { name, kind: kind as PortConfig['kind'], ...(vlan ? { vlan: Number(vlan) } : {}) }];
  }
  return config;
}
