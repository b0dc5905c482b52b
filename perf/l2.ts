// `npm run bench -- l2`: the same traffic through a direct veth pair (the ceiling), a Linux
// bridge, Open vSwitch's userspace datapath and this switch (as it starts by default, and with
// busy polling), all built side by side and measured in alternating rounds. With --baseline DIR, the switch of another checkout (built)
// runs beside this one, so that a change is measured against the code before it.
import { pathFigures, pingRtt } from './measure';
import { compare, inRounds, ratios, sideBySide, summarize, switchBuilds } from './rounds';
import { linuxBridge, ovsNetdev, SUBNET, SystemUnderTest, vethPair, vswitch } from './systems';

const B = `${SUBNET}.2`;

export interface L2Options {
  seconds: number;
  rounds: number;
  /** Another checkout's switch to run beside this one, and its agent's extra arguments. */
  baseline?: { dir: string; args: string[] };
  /** Extra arguments for this checkout's agent (such as --busy-poll-us). */
  agentArgs: string[];
  log: (line: string) => void;
}

export async function l2(options: L2Options): Promise<object> {
  const builds: [string, () => Promise<SystemUnderTest>][] = [
    ['veth', vethPair],
    ['linux-bridge', linuxBridge],
    ['ovs-netdev', ovsNetdev],
    ...switchBuilds(vswitch, options),
  ];
  // One warm-up exchange each: ARP and the switches' first flows are not what is measured.
  const ready = async (_name: string, sut: SystemUnderTest) => void (await pingRtt(sut.lab, sut.a, B, 20));
  return sideBySide(builds, { ready, stop: (sut) => sut.stop(), log: options.log }, async (suts) => {
    const runs = await inRounds(suts, options.rounds, (_name, sut) => pathFigures(sut.lab, sut.a, sut.b, B, options.seconds, sut.pid ? [sut.pid] : [], sut.agent ? [sut.agent] : []), options.log);
    const systems = Object.fromEntries(suts.map(([name, sut]) => [name, { ...summarize(runs.get(name)!), config: sut.config }]));
    const [v, busy, ovs, bridge] = ['vswitch', 'vswitch-busy-poll', 'ovs-netdev', 'linux-bridge'].map((name) => runs.get(name)!);
    const compared = {
      ...compare(v, ovs, 'ovs', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99']),
      ...compare(v, bridge, 'bridge', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99']),
      ...compare(busy, ovs, 'ovs', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99'], '_busy_poll'),
      ...compare(busy, bridge, 'bridge', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99'], '_busy_poll'),
      ...(options.baseline ? compare(v, runs.get('vswitch-baseline')!, 'baseline', ['tcp', 'pps', 'rtt_avg', 'rtt_p99', 'rtt_sparse_p99']) : {}),
    };
    return { bench: 'l2', seconds_per_test: options.seconds, rounds: options.rounds, systems, ...ratios(compared) };
  });
}

