// `npm run bench -- soak -- --minutes N` (30 by default): one agent under churn for N minutes.
// The churn:
// - a host sprays new 5-tuples at 20,000/s across a tenant's router;
// - a VM without port security sends from a new MAC 1,000 times a second;
// - ports are created, bound (to interfaces that are not there) and deleted, 10 a second;
// - a VM's migration to another host is begun and aborted every 10 s.
// Every minute the agent's resident memory, its main thread's heap and its tables' sizes are
// taken. `growth_after_warmup` is the last minute's RSS against minute 5's (target ≤ 5 %).
import path from 'node:path';
import { ControlClient } from '../src/cli/client';
import { Lab, macFlood, macOf, ping, residentMb, routedHost, startAgent, tenantNetwork, vmOn } from '../examples/lab';

const NEW_FLOWS_PER_S = 20_000;
const MACS_PER_S = 1_000;
const PORTS_PER_S = 10;
const MIGRATION_EVERY_MS = 10_000;
const WARMUP_MINUTE = 5;

interface Minute {
  minute: number;
  rss_mb: number;
  heap_used_mb: number;
  flows: number;
  /** Action programs the flows hold (the datapath's interned table), connections tracked. */
  programs: number;
  connections: number;
  mac_entries: number;
  neighbors: number;
  ports_made: number;
  migrations: number;
  api_errors: number;
}

export async function soak(options: { minutes: number; log: (line: string) => void }): Promise<object> {
  const lab = new Lab();
  const seconds = options.minutes * 60;
  try {
    const sw = await lab.namespace('sw');
    const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
    await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
    const churner = await vmOn(lab, sw, 'churner', 't3', '10.0.1.7/24');
    await vmOn(lab, sw, 'mover', 't4', '10.0.1.8/24');
    const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
    const net = await tenantNetwork(agent.api, 'acme', [{ gateway: ['10.0.1.1/24'], interfaces: ['t1', 't3', 't4'] }, { gateway: ['10.0.2.1/24'], interfaces: ['t2'] }]);
    await net.api.request('PATCH', `/v1/ports/${net.ports.get('t3')}`, { portSecurity: false });
    const destination = await agent.api.request<{ id: string }>('POST', '/v1/hosts', { name: 'kvm-02', underlayAddress: '192.0.2.12' });
    for (let tries = 0; !(await ping(lab, h1, '10.0.2.5', 1)); tries++) if (tries > 20) throw new Error('h1 cannot reach h2 across the router');
    const routerMac = (await net.api.request<{ name: string; mac: string }[]>('GET', '/v1/ports')).find((p) => p.name === 'acme-r1')!.mac;

    options.log(`churn for ${options.minutes} min: ${NEW_FLOWS_PER_S} new 5-tuples/s, ${MACS_PER_S} MACs/s, ${PORTS_PER_S} ports/s, a migration every ${MIGRATION_EVERY_MS / 1000} s`);
    const flows = lab.exec(h1, process.execPath, [path.join(__dirname, 'udp-flows.js'), 'eth0', await macOf(lab, h1), routerMac, '10.0.1.5', '10.0.2.5', String(seconds), String(NEW_FLOWS_PER_S)], (seconds + 120) * 1000);
    const macs = macFlood(lab, churner, 'eth0', seconds * MACS_PER_S, 1, MACS_PER_S);
    const counts = { ports: 0, migrations: 0, errors: 0 };
    const end = Date.now() + seconds * 1000;
    const api = net.api;
    const portChurn = (async () => {
      for (let i = 0; Date.now() < end; i++) {
        const due = Date.now() + 1000 / PORTS_PER_S;
        try {
          const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: net.bridges[0], name: `churn${i}` });
          await agent.api.request('POST', '/v1/bindings', { port: port.id, interface: `c${i % 100_000}` });
          await api.request('DELETE', `/v1/ports/${port.id}`);
          counts.ports++;
        } catch {
          counts.errors++;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      }
    })();
    const moving = net.ports.get('t4')!;
    const migrationChurn = (async () => {
      while (Date.now() + MIGRATION_EVERY_MS < end) {
        await new Promise((r) => setTimeout(r, MIGRATION_EVERY_MS));
        try {
          await agent.api.request('POST', '/v1/migrations', { port: moving, destinationHost: destination.id, interface: 'tap-mover' });
          await agent.api.request('POST', `/v1/migrations/${moving}/abort`);
          await agent.api.request('DELETE', `/v1/migrations/${moving}`);
          counts.migrations++;
        } catch {
          counts.errors++;
        }
      }
    })();

    const minutes: Minute[] = [];
    const metrics = new ControlClient(agent.socket);
    for (let minute = 1; minute <= options.minutes; minute++) {
      await new Promise((r) => setTimeout(r, Math.max(0, end - (options.minutes - minute) * 60_000 - Date.now())));
      const stats = await agent.stats();
      const text = await metrics.request<string>('GET', '/metrics');
      const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0);
      minutes.push({
        minute, rss_mb: Math.round(residentMb(agent.pid)), heap_used_mb: Math.round(heap / 2 ** 20), flows: stats.flows.cached,
        programs: stats.flows.programs, connections: stats.connections, mac_entries: stats.macTable.entries, neighbors: stats.neighbors.entries, ports_made: counts.ports, migrations: counts.migrations, api_errors: counts.errors,
      });
      options.log(`minute ${minute}: ${JSON.stringify(minutes.at(-1))}`);
    }
    await Promise.all([portChurn, migrationChurn]);
    const [sentFlows, sentMacs] = [(await flows).stdout.trim(), await macs];
    const at = (m: number) => minutes.find((x) => x.minute === m) ?? minutes[0];
    const warm = at(Math.min(WARMUP_MINUTE, minutes.length));
    const last = minutes.at(-1)!;
    const growth = (last.rss_mb - warm.rss_mb) / warm.rss_mb;
    return {
      bench: 'soak',
      minutes: options.minutes,
      churn: { new_flows_sent: Number(sentFlows), macs_sent: sentMacs, ports_made_bound_deleted: counts.ports, migrations_begun_aborted: counts.migrations, api_errors: counts.errors },
      per_minute: minutes,
      growth_after_warmup: Number(growth.toFixed(4)),
      heap_growth_after_warmup: Number(((last.heap_used_mb - warm.heap_used_mb) / Math.max(1, warm.heap_used_mb)).toFixed(4)),
      targets: { growth_after_warmup: 0.05 },
      met: { growth_after_warmup: growth <= 0.05 },
      config: `vswitch agent, a tenant router between two bridges, embedded store; RSS from /proc, heap of the agent's main thread from /metrics; growth: minute ${options.minutes} against minute ${Math.min(WARMUP_MINUTE, minutes.length)}`,
    };
  } finally {
    await lab.cleanup();
  }
}
