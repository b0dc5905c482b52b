// `npm run bench -- l2`: the same traffic through a direct veth pair (the ceiling), a Linux
// bridge, Open vSwitch's userspace datapath and this switch, one after the other in one run.
import { cpuSeconds, pingRtt, tcpGbps, udp64 } from './measure';
import { linuxBridge, ovsNetdev, SUBNET, SystemUnderTest, vethPair, vswitch } from './systems';

const B = `${SUBNET}.2`;

export interface L2Result {
  tcp_gbps: number;
  udp64_pps: number;
  udp64_loss: number;
  rtt_avg_us: number;
  rtt_p99_us: number;
  /** CPU seconds of the userspace switch process over the measurements; null for the kernel's. */
  cpu_s: number | null;
  config: string;
}

const SYSTEMS: [string, () => Promise<SystemUnderTest>][] = [
  ['veth', vethPair],
  ['linux-bridge', linuxBridge],
  ['ovs-netdev', ovsNetdev],
  ['vswitch', vswitch],
];

export async function l2(options: { seconds: number; log: (line: string) => void }): Promise<object> {
  const systems: Record<string, L2Result> = {};
  for (const [name, build] of SYSTEMS) {
    options.log(`${name}: building`);
    const sut = await build();
    try {
      // One warm-up exchange: ARP and the switches' first flows are not what is measured.
      await pingRtt(sut.lab, sut.a, B, 20);
      const cpuBefore = sut.pid ? cpuSeconds(sut.pid) : 0;
      const tcp = await tcpGbps(sut.lab, sut.b, sut.a, B, options.seconds);
      const udp = await udp64(sut.lab, sut.b, sut.a, B, options.seconds);
      const rtt = await pingRtt(sut.lab, sut.a, B, 3000); // 6 s: a p99 of 30 samples, not 10
      const cpu = sut.pid ? cpuSeconds(sut.pid) - cpuBefore : null;
      systems[name] = {
        tcp_gbps: round(tcp), udp64_pps: Math.round(udp.pps), udp64_loss: round(udp.loss, 4),
        rtt_avg_us: Math.round(rtt.avgUs), rtt_p99_us: Math.round(rtt.p99Us), cpu_s: cpu === null ? null : round(cpu), config: sut.config,
      };
      options.log(`${name}: ${JSON.stringify(systems[name])}`);
    } finally {
      await sut.stop();
    }
  }
  const v = systems.vswitch;
  const ovs = systems['ovs-netdev'];
  const bridge = systems['linux-bridge'];
  return {
    bench: 'l2',
    seconds_per_test: options.seconds,
    systems,
    ratios: {
      tcp_vs_ovs: round(v.tcp_gbps / ovs.tcp_gbps),
      pps_vs_ovs: round(v.udp64_pps / ovs.udp64_pps),
      rtt_p99_vs_ovs: round(v.rtt_p99_us / ovs.rtt_p99_us),
      tcp_vs_bridge: round(v.tcp_gbps / bridge.tcp_gbps),
    },
  };
}

function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}
