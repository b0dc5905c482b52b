// `npm run bench -- l3`: routed traffic between two subnets, through the Linux kernel's own
// routing (a router namespace with ip_forward) and through this switch's virtual router (and,
// with --baseline, another checkout's), built side by side and measured in alternating rounds;
// then flow setups per second: a generator sends 64-byte UDP
// frames, each of a new 5-tuple, across the virtual router, and the agent's flow inserts count.
import { Lab, ping, routedHost, RunningAgent, startAgent, tenantNetwork } from '../examples/lab';
import path from 'node:path';
import { flowSetupsPerSecond, pathFigures, pingRtt } from './measure';
import type { L2Options } from './l2';
import { compare, inRounds, ratios, sideBySide, summarize, switchBuilds } from './rounds';

const H2 = '10.88.2.2';

interface Routed {
  lab: Lab;
  h1: string;
  h2: string;
  agent?: RunningAgent;
  routerMac?: string;
  config: string;
}

async function kernelRouter(): Promise<Routed> {
  const lab = new Lab();
  const r = await lab.namespace('r');
  const h1 = await routedHost(lab, r, 'h1', 'r1', '10.88.1.2');
  const h2 = await routedHost(lab, r, 'h2', 'r2', H2);
  await lab.ip(r, 'addr', 'add', '10.88.1.1/24', 'dev', 'r1');
  await lab.ip(r, 'addr', 'add', '10.88.2.1/24', 'dev', 'r2');
  await lab.exec(r, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']); // inside the router namespace only
  return { lab, h1, h2, config: 'Linux kernel routing in a namespace (ip_forward), default veth offloads' };
}

/** This switch's virtual router; `checkout`: another checkout's (built). */
async function virtualRouter(args: string[] = [], checkout?: string): Promise<Routed> {
  const lab = new Lab();
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 'r1', '10.88.1.2');
  const h2 = await routedHost(lab, sw, 'h2', 'r2', H2);
  const agent = await startAgent(lab, sw, ['--log-level', 'warn', ...args], undefined, checkout ? path.join(checkout, 'bin', 'vswitch') : undefined);
  const net = await tenantNetwork(agent.api, 'bench', [{ gateway: ['10.88.1.1/24'], interfaces: ['r1'] }, { gateway: ['10.88.2.1/24'], interfaces: ['r2'] }]);
  const ports = await agent.api.request<{ name: string; mac: string }[]>('GET', '/v1/ports');
  return {
    lab, h1, h2, agent, routerMac: ports.find((p) => p.name === 'bench-r1')!.mac,
    config: `vswitch agent${checkout ? ` of ${checkout}` : ''}${args.length ? ` ${args.join(' ')}` : ''}, virtual router ${net.router.slice(0, 8)} between two virtual bridges, packet-socket ports with vnet headers, 1 datapath worker, 1 simulation thread`,
  };
}

export async function l3(options: L2Options): Promise<object> {
  const builds: [string, () => Promise<Routed>][] = [
    ['kernel', kernelRouter],
    ...switchBuilds(virtualRouter, options),
  ];
  const ready = async (name: string, sut: Routed) => {
    if (!(await ping(sut.lab, sut.h1, H2, 3))) throw new Error(`${name}: no route from h1 to h2`);
    await pingRtt(sut.lab, sut.h1, H2, 20);
  };
  return sideBySide(builds, { ready, stop: (sut) => sut.lab.cleanup(), log: options.log }, async (suts) => {
    const runs = await inRounds(suts, options.rounds, (_name, sut) => pathFigures(sut.lab, sut.h1, sut.h2, H2, options.seconds, sut.agent ? [sut.agent.pid] : [], sut.agent ? [sut.agent] : []), options.log);
    const systems = Object.fromEntries(suts.map(([name, sut]) => [name, { ...summarize(runs.get(name)!), config: sut.config }]));
    const [, virtual] = suts.find(([name]) => name === 'vswitch')!;
    const flowSetups = await flowSetupsPerSecond(virtual.lab, virtual.h1, virtual.agent!, virtual.routerMac!, '10.88.1.2', H2, options);
    const [v, busy, k] = ['vswitch', 'vswitch-busy-poll', 'kernel'].map((name) => runs.get(name)!);
    const compared = {
      ...compare(v, k, 'kernel', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99']),
      ...compare(busy, k, 'kernel', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99'], '_busy_poll'),
      ...(options.baseline ? compare(v, runs.get('vswitch-baseline')!, 'baseline', ['tcp', 'pps', 'rtt_avg', 'rtt_p99', 'rtt_sparse_p99']) : {}),
    };
    return { bench: 'l3', seconds_per_test: options.seconds, rounds: options.rounds, systems, flow_setups_per_s: Math.round(flowSetups), ...ratios(compared) };
  });
}

