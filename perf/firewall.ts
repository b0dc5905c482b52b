// `npm run bench -- firewall`: a router between two subnets, with and without a 100-rule
// firewall and connection tracking, in rounds that alternate their order in one run:
//   vswitch_no_rules   this switch's virtual router between two virtual bridges;
//   vswitch_rules      the same, both router ports carrying a chain of 100 rules on what leaves
//                      by them (established, related, 95 that do not match, TCP, UDP, ICMP,
//                      then drop), with connection tracking;
//   vswitch_security_group  the same network, both VM ports in a security group of 100 rules
//                      (97 that do not match, then TCP, UDP and ICMP in), built on chains;
//   nftables           the Linux kernel routing in a namespace, its forward chain 100 rules:
//                      `ct state established,related accept`, 96 that do not match, TCP, UDP,
//                      ICMP, and a drop policy.
// Each: iperf3 TCP, flow setups per second (64-byte UDP frames, each a new 5-tuple: flows
// installed; for nftables, conntrack entries made), ping RTT p99. The ratios are of medians,
// with the spread of the per-round ratios.
import fs from 'node:fs';
import path from 'node:path';
import { Lab, ping, routedHost, RunningAgent, startAgent, tenantNetwork } from '../examples/lab';
import { flowSetupsPerSecond, median, offerNewFlows, pingRtt, round2, tcpGbps } from './measure';

const H1 = '10.88.1.2';
const H2 = '10.88.2.2';
const RULES = 100;
const ROUNDS = 3;
/** Room for every connection a measurement opens (150,000 a second), so that none is refused. */
const CONNTRACK_SIZE = 1 << 20;
/** nftables' own nft: under `npm run`, node_modules/.bin comes first in PATH, and a package
 *  there (@vercel/nft) has a command of the same name. */
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((f) => fs.existsSync(f)) ?? 'nft';

interface Routed {
  lab: Lab;
  h1: string;
  h2: string;
  /** The router's MAC on h1's subnet: where the flow generator sends. */
  routerMac: string;
  agent?: RunningAgent;
  /** The router namespace (nftables). */
  router?: string;
}

interface Measured {
  tcp_gbps: number;
  flow_setups_per_s?: number;
  conn_per_s?: number;
  rtt_p99_us: number;
}

async function vswitchRouter(rules: 'none' | 'chain' | 'securityGroup'): Promise<Routed> {
  const lab = new Lab();
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 'r1', H1);
  const h2 = await routedHost(lab, sw, 'h2', 'r2', H2);
  const agent = await startAgent(lab, sw, ['--log-level', 'warn', '--conntrack-size', String(CONNTRACK_SIZE)]);
  const net = await tenantNetwork(agent.api, 'bench', [{ gateway: ['10.88.1.1/24'], interfaces: ['r1'] }, { gateway: ['10.88.2.1/24'], interfaces: ['r2'] }]);
  if (rules === 'securityGroup') {
    const group = await net.api.request<{ id: string }>('POST', '/v1/security-groups', { name: 'bench', rules: securityGroupRules() });
    for (const port of net.ports.values()) await net.api.request('PATCH', `/v1/ports/${port}`, { securityGroups: [group.id] });
  }
  const routerPorts = (await agent.api.request<{ id: string; name: string; mac: string; device: string }[]>('GET', '/v1/ports')).filter((p) => p.device === net.router);
  if (rules === 'chain') {
    const chain = await net.api.request<{ id: string }>('POST', '/v1/chains', { name: 'bench', rules: chainRules() });
    for (const port of routerPorts) await net.api.request('PATCH', `/v1/ports/${port.id}`, { outboundChain: chain.id });
  }
  return { lab, h1, h2, agent, routerMac: routerPorts.find((p) => p.name === 'bench-r1')!.mac };
}

/** Established and related, 95 rules that match nothing here, TCP, UDP and ICMP, then drop. */
function chainRules(): object[] {
  const decoys = Array.from({ length: RULES - 7 }, (_, i) => ({ action: 'accept', sourcePrefix: '192.0.2.0/24', protocol: 6, destinationPortMin: 10_000 + i }));
  return [
    { action: 'accept', connectionState: 'established' }, { action: 'accept', connectionState: 'related' }, ...decoys,
    ...[6, 17, 1].map((protocol) => ({ action: 'accept', protocol })), { action: 'drop' },
  ];
}

/** 97 rules that match nothing here, then TCP, UDP and ICMP in; and everything out. */
function securityGroupRules(): object[] {
  const decoys = Array.from({ length: RULES - 3 }, (_, i) => ({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 10_000 + i, remotePrefix: '192.0.2.0/24' }));
  const allow = ['tcp', 'udp', 'icmp'].map((protocol) => ({ direction: 'ingress', ethertype: 'IPv4', protocol }));
  return [...decoys, ...allow, { direction: 'egress', ethertype: 'IPv4' }];
}

