// A live migration of a real QEMU VM between two hosts of the overlay, under a sequenced UDP
// stream (and a ping) from a peer on a third host; the VM echoes the stream. Each host is a
// namespace with an agent, sharing etcd; QEMU's own migration stream goes from the source
// QEMU to the incoming one over a local socket, driven through QMP.
//   with mirroring: the libvirt hook (examples/libvirt/qemu) is run with libvirt's calls on
//     each host: the destination's prepare/start begin the migration before QEMU copies
//     memory, the source's stopped/release commit it once QEMU has moved the VM;
//   without: today's behaviour, the port's binding moved to the destination at the
//     switchover (the destination's RESUME), the peers relying on the guest's announcement.
import path from 'node:path';
import { eventually, RunningAgent, sleep } from './agent-process';
import { domainXml, runHook } from './libvirt';
import type { Lab } from './namespaces';
import { overlayHosts } from './overlay-hosts';
import { startGuest } from './qemu';
import type { Qmp } from './qmp';
import { sequencedStream, StreamReport } from './sequenced-stream';
import { vmOn } from './topologies';
import { ping } from './traffic';

const VM_MAC = '52:54:00:12:34:56';
const VM_IP = '10.0.0.5';
const ECHO_PORT = 7;

export interface MigrationOptions {
  mirroring: boolean;
  /** Datagrams a second in the stream. */
  rate: number;
  /** How long the stream runs; the migration starts a second into it. */
  seconds: number;
  log: (line: string) => void;
}

export interface MigrationReport extends StreamReport {
  /** From QEMU (query-migrate at the source): the whole migration, and its own downtime figure. */
  total_ms: number;
  downtime_ms: number;
  /** The guest's pause as QMP events tell it: the source's STOP to the destination's RESUME. */
  pause_ms: number;
  /** The ping beside the stream, every 10 ms. */
  ping: { sent: number; received: number; duplicates: number };
  /** Each host's drop counters that moved (readAtSource: held copies the guest had read at the
   *  source; heldTooLong: older than the hold window; unknownTunnelKey: copies that came before
   *  the destination attached the tap). */
  drops: Record<string, Record<string, number>>;
  /** Datagrams the guest's own stack dropped (RcvbufErrors + InErrors, from its last report). */
  guest_udp_receive_errors: number;
  /** With mirroring: from the commit (as the API wrote it) until the peer host's flows to the
   *  VM tunnel to the destination alone. */
  commit_to_peer_flows_ms?: number;
  /** Where the port is bound at the end, and the migration object's end state (with mirroring). */
  bound_on: 'source' | 'destination' | 'elsewhere';
  migration_state?: string;
}

