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
import { VXLAN_UDP_PORT } from '../../src/packet';
import { eventually, RunningAgent, sleep, WAIT_MS } from './agent-process';
import { capture } from './capture';
import { domainXml, runHook } from './libvirt';
import type { Lab } from './namespaces';
import { overlayHosts } from './overlay-hosts';
import { startGuest } from './qemu';
import type { Qmp } from './qmp';
import { sequencedStream, StreamReport } from './sequenced-stream';
import { vmOn } from './topologies';
import { ping, PingReport, pingUntilStopped } from './traffic';

const VM_MAC = '52:54:00:12:34:56';
const VM_IP = '10.0.0.5';
const ECHO_PORT = 7;

export interface MigrationOptions {
  mirroring: boolean;
  /** Datagrams a second in the stream. */
  rate: number;
  /** How long the stream runs before the migration starts, and on after every host has moved
   *  to the destination: the stream lasts as long as the migration takes, however slow the
   *  machine. */
  marginMs?: number;
  log: (line: string) => void;
}

export interface MigrationReport extends StreamReport {
  /** Numbers sent before the guest paused at the source, and after it resumed at the
   *  destination: both above 0 when the switchover fell inside the stream. */
  sent_before_pause: number;
  sent_after_resume: number;
  /** Of the datagrams lost, those sent before the guest's pause: the source's to deliver. */
  lost_before_pause: number;
  /** From QEMU (query-migrate at the source): the whole migration, and its own downtime figure. */
  total_ms: number;
  downtime_ms: number;
  /** The guest's pause as QMP events tell it: the source's STOP to the destination's RESUME. */
  pause_ms: number;
  /** The pings beside the stream, every 10 ms; lost_at in ms from the guest's resume. */
  ping: PingReport;
  /** Each host's drop counters that moved (readAtSource: held copies the guest had read at the
   *  source; heldTooLong: older than the hold window; unknownTunnelKey: copies that came before
   *  the destination attached the tap). */
  drops: Record<string, Record<string, number>>;
  /** Datagrams the guest's own stack dropped (InErrors, from its last report: every UDP drop,
   *  its socket's buffer full (RcvbufErrors) or the guest's UDP memory (MemErrors)). */
  guest_udp_receive_errors: number;
  /** With mirroring: from the commit (as the API wrote it) to the first frame the peer host
   *  sent the destination after its last one to the source, as seen on the peer's underlay. */
  commit_to_peer_flows_ms?: number;
  /** From the guest's resume until every host had moved: the port bound at the destination,
   *  the migration ended on the source and the destination, the peer's flows to the VM
   *  tunnelling to the destination alone. */
  resume_to_moved_ms: number;
  /** After the stream, with the peer otherwise quiet: what a few pings sent to the VM crossed
   *  the peer's underlay as, and whether a cached flow of the peer's still names the source. */
  sparse: { answered: boolean; to_destination: number; to_source: number; flows_naming_source: number };
  /** The first fault the guest's kernel reported at either end, when it did; or else a guest
   *  that stalled at the source (its tap refused, and it dropped, all that was lost); or else QEMU reading
   *  nothing from the destination's tap after the stream. QEMU 7.2's TCG guest sometimes comes
   *  across a migration on a loaded machine with its memory or its virtio rings corrupt, and
   *  panics in virtio-net's receive path or stops receiving ("is not a head!", or silently); under
   *  a CPU hog it may also stall for seconds at the source while it is migrated. Such a run
   *  measures QEMU, not the switch: no frame can do any of these. */
  guest_fault: string | null;
  /** Where the port is bound at the end, and the migration object's end state (with mirroring). */
  bound_on: 'source' | 'destination' | 'elsewhere';
  migration_state?: string;
}

