// `npm run bench -- lb`: a client's connections through a load balancer's VIP to 3 members,
// beside the Linux kernel doing the same in a router namespace, in rounds that alternate their
// order in one run:
//   vswitch   the agent's virtual router with a load balancer (round-robin for connections,
//             source-IP affinity for iperf3, whose two connections must meet one server);
//   ipvs      IPVS in NAT mode (`ipvsadm -m`, rr and sh), when the kernel has it;
//   nftables  DNAT by `numgen inc` (and `jhash ip saddr` for iperf3) in the prerouting chain,
//             as kube-proxy's nftables mode does, when IPVS is not there to compare with.
// Each: new TCP connections per second (our generator, perf/tcp-connections.ts: 32 opening at
// a time for the given seconds after 1 s of warm-up, each closed by the member as it is
// accepted), and iperf3 TCP through the VIP. Ratios of medians, with the spread of the rounds'.
import fs from 'node:fs';
import path from 'node:path';
import { Lab, ping, routedHost, sleep, startAgent, twoNetworks } from '../examples/lab';
import { median, round2 } from './measure';

const ROUNDS = 5;
const CLIENT = '10.0.1.5';
const VIP = '10.0.2.100';
const MEMBERS = ['10.0.2.11', '10.0.2.12', '10.0.2.13'];
const CONNECTIONS = 80;
const IPERF = 5300;
const CONCURRENCY = 32;
const WARM_UP_SECONDS = 1;
const CONNTRACK_SIZE = 1 << 20;
const GENERATOR = path.join(__dirname, 'tcp-connections.js');
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((f) => fs.existsSync(f)) ?? 'nft';
const IPVSADM = ['/usr/sbin/ipvsadm', '/sbin/ipvsadm'].find((f) => fs.existsSync(f));

interface System {
  lab: Lab;
  client: string;
  members: string[];
}

interface Measured {
  tcp_gbps: number;
  conn_per_s: number;
}

/** The client and members, each in its namespace, attached to `at` (the switch's or the router's). */
async function hosts(lab: Lab, at: string): Promise<{ client: string; members: string[] }> {
  const client = await routedHost(lab, at, 'client', 'c1', CLIENT);
  const members: string[] = [];
  for (const [i, address] of MEMBERS.entries()) members.push(await routedHost(lab, at, `m${i + 1}`, `m${i + 1}`, address));
  return { client, members };
}

async function vswitch(): Promise<System> {
  const lab = new Lab();
  const sw = await lab.namespace('sw');
  const { client, members } = await hosts(lab, sw);
  const agent = await startAgent(lab, sw, ['--log-level', 'warn', '--conntrack-size', String(CONNTRACK_SIZE)]);
  const { router } = await twoNetworks(agent.api, [{ iface: 'c1', address: CLIENT }], MEMBERS.map((address, i) => ({ iface: `m${i + 1}`, address })));
  const pool = MEMBERS.map((address) => ({ address, port: CONNECTIONS, weight: 1 }));
  await agent.api.request('POST', '/v1/load-balancers', { name: 'connections', router, vip: VIP, port: CONNECTIONS, algorithm: 'roundRobin', members: pool });
  await agent.api.request('POST', '/v1/load-balancers', { name: 'iperf', router, vip: VIP, port: IPERF, algorithm: 'sourceIp', members: pool.map((m) => ({ ...m, port: IPERF })) });
  return { lab, client, members };
}