export async function migrateUnderStream(lab: Lab, options: MigrationOptions): Promise<MigrationReport> {
  const { log } = options;
  const { hosts, agents, ids } = await overlayHosts(lab, ['src', 'dst', 'peer']);
  const [source, destination] = agents;
  const api = agents[2].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'tenant' });
  const port = (await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'vm1' })).id;
  const peerPort = (await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'peer' })).id;
  const peer = await vmOn(lab, hosts[2].ns, 'peerVm', 'tap-peer', '10.0.0.9/24');
  await api.request('POST', '/v1/bindings', { port: peerPort, interface: 'tap-peer', host: ids[2] });

  log('booting the VM on the source host (QEMU, TCG)');
  const vm = await startGuest(lab, { ns: hosts[0].ns, tap: 'vm1-src', mac: VM_MAC, address: `${VM_IP}/24` });
  await api.request('POST', '/v1/bindings', { port, interface: 'vm1-src', host: ids[0] });
  await vm.booted();
  if (!(await eventually(() => ping(lab, peer, VM_IP, 1), 20_000))) throw new Error('the peer cannot reach the VM');

  log(`stream: ${options.rate} datagrams/s for ${options.seconds} s, and a ping every 10 ms; ${options.mirroring ? 'with' : 'without'} mirroring`);
  const streamStart = Date.now();
  const since = () => `${Date.now() - streamStart} ms into the stream`;
  const stream = sequencedStream(lab, peer, VM_IP, ECHO_PORT, options.rate, options.seconds);
  const pings = Math.round(options.seconds * 100);
  const pinging = lab.exec(peer, 'ping', ['-c', String(pings), '-i', '0.01', '-W', '1', VM_IP], (options.seconds + 30) * 1000).catch((e: { stdout: string }) => e);
  await sleep(1000);

  const incoming = path.join(lab.directory('migration'), 'stream.sock');
  const arrivingXml = domainXml('vm1', VM_MAC, port, 'vm1-dst');
  const libvirtAt = async (agent: RunningAgent, xml: string, calls: string[][]) => {
    for (const call of calls) {
      const result = await runHook(lab, agent, ['vm1', ...call, '-'], xml);
      if (result.stderr) log(`hook ${call.join(' ')}, ${since()}: ${result.stderr.trim()}`);
    }
  };
  if (options.mirroring) await libvirtAt(destination, arrivingXml, [['migrate', 'begin'], ['prepare', 'begin'], ['start', 'begin']]);
  const arriving = await startGuest(lab, { ns: hosts[1].ns, tap: 'vm1-dst', mac: VM_MAC, address: `${VM_IP}/24`, incoming });
  if (options.mirroring) {
    await libvirtAt(destination, arrivingXml, [['started', 'begin']]);
    if (!(await eventually(async () => (await destination.ports()).some((p) => p.name === 'vm1-dst'), 5000))) throw new Error('the destination did not attach the arriving tap');
  }

  log('migrating');
  const resumed = arriving.qmp.event('RESUME');
  void resumed.then(() => log(`the guest resumed at the destination, ${since()}`));
  const moved = options.mirroring ? Promise.resolve() : resumed.then(() => api.request('PATCH', `/v1/bindings/${port}`, { interface: 'vm1-dst', host: ids[1] }));
  await vm.qmp.execute('migrate', { uri: `unix:${incoming}` });
  await vm.qmp.event('MIGRATION', (d) => d.status === 'completed' || d.status === 'failed');
  const info = await migrationFigures(vm.qmp);
  const pause = (await resumed).at - (await vm.qmp.event('STOP')).at;
  await moved;
  // libvirt ends the source QEMU, whose tap goes with it, then calls the hook there.
  await vm.qmp.execute('quit').catch(() => undefined);
  const flowsMoved = options.mirroring ? whenFlowsGo(agents[2], hosts[1].address, hosts[0].address) : Promise.resolve(0);
  if (options.mirroring) await libvirtAt(source, domainXml('vm1', VM_MAC, port, 'vm1-src'), [['stopped', 'end'], ['release', 'end']]);
  log(`migrated: QEMU total ${info['total-time']} ms, downtime ${info.downtime} ms, guest paused ${pause.toFixed(1)} ms`);

  const report = await stream;
  await sleep(1100); // the guest's next report of its UDP counters (every second)
  // Where frames were let go, host by host: what explains the duplicates and any loss.
  const drops: Record<string, Record<string, number>> = {};
  for (const [i, a] of agents.entries()) drops[['source', 'destination', 'peer'][i]] = Object.fromEntries(Object.entries((await a.stats()).drops).filter(([, n]) => n > 0));
  const { stdout } = await pinging;
  const binding = await api.request<{ host: string }>('GET', `/v1/bindings/${port}`);
  const migration = options.mirroring ? await api.request<{ state: string; endedAt: number }>('GET', `/v1/migrations/${port}`) : undefined;
  const movedAt = await flowsMoved;
  return {
    ...report,
    total_ms: info['total-time'],
    downtime_ms: info.downtime,
    pause_ms: Math.round(pause * 10) / 10,
    ping: {
      sent: pings,
      received: Number(/(\d+) received/.exec(stdout)?.[1] ?? 0),
      duplicates: Number(/\+(\d+) duplicates/.exec(stdout)?.[1] ?? 0),
    },
    drops,
    guest_udp_receive_errors: guestUdpReceiveErrors(arriving.console()),
    ...(migration ? { commit_to_peer_flows_ms: movedAt - migration.endedAt } : {}),
    bound_on: binding.host === ids[0] ? 'source' : binding.host === ids[1] ? 'destination' : 'elsewhere',
    migration_state: migration?.state,
  };
}

type MigrationInfo = { status: string; 'total-time'?: number; downtime?: number };

/** query-migrate once QEMU has its figures: it sets them a moment after the completed event. */
async function migrationFigures(qmp: Qmp): Promise<{ 'total-time': number; downtime: number }> {
  for (let tries = 0; ; tries++) {
    const info = await qmp.execute<MigrationInfo>('query-migrate');
    if (info.status !== 'completed') throw new Error(`the migration ${info.status}`);
    if (info['total-time'] && info.downtime !== undefined) return { 'total-time': info['total-time'], downtime: info.downtime };
    if (tries > 50) throw new Error('QEMU gave no migration figures');
    await sleep(20);
  }
}

/** When `agent`'s flows first tunnel to `to` and no longer to `from` (ms since the epoch),
 *  looked at every 5 ms for 10 s at most. */
async function whenFlowsGo(agent: RunningAgent, to: string, from: string): Promise<number> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const actions = (await agent.client.request<{ actions: string }[]>('GET', '/flows')).map((f) => f.actions);
    if (actions.some((a) => a.includes(`dst=${to})`)) && !actions.some((a) => a.includes(`dst=${from})`))) return Date.now();
    await sleep(5);
  }
  throw new Error(`the peer's flows still tunnel to ${from}`);
}

/** The guest reports /proc/net/snmp's Udp line every second (examples/qemu/init): InErrors
 *  and RcvbufErrors of the last report. */
function guestUdpReceiveErrors(console: string): number {
  const last = [...console.matchAll(/vswitch-guest: Udp: ([\d ]+)/g)].pop();
  if (!last) return -1;
  const [, , inErrors, , rcvbufErrors] = last[1].trim().split(/\s+/).map(Number);
  return inErrors + rcvbufErrors;
}
