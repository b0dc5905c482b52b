// Measurements between two lab namespaces: iperf3 TCP and 64-byte UDP (client and server
// pinned to different cores), ping RTT percentiles, flow setups per second, and a process's
// CPU time from /proc.
import fs from 'node:fs';
import path from 'node:path';
import { iperf as iperfRun, Lab, RunningAgent } from '../examples/lab';
import type { SwitchStats } from '../src/agent';
import { STAGE_NAMES, TRANSIT_BUCKETS_US } from '../src/datapath';
import type { Figures } from './rounds';

/** Client and server on different cores, as the reference figures in FACTS.md were taken. */
const PINNED = { client: ['taskset', '-c', '0'], server: ['taskset', '-c', '1'] };

function iperf(lab: Lab, server: string, client: string, address: string, args: string[], seconds: number) {
  return iperfRun(lab, server, client, address, ['-t', String(seconds), ...args], seconds, PINNED);
}

export async function tcpGbps(lab: Lab, server: string, client: string, address: string, seconds: number): Promise<number> {
  const result = await iperf(lab, server, client, address, [], seconds);
  return result.end.sum_received.bits_per_second / 1e9;
}

/** 18-byte payloads: 60-byte frames, 64 on a wire with its FCS. */
export async function udp64(lab: Lab, server: string, client: string, address: string, seconds: number): Promise<{ pps: number; loss: number }> {
  const result = await iperf(lab, server, client, address, ['-u', '-b', '0', '-l', '18'], seconds);
  const sum = result.end.sum;
  const received = sum.packets - sum.lost_packets;
  return { pps: received / sum.seconds, loss: sum.packets > 0 ? sum.lost_packets / sum.packets : 1 };
}

/** Pings `count` times, `intervalS` apart. Below 10 ms, iputils ping does not sleep between
 *  probes but polls: its core stays awake, and a reply that comes within its own send costs it no
 *  wake-up. */
export async function pingRtt(lab: Lab, ns: string, address: string, count: number, intervalS = 0.002): Promise<{ avgUs: number; p99Us: number }> {
  const { stdout } = await lab.exec(ns, 'ping', ['-c', String(count), '-i', String(intervalS), '-W', '1', address]);
  const rtts = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  if (rtts.length === 0) throw new Error(`no ping replies from ${address}`);
  return { avgUs: rtts.reduce((s, x) => s + x, 0) / rtts.length, p99Us: rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * 0.99))] };
}

/** User + system CPU seconds a process (and its threads) has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (proc(5), counted from the state field)
  return ticks / 100; // USER_HZ
}

/** New flows offered per second: above the target (100k), below what floods the machine. */
export const OFFERED_FLOWS_PER_S = 150_000;
const WARM_UP_SECONDS = 3;

/** Sends 64-byte UDP frames, each of a new 5-tuple, from `from` (its eth0) to `toMac`;
 *  `seconds` long; the number sent. */
export async function offerNewFlows(lab: Lab, from: string, toMac: string, sourceIp: string, destinationIp: string, seconds: number): Promise<string> {
  const mac = /link\/ether (\S+)/.exec((await lab.ip(from, 'link', 'show', 'eth0')).stdout)![1];
  const generator = path.join(__dirname, 'udp-flows.js');
  const { stdout } = await lab.exec(from, process.execPath, [generator, 'eth0', mac, toMac, sourceIp, destinationIp, String(seconds), String(OFFERED_FLOWS_PER_S)], (seconds + 30) * 1000);
  return stdout.trim();
}