async function nftablesRouter(): Promise<Routed> {
  const lab = new Lab();
  const r = await lab.namespace('r');
  const h1 = await routedHost(lab, r, 'h1', 'r1', H1);
  const h2 = await routedHost(lab, r, 'h2', 'r2', H2);
  await lab.ip(r, 'addr', 'add', '10.88.1.1/24', 'dev', 'r1');
  await lab.ip(r, 'addr', 'add', '10.88.2.1/24', 'dev', 'r2');
  await lab.exec(r, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']); // inside the router namespace only
  const decoys = Array.from({ length: RULES - 4 }, (_, i) => `    ip saddr 192.0.2.0/24 tcp dport ${10_000 + i} accept`);
  const ruleset = [
    'table inet bench {', '  chain forward {', '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept', ...decoys, '    ip protocol tcp accept', '    ip protocol udp accept', '    ip protocol icmp accept', '  }', '}',
  ].join('\n');
  const file = path.join(lab.directory('nft'), 'bench.nft');
  fs.writeFileSync(file, ruleset + '\n');
  await lab.exec(r, NFT, ['-f', file]); // the router namespace's own tables: nothing of the machine's
  const routerMac = /link\/ether (\S+)/.exec((await lab.ip(r, 'link', 'show', 'r1')).stdout)![1];
  return { lab, h1, h2, routerMac, router: r };
}

/** Connections the kernel tracked per second while the generator offered new 5-tuples (1 s:
 *  the namespace's table, of the machine's nf_conntrack_max, would fill in 2). */
async function connectionsPerSecond(sut: Routed, log: (line: string) => void): Promise<number> {
  const count = async () => Number((await sut.lab.exec(sut.router!, 'cat', ['/proc/sys/net/netfilter/nf_conntrack_count'])).stdout.trim());
  const before = await count();
  const started = performance.now();
  const sent = await offerNewFlows(sut.lab, sut.h1, sut.routerMac, H1, H2, 1);
  const after = await count();
  const made = after - before;
  const seconds = (performance.now() - started) / 1000;
  log(`nftables: generator sent ${sent} frames; ${made} connections tracked (${before} -> ${after}) in ${seconds.toFixed(1)} s`);
  return made / seconds;
}

const SYSTEMS: Record<string, () => Promise<Routed>> = {
  vswitch_no_rules: () => vswitchRouter('none'),
  vswitch_rules: () => vswitchRouter('chain'),
  vswitch_security_group: () => vswitchRouter('securityGroup'),
  nftables: nftablesRouter,
};

export async function firewall(options: { seconds: number; log: (line: string) => void }): Promise<object> {
  const names = Object.keys(SYSTEMS);
  const rounds: Record<string, Measured>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results: Record<string, Measured> = {};
    // Each round starts with another system: none is always measured first, or last.
    for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
      options.log(`round ${round + 1}: ${name}`);
      const sut = await SYSTEMS[name]();
      try {
        if (!(await ping(sut.lab, sut.h1, H2, 3))) throw new Error(`${name}: no route from h1 to h2`);
        const tcp = await tcpGbps(sut.lab, sut.h2, sut.h1, H2, options.seconds);
        const rtt = await pingRtt(sut.lab, sut.h1, H2, 1000);
        const setups = sut.agent ? { flow_setups_per_s: Math.round(await flowSetupsPerSecond(sut.lab, sut.h1, sut.agent, sut.routerMac, H1, H2, { seconds: 2, log: options.log })) } : { conn_per_s: Math.round(await connectionsPerSecond(sut, options.log)) };
        results[name] = { tcp_gbps: round2(tcp), ...setups, rtt_p99_us: Math.round(rtt.p99Us) };
        options.log(`round ${round + 1}: ${name}: ${JSON.stringify(results[name])}`);
      } finally {
        await sut.lab.cleanup();
      }
    }
    rounds.push(results);
  }
  const setupsOf = (m: Measured) => m.flow_setups_per_s ?? m.conn_per_s ?? 0;
  const systems = Object.fromEntries(names.map((name) => {
    const all = rounds.map((r) => r[name]);
    const tcp = median(all.map((m) => m.tcp_gbps));
    const setups = Math.round(median(all.map(setupsOf)));
    return [name, { tcp_gbps: tcp, ...(name === 'nftables' ? { conn_per_s: setups } : { flow_setups_per_s: setups }), rtt_p99_us: Math.round(median(all.map((m) => m.rtt_p99_us))), config: describe(name) }];
  }));
  const ratio = (a: string, b: string, pick: (m: Measured) => number) => {
    const per = rounds.map((r) => pick(r[a]) / pick(r[b]));
    return { median: round2(median(per)), min: round2(Math.min(...per)), max: round2(Math.max(...per)) };
  };
  const tcpWith = ratio('vswitch_rules', 'vswitch_no_rules', (m) => m.tcp_gbps);
  const setupsWith = ratio('vswitch_rules', 'vswitch_no_rules', setupsOf);
  const tcpVsNft = ratio('vswitch_rules', 'nftables', (m) => m.tcp_gbps);
  const groupSetups = ratio('vswitch_security_group', 'vswitch_no_rules', setupsOf);
  return {
    bench: 'firewall',
    rules: RULES,
    rounds: ROUNDS,
    seconds_per_test: options.seconds,
    systems,
    per_round: rounds,
    ratios: {
      tcp_with_rules_vs_without: tcpWith.median, setups_with_rules_vs_without: setupsWith.median, tcp_vs_nftables: tcpVsNft.median,
      setups_security_group_vs_without: groupSetups.median,
    },
    spread: { tcp_with_rules_vs_without: tcpWith, setups_with_rules_vs_without: setupsWith, tcp_vs_nftables: tcpVsNft, setups_security_group_vs_without: groupSetups },
    targets: { tcp_with_rules_vs_without: 0.9, setups_with_rules_vs_without: 0.7 },
  };
}

function describe(name: string): string {
  if (name === 'nftables') return `Linux kernel routing in a namespace, nftables forward chain of ${RULES} rules (ct state established,related accept first, policy drop), default veth offloads`;
  const rules = {
    vswitch_rules: `, both router ports' outbound chain of ${RULES} rules (established, related first), connection tracking`,
    vswitch_security_group: `, both VM ports in a security group of ${RULES} rules, connection tracking`,
  }[name] ?? ', no rules';
  return `vswitch agent, virtual router between two virtual bridges${rules}, packet-socket ports with vnet headers, 1 datapath worker, 1 simulation thread`;
}
