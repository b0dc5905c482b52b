// `npm run bench -- scale [-- --ports N]`: the topology of 1,000 hosts in a real etcd, 100
// ports each on bridges of 100 (100,000 ports by default), and one real agent: one host more,
// whose VMs are on the first bridge. Measured at 10,000 ports and again at the full count, each
// time with an agent started anew:
// - agent_sync_ms and agent_rss_mb: from its start until it answers, having taken the whole
//   topology; its memory once it has settled;
// - change_cpu_ms_p99: the CPU time its thread took to apply one change, by its own count (the
//   /stats topologyChanges: each batch the watch gave at once, divided by its changes), over
//   CHANGES changes to other hosts' ports and bindings; the wall time's p99 beside it;
// - binding_to_flows_p99_ms: a port bound to an interface of this host until its VM's
//   datagrams (sent every millisecond from before) reach another VM here: the binding
//   written, the agent told, the interface attached, the first upcall answered.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Lab, residentMb, startEtcd, VSWITCH } from '../examples/lab';
import type { SwitchStats } from '../src/agent';
import { ControlClient } from '../src/cli/client';
import { ADMIN_TENANT, EMPTY, EtcdStore, newId } from '../src/topology';

const HOSTS = 1000;
const PORTS_PER_BRIDGE = 100;
const CHANGES = 1100;
const TRIES = 20;
const CONCURRENT_WRITES = 200;
const START_BOUND_MS = 600_000;
const ARRIVAL_BOUND_MS = 10_000;
const RECEIVER = { address: '10.200.0.2', mac: '02:00:00:00:bb:fe', port: 9000 };

interface AtSize {
  ports: number;
  agent_sync_ms: number;
  store_snapshot_ms: number;
  agent_rss_mb: number;
  change_cpu_ms_p50: number;
  change_cpu_ms_p99: number;
  change_wall_ms_p99: number;
  changes_applied: number;
  change_batches: number;
  binding_to_flows_median_ms: number;
  binding_to_flows_p99_ms: number;
}

