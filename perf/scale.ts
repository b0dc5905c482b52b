// `npm run bench -- scale`: a topology of 100 hosts' worth (10,000 ports, each bound to one
// of 100 hosts) in a real etcd; 100 watchers stand in for the hosts' agents. Measured: how
// long a new binding takes to reach every watcher (median, p99 over 20), and one real agent
// started on that etcd: how long it takes to sync, and its memory.
import path from 'node:path';
import { Lab, residentMb, startEtcd, VSWITCH } from '../examples/lab';
import { ControlClient } from '../src/cli/client';
import { ADMIN_TENANT, EMPTY, EtcdStore, newId } from '../src/topology';

const HOSTS = 100;
const PORTS = 10_000;
const TRIES = 20;
const CONCURRENT_WRITES = 200;

export async function scale(options: { log: (line: string) => void }): Promise<object> {
  const lab = new Lab();
  const stores: EtcdStore[] = [];
  try {
    const etcd = await startEtcd(lab);
    const admin = new EtcdStore(etcd.endpoint);
    stores.push(admin);
    const hosts = Array.from({ length: HOSTS }, (_, i) => ({ id: newId(), tenant: ADMIN_TENANT, name: `host${i}`, underlayAddress: `10.${i >> 8}.${i & 255}.1`, tokenSha256: '' }));
    await inBatches(hosts, (h) => admin.put('host', h));
    const bridges = Array.from({ length: PORTS / 100 }, (_, i) => ({ ...EMPTY.bridge, id: newId(), tenant: 't1', name: `net${i}` }));
    await inBatches(bridges, (b) => admin.put('bridge', b));
    options.log(`writing ${PORTS} ports and bindings`);
    const started = performance.now();
    await inBatches(Array.from({ length: PORTS }, (_, i) => i), async (i) => {
      const id = newId();
      await admin.put('port', { ...EMPTY.port, id, tenant: 't1', device: bridges[i % bridges.length].id, name: `vm${i}`, tunnelKey: i + 1 });
      await admin.put('binding', { ...EMPTY.binding, id, tenant: 't1', host: hosts[i % HOSTS].id, interface: `vnet${Math.floor(i / HOSTS)}` });
    });
    const writeSeconds = (performance.now() - started) / 1000;

    // The hosts' agents, as watchers: each is told of every change from now on.
    const seen = new Map<string, number>();
    const from = (await admin.snapshot()).revision;
    for (let i = 0; i < HOSTS; i++) {
      const store = new EtcdStore(etcd.endpoint);
      stores.push(store);
      store.watch(from, (e) => {
        if (e.type === 'put' && e.object.kind === 'binding') seen.set(e.object.value.id, (seen.get(e.object.value.id) ?? 0) + 1);
      });
    }
    await new Promise((r) => setTimeout(r, 1000));
    const latencies: number[] = [];
    for (let t = 0; t < TRIES; t++) {
      const id = newId();
      await admin.put('port', { ...EMPTY.port, id, tenant: 't1', device: bridges[0].id, tunnelKey: PORTS + t + 1 });
      const start = performance.now();
      await admin.put('binding', { ...EMPTY.binding, id, tenant: 't1', host: hosts[t].id, interface: 'vnet-new' });
      while ((seen.get(id) ?? 0) < HOSTS) await new Promise((r) => setImmediate(r));
      latencies.push(performance.now() - start);
    }
    latencies.sort((a, b) => a - b);
    options.log(`binding to every watcher: ${latencies.map((x) => x.toFixed(1)).join(' ')} ms`);

    const agent = await measureAgent(lab, etcd.endpoint, options);
    return {
      bench: 'scale', hosts: HOSTS, ports: PORTS, bindings: PORTS, write_s: round(writeSeconds),
      binding_to_all_median_ms: round(latencies[Math.floor(TRIES / 2)]), binding_to_all_p99_ms: round(latencies[TRIES - 1]),
      ...agent,
    };
  } finally {
    for (const s of stores) await s.close();
    await lab.cleanup();
  }
}

/** One real agent on that etcd (in this namespace: no port, no API, nothing on the network). */
async function measureAgent(lab: Lab, endpoint: string, options: { log: (line: string) => void }): Promise<{ agent_sync_ms: number; agent_rss_mb: number }> {
  const dir = lab.directory('scale-agent');
  const socket = path.join(dir, 'control.sock');
  const started = performance.now();
  const child = lab.spawn(null, process.execPath, [VSWITCH, 'agent', '--socket', socket, '--state-dir', dir, '--api', 'off', '--store', `etcd://${endpoint.replace('http://', '')}`, '--log-level', 'warn']);
  const client = new ControlClient(socket);
  // The agent answers once it has taken the whole topology from etcd.
  for (let tries = 0; !(await client.request('GET', '/health').then(() => true, () => false)); tries++) {
    if (tries > 600) throw new Error('the agent did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const syncMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 3000));
  const rss = residentMb(child.pid!);
  options.log(`agent: synced in ${syncMs.toFixed(0)} ms, ${rss.toFixed(0)} MB resident`);
  return { agent_sync_ms: Math.round(syncMs), agent_rss_mb: round(rss) };
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENT_WRITES) await Promise.all(items.slice(i, i + CONCURRENT_WRITES).map(work));
}

function round(x: number): number {
  return Number(x.toFixed(1));
}