export async function migrateUnderStream(lab: Lab, options: MigrationOptions): Promise<MigrationReport> {
  const { log, marginMs = 1000 } = options;
  const { hosts, agents, ids } = await overlayHosts(lab, ['src', 'dst', 'peer']);
  const [source, destination, peerAgent] = agents;
  const [sourceAddress, destinationAddress, peerAddress] = hosts.map((h) => h.address);
  const api = peerAgent.api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'tenant' });
  const port = (await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'vm1' })).id;
  const peerPort = (await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'peer' })).id;
  const peer = await vmOn(lab, hosts[2].ns, 'peerVm', 'tap-peer', '10.0.0.9/24');
  await api.request('POST', '/v1/bindings', { port: peerPort, interface: 'tap-peer', host: ids[2] });

  log('booting the VM on the source host (QEMU, TCG)');
  const vm = await startGuest(lab, { ns: hosts[0].ns, tap: 'vm1-src', mac: VM_MAC, address: `${VM_IP}/24` });
  await api.request('POST', '/v1/bindings', { port, interface: 'vm1-src', host: ids[0] });
  await vm.booted();
  // A bound, not a wait: a TCG guest under a CPU hog, beside a full suite, took over 20 s to answer.
  if (!(await eventually(() => ping(lab, peer, VM_IP, 1), 60_000))) throw new Error('the peer cannot reach the VM');

  // What the peer host sends the other two, on its underlay: where its frames to the VM go.
  const tunnelled = capture(lab, hosts[2].ns, 'ul0', `src host ${peerAddress} and udp dst port ${VXLAN_UDP_PORT}`, { format: ['-tt', '-q'], seconds: 600 });
  await tunnelled.ready;
  log(`stream: ${options.rate} datagrams/s and a ping every 10 ms until every host has moved, and ${marginMs} ms more; ${options.mirroring ? 'with' : 'without'} mirroring`);
  const streamStart = Date.now();
  const since = () => `${Date.now() - streamStart} ms into the stream`;
  const stream = sequencedStream(lab, peer, VM_IP, ECHO_PORT, options.rate);
  const pinging = pingUntilStopped(lab, peer, VM_IP);
  await sleep(marginMs);

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
    if (!(await eventually(async () => (await destination.ports()).some((p) => p.name === 'vm1-dst'), 30_000))) throw new Error('the destination did not attach the arriving tap');
  }

  log(`migrating, ${since()}`);
  const resumed = arriving.qmp.event('RESUME', () => true, 120_000);
  void resumed.then(() => log(`the guest resumed at the destination, ${since()}`));
  const moved = options.mirroring ? Promise.resolve() : resumed.then(() => api.request('PATCH', `/v1/bindings/${port}`, { interface: 'vm1-dst', host: ids[1] }));
  await vm.qmp.execute('migrate', { uri: `unix:${incoming}` });
  await vm.qmp.event('MIGRATION', (d) => d.status === 'completed' || d.status === 'failed', 120_000);
  const info = await migrationFigures(vm.qmp);
  const pausedAt = (await vm.qmp.event('STOP')).at;
  const resumedAt = (await resumed).at;
  await moved;
  // libvirt ends the source QEMU, whose tap goes with it, then calls the hook there.
  await vm.qmp.execute('quit').catch(() => undefined);
  if (options.mirroring) await libvirtAt(source, domainXml('vm1', VM_MAC, port, 'vm1-src'), [['stopped', 'end'], ['release', 'end']]);
  log(`migrated: QEMU total ${info['total-time']} ms, downtime ${info.downtime} ms, guest paused ${(resumedAt - pausedAt).toFixed(1)} ms`);

  const movedAt = await everyHostMoved({ source, destination, peer: peerAgent }, { port, destinationHost: ids[1], destinationAddress, sourceAddress, migration: options.mirroring });
  log(`every host moved to the destination, ${since()}`);
  await sleep(marginMs);
  const [{ report, sentAt, lostNumbers }, pings] = await Promise.all([stream.stop(), pinging.stop()]);
  log(`stream ended, ${since()}: ${report.sent} sent`);

  const reportsBefore = guestReports(arriving.console()).length;
  const tapBeforePings = await tapStatistics(lab, hosts[1].ns, 'vm1-dst');
  // Sparse traffic: the cached flows must already be right, with no stream to remake them.
  const quietSince = Date.now();
  const answered = await ping(lab, peer, VM_IP, 3);
  const tapAfterPings = await tapStatistics(lab, hosts[1].ns, 'vm1-dst');
  const sparseFrames = () => tunnelTargets(tunnelled.printed()).filter((f) => f.at >= quietSince);
  // tcpdump may print a frame a moment after the ping's reply came back.
  await eventually(async () => sparseFrames().filter((f) => f.to === destinationAddress).length >= 3, 5000);
  await tunnelled.stop();
  const flows = await flowActions(peerAgent);

  // The guest reports its UDP counters every second: one made after the stream ended.
  await eventually(async () => guestReports(arriving.console()).length > reportsBefore, 10_000);
  if (guestUdpReceiveErrors(arriving.console()) < 0) {
    log(`the guest at the destination has not reported (QEMU ${arriving.process.exitCode === null ? 'runs' : `exited ${arriving.process.exitCode}`}); its console:\n${arriving.console().slice(-2000)}`);
  }
  if (report.lost > 0) log(`lost ${report.lost}: the destination's tap ${JSON.stringify(await tapStatistics(lab, hosts[1].ns, 'vm1-dst'))}; the guest's console there:\n${arriving.console().slice(-3000)}`);
  // Where frames were let go, host by host: what explains the duplicates and any loss.
  const drops: Record<string, Record<string, number>> = {};
  for (const [i, a] of agents.entries()) drops[['source', 'destination', 'peer'][i]] = Object.fromEntries(Object.entries((await a.stats()).drops).filter(([, n]) => n > 0));
  const binding = await api.request<{ host: string }>('GET', `/v1/bindings/${port}`);
  const migration = options.mirroring ? await api.request<{ state: string; endedAt: number }>('GET', `/v1/migrations/${port}`) : undefined;
  const sentBeforePause = sentAt.filter((at) => at < pausedAt).length;
  return {
    ...report,
    sent_before_pause: sentBeforePause,
    sent_after_resume: sentAt.filter((at) => at > resumedAt).length,
    lost_before_pause: lostNumbers.filter((n) => sentAt[n] < pausedAt).length,
    total_ms: info['total-time'],
    downtime_ms: info.downtime,
    pause_ms: Math.round((resumedAt - pausedAt) * 10) / 10,
    ping: { ...pings, lost_at: pings.lost_at.map((at) => Math.round(at - resumedAt)) },
    drops,
    guest_udp_receive_errors: guestUdpReceiveErrors(arriving.console()),
    ...(migration ? { commit_to_peer_flows_ms: Math.round(firstAloneAt(await tunnelled.lines, destinationAddress, sourceAddress) - migration.endedAt) } : {}),
    resume_to_moved_ms: Math.round(movedAt - resumedAt),
    sparse: {
      answered,
      to_destination: sparseFrames().filter((f) => f.to === destinationAddress).length,
      to_source: sparseFrames().filter((f) => f.to === sourceAddress).length,
      flows_naming_source: flows.filter((a) => a.includes(`dst=${sourceAddress})`)).length,
    },
    guest_fault: kernelFault(vm.console()) ?? kernelFault(arriving.console()) ?? stalledAtSource(report, sentAt, pausedAt, drops, guestUdpReceiveErrors(arriving.console()))
      ?? stoppedReading(tapBeforePings, tapAfterPings) ?? udpStopped(report, sentBeforePause, arriving.console(), tapAfterPings),
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

/** Waits until every host has moved to the destination (ms since the epoch): the port bound
 *  there; with a migration, it committed and neither end counts it in progress; the peer's
 *  flows to the VM tunnel to the destination and none to the source. Each condition in turn,
 *  so that the one that never held is named; WAIT_MS in all. */
async function everyHostMoved(
  agents: { source: RunningAgent; destination: RunningAgent; peer: RunningAgent },
  expected: { port: string; destinationHost: string; destinationAddress: string; sourceAddress: string; migration: boolean },
): Promise<number> {
  const conditions: [string, () => Promise<boolean>][] = [
    ['the port is bound at the destination', async () => (await agents.peer.api.request<{ host: string }>('GET', `/v1/bindings/${expected.port}`)).host === expected.destinationHost],
    ...(expected.migration ? [
      ['the migration committed', async () => (await agents.peer.api.request<{ state: string }>('GET', `/v1/migrations/${expected.port}`)).state === 'committed'],
      ['the source sees no migration in progress', async () => (await migrationsInProgress(agents.source)) === 0],
      ['the destination sees no migration in progress', async () => (await migrationsInProgress(agents.destination)) === 0],
    ] as [string, () => Promise<boolean>][] : []),
    ['the peer\'s flows tunnel to the destination alone', async () => {
      const actions = await flowActions(agents.peer);
      return actions.some((a) => a.includes(`dst=${expected.destinationAddress})`)) && !actions.some((a) => a.includes(`dst=${expected.sourceAddress})`));
    }],
  ];
  const end = Date.now() + WAIT_MS;
  for (let i = 0; i < conditions.length;) {
    if (await conditions[i][1]()) i++;
    else if (Date.now() > end) throw new Error(`not every host moved to the destination: ${conditions[i][0]} did not hold within ${WAIT_MS / 1000} s`);
    else await sleep(5);
  }
  return Date.now();
}

async function flowActions(agent: RunningAgent): Promise<string[]> {
  return (await agent.client.request<{ actions: string }[]>('GET', '/flows')).map((f) => f.actions);
}

async function migrationsInProgress(agent: RunningAgent): Promise<number> {
  const metrics = await agent.client.request<string>('GET', '/metrics');
  return Number(/^vswitch_migrations_in_progress (\d+)$/m.exec(metrics)?.[1] ?? NaN);
}

/** tcpdump -tt -q lines of VXLAN datagrams: when, and to which host. */
function tunnelTargets(lines: string[]): { at: number; to: string }[] {
  return lines.flatMap((line) => {
    const m = /^(\d+\.\d+) IP [\d.]+ > (\d+\.\d+\.\d+\.\d+)\.\d+:/.exec(line);
    return m ? [{ at: Number(m[1]) * 1000, to: m[2] }] : [];
  });
}

/** The first datagram to `to` after the last one to `from` (ms since the epoch). */
function firstAloneAt(lines: string[], to: string, from: string): number {
  const frames = tunnelTargets(lines);
  const lastToFrom = frames.reduce((last, f) => (f.to === from ? f.at : last), 0);
  const first = frames.find((f) => f.to === to && f.at > lastToFrom);
  if (!first) throw new Error(`the peer sent nothing to ${to} after its last datagram to ${from}`);
  return first.at;
}

/** A tap's counters, as the kernel keeps them: its tx_packets are the frames QEMU has read. */
async function tapStatistics(lab: Lab, ns: string, tap: string): Promise<Record<string, number>> {
  const names = ['tx_packets', 'tx_dropped', 'rx_packets'];
  const { stdout } = await lab.exec(ns, 'cat', names.map((n) => `/sys/class/net/${tap}/statistics/${n}`)).catch(() => ({ stdout: '' }));
  const values = stdout.trim().split('\n').map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? -1]));
}

