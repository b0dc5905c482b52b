// `npm run bench -- restart`: a sequenced UDP stream at 1,000 datagrams/s from one host to an
// echo on another while the switch between them is restarted. The vswitch agent carries it
// through a tenant's bridge and router; it is (a) killed with -9 and started again at once on
// its state directory, and (b) replaced by `vswitch agent --takeover`. Open vSwitch's userspace
// datapath (an L2 netdev bridge: OVS has no router of its own) is the reference: ovs-vswitchd
// (c) killed with -9 and started again, and (d) stopped (`ovs-appctl exit`) and started again,
// the way it is upgraded. The four alternate, round after round, each system in its own lab.
import { Lab, processGone, RunningAgent, routedHost, sequencedStream, startAgent, tenantNetwork, udpEcho } from '../examples/lab';
import { median, round2 } from './measure';
import { ovsNetdev, SUBNET, SystemUnderTest } from './systems';

const RATE = 1000;
const ROUNDS = 5;
/** Echoed before the restart, and after it, before the stream stops. */
const ECHOED_BEFORE = 500;
const ECHOED_AFTER = 1500;
/** A bound on waiting for the stream, not a figure. */
const BOUND_MS = 60_000;

interface Outcome {
  sent: number;
  lost: number;
  /** The stream's longest silence: from the last echo before the restart to the first after. */
  gap_ms: number;
}

/** The agent between two routed hosts, h1 (10.0.1.5) and h2 (10.0.2.5, with the echo). */
async function vswitchNetwork(lab: Lab): Promise<{ sw: string; h1: string; agent: RunningAgent }> {
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  const h2 = await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
  await tenantNetwork(agent.api, 'acme', [{ gateway: ['10.0.1.1/24'], interfaces: ['t1'] }, { gateway: ['10.0.2.1/24'], interfaces: ['t2'] }]);
  await udpEcho(lab, h2, 7);
  return { sw, h1, agent };
}

/** The stream from `from` to `to` across `restart`, which resolves once the switch is running again. */
async function across(lab: Lab, from: string, to: string, restart: () => Promise<void>): Promise<Outcome> {
  const stream = sequencedStream(lab, from, to, 7, RATE);
  const echoed = async (count: number) => {
    for (const end = Date.now() + BOUND_MS; stream.echoed() < count; await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > end) throw new Error(`the stream was echoed ${stream.echoed()} times, not ${count}`);
    }
  };
  await echoed(ECHOED_BEFORE);
  await restart();
  await echoed(stream.echoed() + ECHOED_AFTER);
  const { report } = await stream.stop();
  return { sent: report.sent, lost: report.lost, gap_ms: Math.round(report.max_gap_ms) };
}

export async function restart(options: { log: (line: string) => void }): Promise<object> {
  const labs: Lab[] = [];
  let ovs: SystemUnderTest | null = null;
  try {
    const vswitchLab = new Lab();
    labs.push(vswitchLab);
    const network = await vswitchNetwork(vswitchLab);
    const { sw, h1 } = network;
    let { agent } = network;
    ovs = await ovsNetdev();
    await udpEcho(ovs.lab, ovs.b, 7);
    const rounds: Record<'kill' | 'takeover' | 'ovs_kill' | 'ovs_restart', Outcome>[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const kill = await across(vswitchLab, h1, '10.0.2.5', async () => {
        process.kill(agent.pid, 'SIGKILL');
        agent = await startAgent(vswitchLab, sw, ['--log-level', 'warn'], agent.stateDir);
      });
      const ovsKill = await across(ovs.lab, ovs.a, `${SUBNET}.2`, async () => {
        await ovs!.vswitchd!.kill();
        await ovs!.vswitchd!.start();
      });
      const takeover = await across(vswitchLab, h1, '10.0.2.5', async () => {
        const old = agent;
        agent = await startAgent(vswitchLab, sw, ['--log-level', 'warn', '--takeover'], old.stateDir);
        for (const end = Date.now() + BOUND_MS; !processGone(old.pid); await new Promise((r) => setTimeout(r, 20))) {
          if (Date.now() > end) throw new Error('the old agent did not exit after the takeover');
        }
      });
      const ovsRestart = await across(ovs.lab, ovs.a, `${SUBNET}.2`, async () => {
        await ovs!.vswitchd!.exit();
        await ovs!.vswitchd!.start();
      });
      rounds.push({ kill, takeover, ovs_kill: ovsKill, ovs_restart: ovsRestart });
      options.log(`round ${round}: ${JSON.stringify(rounds.at(-1))}`);
    }
    const summary = (name: keyof (typeof rounds)[number]) => {
      const all = rounds.map((r) => r[name]);
      return { sent: all.reduce((s, o) => s + o.sent, 0), lost: all.reduce((s, o) => s + o.lost, 0), gap_ms: median(all.map((o) => o.gap_ms)), gap_ms_max: Math.max(...all.map((o) => o.gap_ms)) };
    };
    const ratio = (a: 'kill' | 'takeover', b: 'ovs_kill' | 'ovs_restart') => {
      const per = rounds.map((r) => r[a].gap_ms / r[b].gap_ms);
      return { median: round2(median(per)), min: round2(Math.min(...per)), max: round2(Math.max(...per)) };
    };
    const [kill, takeover] = [summary('kill'), summary('takeover')];
    const killGap = ratio('kill', 'ovs_kill');
    const takeoverGap = ratio('takeover', 'ovs_restart');
    return {
      bench: 'restart',
      rate_pps: RATE,
      rounds: ROUNDS,
      kill,
      takeover,
      ovs_kill: summary('ovs_kill'),
      ovs_restart: summary('ovs_restart'),
      per_round: rounds,
      ratios: { kill_gap_vs_ovs_kill: killGap.median, takeover_gap_vs_ovs_restart: takeoverGap.median },
      spread: { kill_gap_vs_ovs_kill: killGap, takeover_gap_vs_ovs_restart: takeoverGap },
      targets: { kill_gap_ms: 1000, takeover_lost: 0 },
      met: { kill_gap_ms: kill.gap_ms <= 1000, takeover_lost: takeover.lost === 0 },
      config: {
        vswitch: 'vswitch agent, a tenant router between two bridges, packet-socket ports with vnet headers, embedded store; kill: SIGKILL then `vswitch agent` on the same state directory; takeover: `vswitch agent --takeover`',
        ovs: `${ovs.config}; an L2 bridge (OVS has no router of its own); kill: SIGKILL then ovs-vswitchd again; restart: ovs-appctl exit then ovs-vswitchd again`,
        notes: 'sent and lost are summed over the rounds; gap_ms is the median of the rounds\' longest silences (from the last echo before the restart to the first after), gap_ms_max the worst; lost counts what the ends never got back',
      },
    };
  } finally {
    await ovs?.stop();
    for (const lab of labs) await lab.cleanup();
  }
}