/** A router namespace between the client's and the members' networks. */
async function kernelRouter(lab: Lab): Promise<{ router: string; client: string; members: string[] }> {
  const router = await lab.namespace('r');
  const { client, members } = await hosts(lab, router);
  await lab.ip(router, 'addr', 'add', '10.0.1.1/24', 'dev', 'c1');
  await lab.ip(router, 'link', 'add', 'br0', 'type', 'bridge');
  await lab.ip(router, 'link', 'set', 'br0', 'up');
  for (const [i] of MEMBERS.entries()) await lab.ip(router, 'link', 'set', `m${i + 1}`, 'master', 'br0');
  await lab.ip(router, 'addr', 'add', '10.0.2.1/24', 'dev', 'br0');
  await lab.exec(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']); // the router namespace's own
  return { router, client, members };
}

async function ipvs(): Promise<System> {
  const lab = new Lab();
  const { router, client, members } = await kernelRouter(lab);
  await lab.ip(router, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
  const adm = (...args: string[]) => lab.exec(router, IPVSADM!, args);
  await adm('-A', '-t', `${VIP}:${CONNECTIONS}`, '-s', 'rr');
  await adm('-A', '-t', `${VIP}:${IPERF}`, '-s', 'sh');
  for (const address of MEMBERS) {
    await adm('-a', '-t', `${VIP}:${CONNECTIONS}`, '-r', `${address}:${CONNECTIONS}`, '-m');
    await adm('-a', '-t', `${VIP}:${IPERF}`, '-r', `${address}:${IPERF}`, '-m');
  }
  return { lab, client, members };
}

async function nftables(): Promise<System> {
  const lab = new Lab();
  const { router, client, members } = await kernelRouter(lab);
  const map = `{ ${MEMBERS.map((address, i) => `${i} : ${address}`).join(', ')} }`;
  const file = path.join(lab.directory('nft'), 'lb.nft');
  fs.writeFileSync(file, [
    'table ip lb {', '  chain prerouting {', '    type nat hook prerouting priority dstnat;',
    `    ip daddr ${VIP} tcp dport ${CONNECTIONS} dnat to numgen inc mod ${MEMBERS.length} map ${map}`,
    `    ip daddr ${VIP} tcp dport ${IPERF} dnat to jhash ip saddr mod ${MEMBERS.length} map ${map}`, '  }', '}',
  ].join('\n') + '\n');
  await lab.exec(router, NFT, ['-f', file]);
  return { lab, client, members };
}

/** Whether this kernel has IPVS (a namespace of our own asks it). */
async function ipvsAvailable(): Promise<string> {
  if (!IPVSADM) return 'ipvsadm is not installed';
  const lab = new Lab();
  try {
    const ns = await lab.namespace('probe');
    await lab.exec(ns, IPVSADM, ['-Ln']);
    return '';
  } catch (error) {
    return `this kernel has no IPVS: ${String((error as { stderr?: string }).stderr ?? error).trim().split('\n').pop()}`;
  } finally {
    await lab.cleanup();
  }
}

async function measure(s: System, seconds: number): Promise<Measured> {
  for (const m of s.members) {
    s.lab.spawn(m, process.execPath, [GENERATOR, 'serve', String(CONNECTIONS)]);
    s.lab.spawn(m, 'iperf3', ['-s', '-p', String(IPERF)]);
  }
  if (!(await ping(s.lab, s.client, MEMBERS[0], 3))) throw new Error('the client does not reach the members');
  const generate = async (for_: number) => {
    const { stdout } = await s.lab.exec(s.client, process.execPath, [GENERATOR, 'connect', VIP, String(CONNECTIONS), String(for_), String(CONCURRENCY)], (for_ + 30) * 1000);
    return JSON.parse(stdout.trim()) as { connected: number; failed: number; seconds: number };
  };
  await generate(WARM_UP_SECONDS);
  const connections = await generate(seconds);
  let report = '';
  for (let attempt = 1; !report; attempt++) {
    await sleep(200 * attempt); // the members' iperf3 servers start listening
    report = await s.lab.exec(s.client, 'iperf3', ['-c', VIP, '-p', String(IPERF), '-t', String(seconds), '-J'], (seconds + 30) * 1000).then((r) => r.stdout, (e: { stdout?: string }) => {
      if (attempt >= 5) throw new Error(`iperf3 through the VIP failed: ${(e.stdout ?? '').slice(-300)}`);
      return '';
    });
  }
  const tcp = (JSON.parse(report) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e9;
  return { tcp_gbps: round2(tcp), conn_per_s: Math.round(connections.connected / connections.seconds) };
}

export async function lb(options: { seconds: number; log: (line: string) => void }): Promise<object> {
  const noIpvs = await ipvsAvailable();
  if (noIpvs) options.log(`IPVS: ${noIpvs}; nftables DNAT load balancing is the kernel's side instead`);
  const systems: Record<string, () => Promise<System>> = noIpvs ? { vswitch, nftables } : { vswitch, ipvs, nftables };
  const names = Object.keys(systems);
  const rounds: Record<string, Measured>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results: Record<string, Measured> = {};
    for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
      options.log(`round ${round + 1}: ${name}`);
      const s = await systems[name]();
      try {
        results[name] = await measure(s, options.seconds);
        options.log(`round ${round + 1}: ${name}: ${JSON.stringify(results[name])}`);
      } finally {
        await s.lab.cleanup();
      }
    }
    rounds.push(results);
  }
  const ratio = (a: string, b: string, pick: (m: Measured) => number) => {
    if (!rounds[0][b]) return null;
    const per = rounds.map((r) => pick(r[a]) / pick(r[b]));
    return { median: round2(median(per)), min: round2(Math.min(...per)), max: round2(Math.max(...per)) };
  };
  const spread = {
    conn_vs_ipvs: ratio('vswitch', 'ipvs', (m) => m.conn_per_s), tcp_vs_ipvs: ratio('vswitch', 'ipvs', (m) => m.tcp_gbps),
    conn_vs_nftables: ratio('vswitch', 'nftables', (m) => m.conn_per_s), tcp_vs_nftables: ratio('vswitch', 'nftables', (m) => m.tcp_gbps),
  };
  return {
    bench: 'lb',
    rounds: ROUNDS,
    seconds_per_test: options.seconds,
    members: MEMBERS.length,
    connection_generator: `ours (perf/tcp-connections.ts), ${CONCURRENCY} connections opening at a time`,
    ...(noIpvs ? { ipvs: `not measured: ${noIpvs}` } : {}),
    systems: Object.fromEntries(names.map((name) => [name, {
      tcp_gbps: median(rounds.map((r) => r[name].tcp_gbps)), conn_per_s: Math.round(median(rounds.map((r) => r[name].conn_per_s))),
    }])),
    per_round: rounds,
    ratios: Object.fromEntries(Object.entries(spread).map(([k, v]) => [k, v?.median ?? null])),
    spread,
    targets: { conn_vs_ipvs: 0.5 },
  };
}
