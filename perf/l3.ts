// `npm run bench -- l3`: routed traffic between two subnets, through the Linux kernel's own
// routing (a router namespace with ip_forward) and through this switch's virtual router, one
// after the other in one run; then flow setups per second: a generator sends 64-byte UDP
// frames, each of a new 5-tuple, across the virtual router, and the agent's flow inserts count.
import { Lab, ping, routedHost, RunningAgent, startAgent, tenantNetwork } from '../examples/lab';
import { cpuSeconds, flowSetupsPerSecond, pingRtt, tcpGbps, udp64 } from './measure';

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

async function virtualRouter(): Promise<Routed> {
  const lab = new Lab();
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 'r1', '10.88.1.2');
  const h2 = await routedHost(lab, sw, 'h2', 'r2', H2);
  const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
  const net = await tenantNetwork(agent.api, 'bench', [{ gateway: ['10.88.1.1/24'], interfaces: ['r1'] }, { gateway: ['10.88.2.1/24'], interfaces: ['r2'] }]);
  const ports = await agent.api.request<{ name: string; mac: string }[]>('GET', '/v1/ports');
  return {
    lab, h1, h2, agent, routerMac: ports.find((p) => p.name === 'bench-r1')!.mac,
    config: `vswitch agent, virtual router ${net.router.slice(0, 8)} between two virtual bridges, packet-socket ports with vnet headers, 1 datapath worker, 1 simulation thread`,
  };
}

export async function l3(options: { seconds: number; log: (line: string) => void }): Promise<object> {
  const systems: Record<string, object> = {};
  const results: Record<string, { tcp: number; pps: number }> = {};
  let flowSetups = 0;
  for (const [name, build] of [['kernel', kernelRouter], ['vswitch', virtualRouter]] as const) {
    options.log(`${name}: building`);
    const sut = await build();
    try {
      if (!(await ping(sut.lab, sut.h1, H2, 3))) throw new Error(`${name}: no route from h1 to h2`);
      await pingRtt(sut.lab, sut.h1, H2, 20);
      const cpuBefore = sut.agent ? cpuSeconds(sut.agent.pid) : 0;
      const tcp = await tcpGbps(sut.lab, sut.h2, sut.h1, H2, options.seconds);
      const udp = await udp64(sut.lab, sut.h2, sut.h1, H2, options.seconds);
      const rtt = await pingRtt(sut.lab, sut.h1, H2, 1000);
      results[name] = { tcp, pps: udp.pps };
      systems[name] = {
        tcp_gbps: round(tcp), udp64_pps: Math.round(udp.pps), udp64_loss: round(udp.loss, 4), rtt_avg_us: Math.round(rtt.avgUs), rtt_p99_us: Math.round(rtt.p99Us),
        cpu_s: sut.agent ? round(cpuSeconds(sut.agent.pid) - cpuBefore) : null, config: sut.config,
      };
      options.log(`${name}: ${JSON.stringify(systems[name])}`);
      if (sut.agent) flowSetups = await flowSetupsPerSecond(sut.lab, sut.h1, sut.agent, sut.routerMac!, '10.88.1.2', H2, options);
    } finally {
      await sut.lab.cleanup();
    }
  }
  return {
    bench: 'l3',
    seconds_per_test: options.seconds,
    systems,
    flow_setups_per_s: Math.round(flowSetups),
    ratios: { tcp_vs_kernel: round(results.vswitch.tcp / results.kernel.tcp), pps_vs_kernel: round(results.vswitch.pps / results.kernel.pps) },
  };
}

function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}
