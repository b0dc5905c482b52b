// `npm run bench -- nat`: a VM reaching the outside through source NAT, beside the Linux kernel
// doing the same (nftables masquerade in a router namespace), in rounds that alternate their
// order in one run:
//   vswitch   the agent's virtual router, its gateway on an external network bound to a veth
//             into the outside namespace, the VM's connections translated to the gateway's
//             address (ports from blocks the agent leased);
//   nftables  a router namespace forwarding between the VM and the outside, `oifname up0
//             masquerade` in its postrouting chain.
// Each: iperf3 TCP from the VM to the outside, new TCP connections per second (our generator,
// perf/tcp-connections.ts: 32 at a time, each closed by the server as it is accepted), ping
// RTT p99. The ratios are of medians, with the spread of the per-round ratios.
import fs from 'node:fs';
import path from 'node:path';
import { eventually, gatewayedNetwork, Lab, OUTSIDE_ADDRESS, ping, routedHost, startAgent } from '../examples/lab';
import { median, pingRtt, round2, tcpGbps } from './measure';

const ROUNDS = 5;
const VM = '10.0.1.5';
const CONNECTION_PORT = 9100;
const CONCURRENCY = 32;
/** Connections opened before the count starts: the JIT's, and the first blocks' leases. */
const WARM_UP_SECONDS = 1;
/** Room for every connection a round opens (each translated one holds two entries). */
const CONNTRACK_SIZE = 1 << 20;
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((f) => fs.existsSync(f)) ?? 'nft';
const GENERATOR = path.join(__dirname, 'tcp-connections.js');

interface System {
  lab: Lab;
  vm: string;
  outside: string;
}

interface Measured {
  tcp_gbps: number;
  conn_per_s: number;
  rtt_p99_us: number;
}

async function vswitch(): Promise<System> {
  const lab = new Lab();
  const sw = await lab.namespace('sw');
  const vm = await routedHost(lab, sw, 'vm', 't1', VM);
  const agent = await startAgent(lab, sw, ['--log-level', 'warn', '--conntrack-size', String(CONNTRACK_SIZE)]);
  const { outside } = await gatewayedNetwork(lab, agent.api, sw, [{ iface: 't1', address: VM }]);
  return { lab, vm, outside };
}

async function nftables(): Promise<System> {
  const lab = new Lab();
  const router = await lab.namespace('r');
  const vm = await routedHost(lab, router, 'vm', 't1', VM);
  const outside = await lab.namespace('out');
  await lab.veth(outside, 'eth0', router, 'up0');
  await lab.ip(outside, 'addr', 'add', `${OUTSIDE_ADDRESS}/24`, 'dev', 'eth0');
  await lab.ip(router, 'addr', 'add', '203.0.113.2/24', 'dev', 'up0');
  await lab.ip(router, 'addr', 'add', '10.0.1.1/24', 'dev', 't1');
  await lab.exec(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']); // the router namespace's own
  const file = path.join(lab.directory('nft'), 'nat.nft');
  fs.writeFileSync(file, 'table ip nat {\n  chain postrouting { type nat hook postrouting priority srcnat; oifname "up0" masquerade; }\n}\n');
  await lab.exec(router, NFT, ['-f', file]);
  return { lab, vm, outside };
}

const SYSTEMS: Record<string, () => Promise<System>> = { vswitch, nftables };

/** New connections per second from the VM to the outside, after a warm-up. */
async function connectionsPerSecond(s: System, seconds: number): Promise<number> {
  const run = async (for_: number) => {
    const { stdout } = await s.lab.exec(s.vm, process.execPath, [GENERATOR, 'connect', OUTSIDE_ADDRESS, String(CONNECTION_PORT), String(for_), String(CONCURRENCY)], (for_ + 30) * 1000);
    return JSON.parse(stdout.trim()) as { connected: number; failed: number; seconds: number };
  };
  await run(WARM_UP_SECONDS);
  const measured = await run(seconds);
  return measured.connected / measured.seconds;
}

export async function nat(options: { seconds: number; log: (line: string) => void }): Promise<object> {
  const names = Object.keys(SYSTEMS);
  const rounds: Record<string, Measured>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results: Record<string, Measured> = {};
    for (const name of round % 2 ? [...names].reverse() : names) {
      options.log(`round ${round + 1}: ${name}`);
      const s = await SYSTEMS[name]();
      try {
        // Every port the VM may use: a round's connections must not run out of its own.
        await s.lab.exec(s.vm, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65535']);
        s.lab.spawn(s.outside, process.execPath, [GENERATOR, 'serve', String(CONNECTION_PORT)]);
        if (!(await eventually(() => ping(s.lab, s.vm, OUTSIDE_ADDRESS, 1)))) throw new Error(`${name}: the VM does not reach the outside`);
        const tcp = await tcpGbps(s.lab, s.outside, s.vm, OUTSIDE_ADDRESS, options.seconds);
        const connections = await connectionsPerSecond(s, options.seconds);
        const rtt = await pingRtt(s.lab, s.vm, OUTSIDE_ADDRESS, 1000);
        results[name] = { tcp_gbps: round2(tcp), conn_per_s: Math.round(connections), rtt_p99_us: Math.round(rtt.p99Us) };
        options.log(`round ${round + 1}: ${name}: ${JSON.stringify(results[name])}`);
      } finally {
        await s.lab.cleanup();
      }
    }
    rounds.push(results);
  }
  const systems = Object.fromEntries(names.map((name) => {
    const all = rounds.map((r) => r[name]);
    return [name, {
      tcp_gbps: median(all.map((m) => m.tcp_gbps)), conn_per_s: Math.round(median(all.map((m) => m.conn_per_s))), rtt_p99_us: Math.round(median(all.map((m) => m.rtt_p99_us))),
      config: name === 'nftables'
        ? 'Linux kernel routing in a namespace, nftables masquerade on the outside interface, default veth offloads'
        : 'vswitch agent, virtual router with its gateway on an external network (a veth into the outside), source NAT to the gateway address, packet-socket ports with vnet headers, 1 datapath worker, 1 simulation thread',
    }];
  }));
  const ratio = (pick: (m: Measured) => number) => {
    const per = rounds.map((r) => pick(r.vswitch) / pick(r.nftables));
    return { median: round2(median(per)), min: round2(Math.min(...per)), max: round2(Math.max(...per)) };
  };
  const tcp = ratio((m) => m.tcp_gbps);
  const conn = ratio((m) => m.conn_per_s);
  const rtt = ratio((m) => m.rtt_p99_us);
  return {
    bench: 'nat',
    rounds: ROUNDS,
    seconds_per_test: options.seconds,
    connection_generator: `ours (perf/tcp-connections.ts), ${CONCURRENCY} connections opening at a time`,
    systems,
    per_round: rounds,
    ratios: { tcp_vs_nftables: tcp.median, conn_vs_nftables: conn.median, rtt_p99_vs_nftables: rtt.median },
    spread: { tcp_vs_nftables: tcp, conn_vs_nftables: conn, rtt_p99_vs_nftables: rtt },
    targets: { tcp_vs_nftables: 0.6, conn_vs_nftables: 0.5 },
  };
}