export async function scale(options: { ports: number; log: (line: string) => void }): Promise<object> {
  const lab = new Lab();
  const stores: EtcdStore[] = [];
  try {
    const etcd = await startEtcd(lab);
    const admin = new EtcdStore(etcd.endpoint);
    stores.push(admin);
    const hosts = Array.from({ length: HOSTS }, (_, i) => ({ id: newId(), tenant: ADMIN_TENANT, name: `host${i}`, underlayAddress: `10.${i >> 8}.${i & 255}.1`, tokenSha256: '' }));
    await inBatches(hosts, (h) => admin.put('host', h));
    const bridges: string[] = [];
    const ports: string[] = [];
    const vms = await virtualMachines(lab);
    const relay = await relayEtcd(lab, vms.sw, etcd.endpoint);
    const results: AtSize[] = [];
    for (const size of [...new Set([Math.min(10_000, options.ports), options.ports])]) {
      options.log(`writing ports and bindings up to ${size}`);
      const started = performance.now();
      await grow(admin, size, hosts, bridges, ports);
      options.log(`written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      results.push(await measureAgent(lab, admin, { hosts, bridges, ports, vms }, size, options.log));
    }
    relay.close();
    const full = results[results.length - 1];
    return {
      bench: 'scale', hosts: HOSTS, ...full,
      at_10000: results[0],
      ratios: { change_cpu_p99_full_vs_10000: round(full.change_cpu_ms_p99 / results[0].change_cpu_ms_p99), sync_full_vs_10000: round(full.agent_sync_ms / results[0].agent_sync_ms) },
    };
  } finally {
    for (const s of stores) await s.close();
    await lab.cleanup();
  }
}

/** Ports on bridges of PORTS_PER_BRIDGE, up to `size`, each bound to a host in turn. */
async function grow(admin: EtcdStore, size: number, hosts: { id: string }[], bridges: string[], ports: string[]): Promise<void> {
  const newBridges = Array.from({ length: Math.ceil(size / PORTS_PER_BRIDGE) - bridges.length }, () => newId());
  await inBatches(newBridges, (id) => admin.put('bridge', { ...EMPTY.bridge, id, tenant: 't1', name: `net${bridges.length}` }).then(() => bridges.push(id)));
  const from = ports.length;
  await inBatches(Array.from({ length: size - from }, (_, k) => from + k), async (i) => {
    const id = newId();
    await admin.put('port', { ...EMPTY.port, id, tenant: 't1', device: bridges[Math.floor(i / PORTS_PER_BRIDGE)], name: `vm${i}`, tunnelKey: i + 1 });
    await admin.put('binding', { ...EMPTY.binding, id, tenant: 't1', host: hosts[i % HOSTS].id, interface: `vnet${Math.floor(i / HOSTS)}` });
    ports[i] = id;
  });
}

interface VirtualMachine {
  ns: string;
  /** Its interface in the switch's namespace. */
  attached: string;
  mac: string;
  address: string;
}

/** The agent's namespace, the receiving VM and a VM per try, each behind a veth into it. */
async function virtualMachines(lab: Lab): Promise<{ sw: string; receiver: VirtualMachine; senders: VirtualMachine[] }> {
  const sw = await lab.namespace('sw');
  // The other hosts' tunnels lead to a namespace that drops what it is sent (not its address).
  const sink = await lab.namespace('sink');
  await lab.veth(sw, 'underlay', sink, 'eth0');
  await lab.ip(sw, 'addr', 'add', '192.0.2.1/24', 'dev', 'underlay');
  await lab.ip(sw, 'neigh', 'add', '192.0.2.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'underlay', 'nud', 'permanent');
  await lab.ip(sw, 'route', 'add', '10.0.0.0/8', 'via', '192.0.2.2');
  const vm = async (role: string, attached: string, mac: string, address: string): Promise<VirtualMachine> => {
    const ns = await lab.namespace(role);
    await lab.veth(ns, 'eth0', sw, attached);
    await lab.ip(ns, 'link', 'set', 'eth0', 'address', mac);
    await lab.ip(ns, 'addr', 'add', `${address}/16`, 'dev', 'eth0');
    return { ns, attached, mac, address };
  };
  const receiver = await vm('rx', 'rx', RECEIVER.mac, RECEIVER.address);
  const senders: VirtualMachine[] = [];
  for (let t = 0; t < TRIES; t++) {
    const sender = await vm(`tx${t}`, `tx${t}`, `02:00:00:00:bb:${t.toString(16).padStart(2, '0')}`, `10.200.1.${t + 1}`);
    // Known ahead: the first datagram needs no ARP, whose retry would take a second.
    await lab.ip(sender.ns, 'neigh', 'add', RECEIVER.address, 'lladdr', RECEIVER.mac, 'dev', 'eth0', 'nud', 'permanent');
    senders.push(sender);
  }
  return { sw, receiver, senders };
}

interface World {
  hosts: { id: string }[];
  bridges: string[];
  ports: string[];
  vms: { sw: string; receiver: VirtualMachine; senders: VirtualMachine[] };
}

/** etcd runs here, the agent in its namespace: a relay there forwards 127.0.0.1:2379 to a
 *  unix socket (which any namespace reaches), which this process forwards to etcd. */
async function relayEtcd(lab: Lab, ns: string, endpoint: string): Promise<net.Server> {
  const at = path.join(lab.directory('relay'), 'etcd.sock');
  const { hostname, port } = new URL(endpoint);
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(at, resolve));
  const relay = lab.spawn(ns, process.execPath, ['-e', `
    const net = require('node:net');
    net.createServer((client) => {
      const upstream = net.connect('${at}');
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    }).listen(2379, '127.0.0.1', () => process.stdout.write('listening\\n'));`]);
  let listening = false;
  relay.stdout!.on('data', () => (listening = true));
  await until(() => listening || relay.exitCode !== null);
  return server;
}

async function measureAgent(lab: Lab, admin: EtcdStore, world: World, size: number, log: (line: string) => void): Promise<AtSize> {
  const { sw, receiver } = world.vms;
  const dir = lab.directory(`scale-agent-${size}`);
  const hostId = newId();
  fs.writeFileSync(path.join(dir, 'host-id'), hostId);
  const rxPort = newId();
  await admin.put('port', { ...EMPTY.port, id: rxPort, tenant: 't1', device: world.bridges[0], name: 'rx', mac: receiver.mac, addresses: [`${receiver.address}/16`], tunnelKey: 900_000 });
  await admin.put('binding', { ...EMPTY.binding, id: rxPort, tenant: 't1', host: hostId, interface: receiver.attached });

  const socket = path.join(dir, 'control.sock');
  const started = performance.now();
  const agent = lab.spawn(sw, process.execPath, [VSWITCH, 'agent', '--socket', socket, '--state-dir', dir, '--api', 'off', '--underlay', '192.0.2.1', '--store', 'etcd://127.0.0.1:2379', '--log-level', 'warn']);
  let output = '';
  agent.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const client = new ControlClient(socket);
  // The agent answers once it has taken the whole topology from etcd.
  while (!(await client.request('GET', '/health').then(() => true, () => false))) {
    if (agent.exitCode !== null || performance.now() - started > START_BOUND_MS) throw new Error(`the agent did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const syncMs = performance.now() - started;
  // What reading the store takes alone (from here, without the relay): the rest is the agent's.
  const read = performance.now();
  const objects = (await admin.snapshot()).objects.length;
  const snapshotMs = performance.now() - read;
  log(`${size} ports: agent synced in ${syncMs.toFixed(0)} ms; reading the ${objects} objects alone takes ${snapshotMs.toFixed(0)} ms`);

  const changes = await changeCosts(admin, client, world);
  log(`${size} ports: ${changes.applied} changes applied in ${changes.batches} batches; per change, CPU p50 ${changes.cpuP50Ms} ms, p99 ${changes.cpuP99Ms} ms; wall p99 ${changes.wallP99Ms} ms`);

  const latencies = await bindingsToFlows(lab, admin, world, hostId);
  log(`${size} ports: binding to flows ${latencies.map((x) => x.toFixed(1)).join(' ')} ms`);
  const rss = residentMb(agent.pid!);
  log(`${size} ports: ${rss.toFixed(0)} MB resident`);
  agent.kill('SIGKILL');
  await admin.delete('binding', rxPort);
  await admin.delete('port', rxPort);
  return {
    ports: size, agent_sync_ms: Math.round(syncMs), store_snapshot_ms: Math.round(snapshotMs), agent_rss_mb: round(rss),
    change_cpu_ms_p50: changes.cpuP50Ms, change_cpu_ms_p99: changes.cpuP99Ms, change_wall_ms_p99: changes.wallP99Ms, changes_applied: changes.applied, change_batches: changes.batches,
    binding_to_flows_median_ms: round(latencies[Math.floor(latencies.length / 2)]), binding_to_flows_p99_ms: round(latencies[latencies.length - 1]),
  };
}

/** CHANGES changes to other hosts' objects, one at a time: a port renamed, a binding moved to
 *  another host, a port made and bound; the agent's own timing of what it applied. */
async function changeCosts(admin: EtcdStore, client: ControlClient, world: World): Promise<SwitchStats['topologyChanges']> {
  const { ports, hosts, bridges } = world;
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];
  const stats = () => client.request<SwitchStats>('GET', '/stats');
  const { applied: before, batches: batchesBefore } = (await stats()).topologyChanges;
  const made: string[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const i = Math.floor(Math.random() * ports.length);
    const id = ports[i];
    if (c % 3 === 0) await admin.put('port', { ...EMPTY.port, id, tenant: 't1', device: bridges[Math.floor(i / PORTS_PER_BRIDGE)], name: `vm${i}-${c}`, tunnelKey: i + 1 });
    else if (c % 3 === 1) await admin.put('binding', { ...EMPTY.binding, id, tenant: 't1', host: pick(hosts).id, interface: `vnet-moved${c}` });
    else {
      const fresh = newId();
      await admin.put('port', { ...EMPTY.port, id: fresh, tenant: 't1', device: pick(bridges), name: `new${c}`, tunnelKey: 500_000 + c });
      await admin.put('binding', { ...EMPTY.binding, id: fresh, tenant: 't1', host: pick(hosts).id, interface: `vnet-new${c}` });
      made.push(fresh);
    }
  }
  // Until the agent has applied all it was told: its count stops growing.
  let last = -1;
  for (let now = (await stats()).topologyChanges.applied; now !== last || now <= before; now = (await stats()).topologyChanges.applied) {
    last = now;
    await new Promise((r) => setTimeout(r, 200));
  }
  const timings = (await stats()).topologyChanges;
  for (const id of made) {
    await admin.delete('binding', id);
    await admin.delete('port', id);
  }
  return { ...timings, applied: timings.applied - before, batches: timings.batches - batchesBefore };
}

/** Per try: a VM that sends to the receiver every millisecond from before its port is bound;
 *  how long from the binding's write until the receiver hears it. */
async function bindingsToFlows(lab: Lab, admin: EtcdStore, world: World, hostId: string): Promise<number[]> {
  const { receiver, senders } = world.vms;
  const heard = new Map<string, number>();
  const listener = lab.spawn(receiver.ns, process.execPath, ['-e', `
    const socket = require('node:dgram').createSocket('udp4');
    const seen = new Set();
    socket.on('message', (_, from) => {
      if (seen.has(from.address)) return;
      seen.add(from.address);
      process.stdout.write((performance.timeOrigin + performance.now()) + ' ' + from.address + '\\n');
    });
    socket.bind(${RECEIVER.port}, () => process.stdout.write('listening\\n'));`]);
  let text = '';
  let listening = false;
  listener.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
    for (const line of text.split('\n').slice(0, -1)) {
      const [at, address] = line.split(' ');
      if (address) heard.set(address, Number(at));
      else listening = true;
    }
    text = text.slice(text.lastIndexOf('\n') + 1);
  });
  await until(() => listening || listener.exitCode !== null);
  const latencies: number[] = [];
  try {
    for (const sender of senders) {
      const id = newId();
      await admin.put('port', { ...EMPTY.port, id, tenant: 't1', device: world.bridges[0], name: sender.attached, mac: sender.mac, addresses: [`${sender.address}/16`], tunnelKey: 800_000 + latencies.length });
      const sending = lab.spawn(sender.ns, process.execPath, ['-e', `
        const socket = require('node:dgram').createSocket('udp4');
        setInterval(() => socket.send('x', ${RECEIVER.port}, '${RECEIVER.address}'), 1);
        socket.send('x', ${RECEIVER.port}, '${RECEIVER.address}', () => process.stdout.write('sending\\n'));`]);
      let sendingYet = false;
      sending.stdout!.on('data', () => (sendingYet = true));
      await until(() => sendingYet); // before the binding exists
      const written = performance.timeOrigin + performance.now();
      await admin.put('binding', { ...EMPTY.binding, id, tenant: 't1', host: hostId, interface: sender.attached });
      await until(() => heard.has(sender.address), ARRIVAL_BOUND_MS);
      latencies.push(heard.get(sender.address)! - written);
      sending.kill('SIGKILL');
      await admin.delete('binding', id);
      await admin.delete('port', id);
    }
  } finally {
    listener.kill('SIGKILL');
  }
  return latencies.sort((a, b) => a - b);
}

async function until(condition: () => boolean, boundMs = 30_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('not within the bound');
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENT_WRITES) await Promise.all(items.slice(i, i + CONCURRENT_WRITES).map(work));
}

function round(x: number): number {
  return Number(x.toFixed(1));
}
