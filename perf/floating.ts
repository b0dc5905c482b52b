// `npm run bench -- floating`: how fast a floating IP moved to another VM takes effect, beside
// the Linux kernel doing the same with nftables NAT in a router namespace, in alternating
// rounds in one run. The outside asks the floating IP who answers again and again (a new TCP
// connection each time, 50 ms at most each); move_ms is from the change's end (the API's
// answer; `nft -f`'s exit) to the first answer from the VM it now points at.
import fs from 'node:fs';
import path from 'node:path';
import { askAgainAndAgain, gatewayedNetwork, Lab, OUTSIDE_ADDRESS, routedHost, sleep, startAgent, WAIT_MS, whoServer } from '../examples/lab';

const ROUNDS = 5;
/** Moves per round, back and forth between the two VMs. */
const MOVES = 4;
const FLOATING = '203.0.113.3';
const TARGET_MS = 100;
/** nftables' own nft (under `npm run`, node_modules/.bin has another command of that name). */
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((f) => fs.existsSync(f)) ?? 'nft';

interface System {
  lab: Lab;
  /** Points the floating IP at vm1 or vm2; resolves when the change is made. */
  move(to: 1 | 2): Promise<void>;
  asking: ReturnType<typeof askAgainAndAgain>;
}

async function vswitch(): Promise<System> {
  const lab = new Lab();
  const sw = await lab.namespace('sw');
  const vms = [await routedHost(lab, sw, 'vm1', 't1', '10.0.1.5'), await routedHost(lab, sw, 'vm2', 't2', '10.0.1.6')];
  const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
  const net = await gatewayedNetwork(lab, agent.api, sw, [{ iface: 't1', address: '10.0.1.5' }, { iface: 't2', address: '10.0.1.6' }]);
  const fip = await agent.api.request<{ id: string; address: string }>('POST', '/v1/floating-ips', { network: net.external, port: net.ports[0] });
  if (fip.address !== FLOATING) throw new Error(`the floating IP is ${fip.address}, not ${FLOATING}`);
  vms.forEach((vm, i) => whoServer(lab, vm, `vm${i + 1}`));
  const move = async (to: 1 | 2) => void (await agent.api.request('PATCH', `/v1/floating-ips/${fip.id}`, { port: net.ports[to - 1] }));
  return { lab, move, asking: askAgainAndAgain(lab, net.outside, FLOATING) };
}

async function nftables(): Promise<System> {
  const lab = new Lab();
  const router = await lab.namespace('r');
  const vms = [await routedHost(lab, router, 'vm1', 't1', '10.0.1.5'), await routedHost(lab, router, 'vm2', 't2', '10.0.1.6')];
  const outside = await lab.namespace('out');
  await lab.veth(outside, 'eth0', router, 'up0');
  await lab.ip(outside, 'addr', 'add', `${OUTSIDE_ADDRESS}/24`, 'dev', 'eth0');
  await lab.ip(router, 'addr', 'add', '203.0.113.2/24', 'dev', 'up0');
  await lab.ip(router, 'addr', 'add', `${FLOATING}/32`, 'dev', 'up0'); // the router answers ARP for it, as the switch's does
  await lab.ip(router, 'addr', 'add', '10.0.1.1/24', 'dev', 't1');
  await lab.ip(router, 'route', 'add', '10.0.1.6/32', 'dev', 't2');
  await lab.exec(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.proxy_arp=1']); // the router namespace's own
  const file = path.join(lab.directory('nft'), 'nat.nft');
  const move = async (to: 1 | 2) => {
    const fixed = to === 1 ? '10.0.1.5' : '10.0.1.6';
    fs.writeFileSync(file, [
      'table ip floating', 'delete table ip floating', 'table ip floating {',
      `  chain prerouting { type nat hook prerouting priority dstnat; ip daddr ${FLOATING} dnat to ${fixed}; }`,
      `  chain postrouting { type nat hook postrouting priority srcnat; ip saddr ${fixed} snat to ${FLOATING}; }`, '}',
    ].join('\n') + '\n');
    await lab.exec(router, NFT, ['-f', file]); // one transaction: the old table goes as the new one comes
  };
  await move(1);
  vms.forEach((vm, i) => whoServer(lab, vm, `vm${i + 1}`));
  return { lab, move, asking: askAgainAndAgain(lab, outside, FLOATING) };
}

/** Moves the floating IP to `to` and waits for the first answer from there: the time it took. */
async function timedMove(system: System, to: 1 | 2): Promise<number> {
  await system.move(to);
  const moved = Date.now();
  const end = moved + WAIT_MS;
  for (;;) {
    const first = system.asking.firstAfter(`vm${to}`, moved);
    if (first !== undefined) return first - moved;
    if (Date.now() > end) throw new Error(`vm${to} never answered at the floating IP`);
    await sleep(5);
  }
}

export async function floating(options: { log: (line: string) => void }): Promise<object> {
  const systems: Record<string, System> = {};
  try {
    for (const [name, make] of [['vswitch', vswitch], ['nftables', nftables]] as const) {
      options.log(`setting up ${name}`);
      systems[name] = await make();
      await timedMove(systems[name], 1); // asking, and answered, before any measure
    }
    const moves: Record<string, number[]> = { vswitch: [], nftables: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? ['nftables', 'vswitch'] : ['vswitch', 'nftables'];
      for (const name of order) {
        for (let m = 0; m < MOVES; m++) moves[name].push(await timedMove(systems[name], m % 2 ? 1 : 2));
        options.log(`round ${round + 1}: ${name}: ${moves[name].slice(-MOVES).join(', ')} ms`);
      }
    }
    const summary = (ms: number[]) => ({ move_ms_median: quantile(ms, 0.5), move_ms_p95: quantile(ms, 0.95), move_ms_max: Math.max(...ms), moves: ms.length });
    const result = { vswitch: summary(moves.vswitch), nftables: summary(moves.nftables) };
    return {
      bench: 'floating',
      rounds: ROUNDS,
      moves_per_round: MOVES,
      systems: {
        vswitch: { ...result.vswitch, config: 'vswitch agent, one host: a floating IP on the router\'s gateway moved by PATCH /v1/floating-ips/ID' },
        nftables: { ...result.nftables, config: 'Linux routing in a namespace, nftables DNAT and SNAT for the address, moved by nft -f (one transaction)' },
      },
      per_move: moves,
      ratios: { move_vs_nftables: Number((result.vswitch.move_ms_median / Math.max(1, result.nftables.move_ms_median)).toFixed(2)) },
      targets: { move_ms_median: TARGET_MS },
    };
  } finally {
    for (const s of Object.values(systems)) await s.lab.cleanup();
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