/** New flows the agent installed per second while the generator sent a new 5-tuple per frame. */
export async function flowSetupsPerSecond(lab: Lab, from: string, agent: RunningAgent, routerMac: string, sourceIp: string, destinationIp: string, options: { seconds: number; log: (line: string) => void }): Promise<number> {
  const offer = (seconds: number) => offerNewFlows(lab, from, routerMac, sourceIp, destinationIp, seconds);
  await offer(WARM_UP_SECONDS); // the JIT compiles the slow path first: the steady state is measured
  // The warm-up's last upcalls are answered before the count starts, or they count as the
  // measurement's (one round counted more flows than it offered).
  let before = await agent.stats();
  for (let settled = 0, polls = 0; settled < 2 && polls < 50; polls++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await agent.stats();
    settled = now.flows.inserts === before.flows.inserts ? settled + 1 : 0;
    before = now;
  }
  const started = performance.now();
  const stdout = await offer(options.seconds);
  const after = await agent.stats();
  const seconds = (performance.now() - started) / 1000;
  const inserts = after.flows.inserts - before.flows.inserts;
  options.log(`flow setups: generator sent ${stdout} frames; ${inserts} flows installed, ${after.flows.upcalls - before.flows.upcalls} upcalls, ` +
    `drops ${JSON.stringify(Object.fromEntries(Object.entries(after.drops).map(([k, v]) => [k, v - (before.drops[k] ?? 0)]).filter(([, v]) => v)))} in ${seconds.toFixed(1)} s`);
  return inserts / seconds;
}


/** The middle of the figures (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function round2(x: number): number {
  return Number(x.toFixed(2));
}

/** Where switches' time went between two of their stats (summed over the agents): per wake-up,
 *  µs in each stage, and the transit of forwarded frames (median and p99, each a bucket's upper
 *  bound). */
export function stagesBetween(before: SwitchStats[], after: SwitchStats[]): Figures {
  const total = (all: SwitchStats[], pick: (s: SwitchStats) => number) => all.reduce((sum, s) => sum + pick(s), 0);
  const change = (pick: (s: SwitchStats) => number) => total(after, pick) - total(before, pick);
  const wakeups = change((s) => s.latency.wakeups);
  const figures: Figures = { wakeups };
  for (const stage of STAGE_NAMES) figures[`${stage}_us`] = round2(change((s) => s.latency.stagesUs[stage]) / Math.max(1, wakeups));
  const buckets = after[0].latency.transit.buckets.map((_, i) => change((s) => s.latency.transit.buckets[i]));
  const frames = buckets.reduce((s, n) => s + n, 0);
  const percentile = (p: number) => {
    let seen = 0;
    const i = buckets.findIndex((n) => (seen += n) >= p * frames);
    return i >= 0 && i < TRANSIT_BUCKETS_US.length ? TRANSIT_BUCKETS_US[i] : NaN;
  };
  figures.transit_p50_us = percentile(0.5);
  figures.transit_p99_us = percentile(0.99);
  return figures;
}

/** Pings 10 ms apart in a round: 5 s. */
const SPARSE_PINGS = 500;

/** One round of one system between two namespaces: iperf3 TCP, 64-byte UDP, 3000 pings at 2 ms
 *  (a p99 of 30 samples), the CPU of the switch's processes `pids` over them, and where these
 *  switches' time went in the pings (`agents`, if they are this switch's); then 500 pings at
 *  10 ms, from a pinger that sleeps between them (`rtt_sparse_*`, a p99 of 5 samples). */

export async function pathFigures(lab: Lab, client: string, server: string, address: string, seconds: number, pids: number[] = [], agents: RunningAgent[] = []): Promise<Figures> {
  const cpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const stats = () => Promise.all(agents.map((a) => a.stats()));
  const cpuBefore = cpu();
  const tcp = await tcpGbps(lab, server, client, address, seconds);
  const udp = await udp64(lab, server, client, address, seconds);
  const before = await stats();
  const rtt = await pingRtt(lab, client, address, 3000);
  const stages = agents.length > 0 ? stagesBetween(before, await stats()) : {};
  const cpuUsed = cpu() - cpuBefore;
  // A client that sleeps between requests, as most do: its core halts, and wakes for the reply.
  const sparse = await pingRtt(lab, client, address, SPARSE_PINGS, 0.01);
  return {
    tcp_gbps: tcp, udp64_pps: Math.round(udp.pps), udp64_loss: udp.loss, rtt_avg_us: Math.round(rtt.avgUs), rtt_p99_us: Math.round(rtt.p99Us),
    rtt_sparse_avg_us: Math.round(sparse.avgUs), rtt_sparse_p99_us: Math.round(sparse.p99Us),
    ...(pids.length > 0 ? { cpu_s: cpuUsed } : {}),
    ...stages,
  };
}
