// `npm run bench -- overlay`: two VMs on one network across two hosts, through the Linux
// kernel's VXLAN and bridge (a vxlan device and a bridge on each host), and through this
// switch (two agents, one etcd), in the same underlay; both are built side by side, and their
// TCP runs alternate.
import { Lab, overlayHosts, ping, RunningAgent, underlay, vmOn } from '../examples/lab';
import { cpuSeconds, pingRtt, tcpGbps, udp64 } from './measure';

const VM2 = '10.0.0.2';
const VNI = '42';

interface Overlay {
  lab: Lab;
  vm1: string;
  vm2: string;
  agents: RunningAgent[];
  config: string;
}

async function kernelVxlan(): Promise<Overlay> {
  const lab = new Lab();
  const { hosts } = await underlay(lab, ['host1', 'host2']);
  const vms: string[] = [];
  for (const [i, h] of hosts.entries()) {
    const other = hosts[1 - i].address;
    await lab.ip(h.ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', VNI, 'remote', other, 'local', h.address, 'dstport', '4789', 'dev', 'ul0');
    await lab.ip(h.ns, 'link', 'add', 'br0', 'type', 'bridge');
    vms.push(await vmOn(lab, h.ns, `vm${i + 1}`, 'tap', `10.0.0.${i + 1}/24`));
    for (const dev of ['vx0', 'tap']) await lab.ip(h.ns, 'link', 'set', dev, 'master', 'br0');
    for (const dev of ['vx0', 'br0']) await lab.ip(h.ns, 'link', 'set', dev, 'up');
  }
  return { lab, vm1: vms[0], vm2: vms[1], agents: [], config: 'Linux vxlan device (remote, dstport 4789) and bridge on each host, underlay MTU 1600' };
}

async function vswitchOverlay(): Promise<Overlay> {
  const lab = new Lab();
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2'], ['--log-level', 'warn']);
  const vms = [await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.0.1/24'), await vmOn(lab, hosts[1].ns, 'vm2', 'tap2', '10.0.0.2/24')];
  const bridge = await agents[0].api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  for (const i of [0, 1]) {
    const port = await agents[0].api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: `vm${i + 1}` });
    await agents[0].api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${i + 1}`, host: ids[i] });
  }
  return {
    lab, vm1: vms[0], vm2: vms[1], agents,
    config: 'two vswitch agents (etcd on the underlay), VXLAN over their UDP sockets, packet-socket ports with vnet headers, underlay MTU 1600',
  };
}

/** TCP runs per system, alternating between them: the machine's noise hits both alike. */
const TCP_ROUNDS = 5;

export async function overlay(options: { seconds: number; log: (line: string) => void }): Promise<object> {
  const builds = [['kernel-vxlan', kernelVxlan], ['vswitch', vswitchOverlay]] as const;
  const suts: [string, Overlay][] = [];
  try {
    for (const [name, build] of builds) {
      options.log(`${name}: building`);
      const sut = await build();
      suts.push([name, sut]);
      for (let tries = 0; !(await ping(sut.lab, sut.vm1, VM2, 1)); tries++) if (tries > 20) throw new Error(`${name}: vm1 cannot reach vm2`);
      await pingRtt(sut.lab, sut.vm1, VM2, 20);
    }
    const tcpRuns = new Map<string, number[]>(suts.map(([name]) => [name, []]));
    const cpu = new Map<string, number>(suts.map(([name]) => [name, 0]));
    const agentCpu = (sut: Overlay) => sut.agents.reduce((sum, a) => sum + cpuSeconds(a.pid), 0);
    for (let round = 0; round < TCP_ROUNDS; round++) {
      for (const [name, sut] of suts) {
        const before = agentCpu(sut);
        const gbps = await tcpGbps(sut.lab, sut.vm2, sut.vm1, VM2, options.seconds);
        cpu.set(name, cpu.get(name)! + agentCpu(sut) - before);
        tcpRuns.get(name)!.push(round2(gbps));
        options.log(`${name}: TCP ${gbps.toFixed(2)} Gbit/s (round ${round + 1} of ${TCP_ROUNDS})`);
      }
    }
    const systems: Record<string, { tcp_gbps: number; udp64_pps: number; rtt_p99_us: number; [field: string]: unknown }> = {};
    for (const [name, sut] of suts) {
      const udp = await udp64(sut.lab, sut.vm2, sut.vm1, VM2, options.seconds);
      const rtt = await pingRtt(sut.lab, sut.vm1, VM2, 1000);
      systems[name] = {
        tcp_gbps: median(tcpRuns.get(name)!), tcp_runs_gbps: tcpRuns.get(name)!, udp64_pps: Math.round(udp.pps), udp64_loss: round2(udp.loss, 4),
        rtt_avg_us: Math.round(rtt.avgUs), rtt_p99_us: Math.round(rtt.p99Us), cpu_s_per_tcp_run: sut.agents.length ? round2(cpu.get(name)! / TCP_ROUNDS) : null, config: sut.config,
      };
      options.log(`${name}: ${JSON.stringify(systems[name])}`);
    }
    const v = systems.vswitch;
    const k = systems['kernel-vxlan'];
    return {
      bench: 'overlay',
      seconds_per_test: options.seconds,
      systems,
      ratios: {
        tcp_vs_kernel_vxlan: round2(v.tcp_gbps / k.tcp_gbps),
        // Each round's two runs back to back: how much of the spread is the machine's.
        tcp_vs_kernel_vxlan_by_round: tcpRuns.get('vswitch')!.map((gbps, i) => round2(gbps / tcpRuns.get('kernel-vxlan')![i])),
        pps_vs_kernel_vxlan: round2(v.udp64_pps / k.udp64_pps),
        rtt_p99_vs_kernel_vxlan: round2(v.rtt_p99_us / k.rtt_p99_us),
      },
    };
  } finally {
    for (const [, sut] of suts) await sut.lab.cleanup();
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function round2(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}