/** A kernel's own word that it is broken: an oops or panic, or a virtio ring it cannot follow. */
function kernelFault(console: string): string | null {
  return /(Kernel panic|kernel BUG at|BUG:|Oops|general protection fault|virtio_net [^\n]*is not a head)[^\n]*/.exec(console)?.[0].trim() ?? null;
}

/** Losses this long before the guest's pause are not the switchover's: twice the hold window. */
const BEFORE_SWITCHOVER_MS = 1000;

/** The guest stalled at the source, well before the switchover: QEMU, migrating it on a loaded
 *  machine, left its tap unread until the tap's queue was full. Every datagram lost was sent
 *  then, and what the switch counted its tap refusing there (txError) and what the guest's own
 *  stack dropped account for all of them. Until the pause the source's tap gets the stream as it
 *  would with no migration: no frame of the switch's stalls its guest. */
function stalledAtSource(report: StreamReport, sentAt: number[], pausedAt: number, drops: Record<string, Record<string, number>>, guestDropped: number): string | null {
  const refused = drops.source?.txError ?? 0;
  if (report.lost === 0 || refused + Math.max(0, guestDropped) < report.lost || !(sentAt[report.last_lost] < pausedAt - BEFORE_SWITCHOVER_MS)) return null;
  return `the guest stalled at the source: its tap refused ${refused} frames and its stack dropped ${guestDropped}, and the last of the ${report.lost} datagrams lost was sent ${Math.round(pausedAt - sentAt[report.last_lost])} ms before its pause`;
}

/** QEMU's stall with no word from the guest's kernel: while the pings after the stream came for
 *  the guest, QEMU read not one frame from its tap and the kernel dropped them there, its queue
 *  full. The switch had delivered them; a guest that is merely slow still reads some. */
function stoppedReading(before: Record<string, number>, after: Record<string, number>): string | null {
  if (after.tx_packets !== before.tx_packets || after.tx_dropped <= before.tx_dropped) return null;
  return `QEMU stopped reading the destination's tap: ${after.tx_packets} frames read in all, none of the pings after the stream; ${after.tx_dropped - before.tx_dropped} dropped at the tap`;
}

/** The guest's UDP stopped at the switchover with no word from its kernel: by its last report
 *  (the counters are its whole life's) it received no datagram sent after its pause, and
 *  counted none as an error or as for no socket, while QEMU read from the destination's tap at
 *  least as many frames as were lost. The switch had delivered them. A fresh-clone run: the
 *  guest answered pings but its UDP stayed at 9,327 datagrams while its tap handed it 3,408
 *  frames, after a first attempt whose guest panicked with its stack corrupt in
 *  __udp4_lib_lookup. */
function udpStopped(report: StreamReport, sentBeforePause: number, console: string, tap: Record<string, number>): string | null {
  const last = lastUdpReport(console);
  if (!last || report.lost === 0) return null;
  const [received, noPort, errors] = last;
  if (received > sentBeforePause || noPort > 0 || errors > 0 || tap.tx_packets < report.lost) return null;
  return `the guest's UDP stopped at the switchover: it received ${received} datagrams in all, none sent after its pause, and counted none as lost, while QEMU read ${tap.tx_packets} frames from its tap`;
}

/** The guest reports /proc/net/snmp's Udp line every second (examples/qemu/init). */
function guestReports(console: string): string[] {
  return [...console.matchAll(/vswitch-guest: Udp: ([\d ]+)/g)].map((m) => m[1]);
}

/** The fields of the guest's last Udp line (InDatagrams NoPorts InErrors …), if it made one. */
function lastUdpReport(console: string): number[] | undefined {
  return guestReports(console).pop()?.trim().split(/\s+/).map(Number);
}

/** InErrors of the guest's last report; -1 when it has made none. The kernel counts every UDP
 *  drop there once, and a full socket buffer again in RcvbufErrors: the two are not to be added. */
function guestUdpReceiveErrors(console: string): number {
  return lastUdpReport(console)?.[2] ?? -1;
}
