// Benchmarks compare systems in rounds: every system measured once a round, the order rotating
// from round to round, so that the machine's drift (its speed changes by tens of percent within
// minutes) falls on each system alike. Figures are reported as medians of the rounds, and a
// ratio as the median of each round's own ratio, with its spread.
import { median, round2 } from './measure';

export type Figures = Record<string, number>;

/** Runs `measure` on each system `rounds` times, the order rotating; each system's figures by round. */
export async function inRounds<S>(systems: readonly (readonly [string, S])[], rounds: number, measure: (name: string, sut: S) => Promise<Figures>, log: (line: string) => void): Promise<Map<string, Figures[]>> {
  const runs = new Map<string, Figures[]>(systems.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < systems.length; i++) {
      const [name, sut] = systems[(round + i) % systems.length];
      const figures = await measure(name, sut);
      runs.get(name)!.push(figures);
      log(`${name} (round ${round + 1} of ${rounds}): ${JSON.stringify(figures)}`);
    }
  }
  return runs;
}

/** Each figure's median over the rounds, and the rounds' values beside them. */
export function summarize(runs: readonly Figures[]): { medians: Figures; runs: Record<string, number[]> } {
  const names = Object.keys(runs[0] ?? {});
  return {
    medians: Object.fromEntries(names.map((f) => [f, round2(median(runs.map((r) => r[f])))])),
    runs: Object.fromEntries(names.map((f) => [f, runs.map((r) => r[f])])),
  };
}

/** A figure of `a` over the same figure of `b`, round by round: the median and the spread. */
export function ratio(a: readonly Figures[], b: readonly Figures[], figure: string): { median: number; spread: [number, number] } {
  const each = a.map((r, i) => r[figure] / b[i][figure]);
  return { median: round2(median(each)), spread: [round2(Math.min(...each)), round2(Math.max(...each))] };
}

/** Ratios by name, as `ratios` (the medians) and `ratio_spreads` (each one's [min, max]). */
export function ratios(entries: Record<string, { median: number; spread: [number, number] }>): { ratios: Record<string, number>; ratio_spreads: Record<string, [number, number]> } {
  return {
    ratios: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v.median])),
    ratio_spreads: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v.spread])),
  };
}

/** What the benchmarks compare, by the short names their ratios take. */
const FIGURES = { tcp: 'tcp_gbps', pps: 'udp64_pps', rtt_avg: 'rtt_avg_us', rtt_p99: 'rtt_p99_us', rtt_sparse_p99: 'rtt_sparse_p99_us' } as const;

/** Ratios of `a`'s figures to `b`'s, named `tcp_vs_bridge` and so on (`to` is b's short name),
 *  with `suffix` after (`_busy_poll` for the switch run with busy polling). */
export function compare(a: readonly Figures[], b: readonly Figures[], to: string, figures: (keyof typeof FIGURES)[], suffix = ''): Record<string, { median: number; spread: [number, number] }> {
  return Object.fromEntries(figures.map((f) => [`${f}_vs_${to}${suffix}`, ratio(a, b, FIGURES[f])]));
}

/** The switch is run twice in the latency benchmarks: as it starts by default (a worker sleeps as
 *  soon as it has no frame), and with busy polling, which keeps a worker awake for 3 ms after
 *  traffic: longer than the 2 ms between the pings, so it trades a core while frames flow for
 *  the wake-up. */
const BUSY_POLL_ARGS = ['--busy-poll-us', '3000'];

/** Builds the systems one after another, each made ready (warmed up) as it comes; gives them
 *  all to `use`; stops every one that was built, whatever happens. */
export async function sideBySide<S, T>(
  builds: readonly (readonly [string, () => Promise<S>])[],
  hooks: { ready: (name: string, sut: S) => Promise<void>; stop: (sut: S) => Promise<void>; log: (line: string) => void },
  use: (suts: [string, S][]) => Promise<T>,
): Promise<T> {
  const suts: [string, S][] = [];
  try {
    for (const [name, build] of builds) {
      hooks.log(`${name}: building`);
      const sut = await build();
      suts.push([name, sut]);
      await hooks.ready(name, sut);
    }
    return await use(suts);
  } finally {
    for (const [, sut] of suts) await hooks.stop(sut);
  }
}

/** This switch as it starts, busy-polled, and with --baseline another checkout's: what l2, l3
 *  and overlay build of it beside their references. */
export function switchBuilds<T>(make: (args: string[], checkout?: string) => Promise<T>, options: { agentArgs: string[]; baseline?: { dir: string; args: string[] } }): [string, () => Promise<T>][] {
  const { agentArgs, baseline } = options;
  return [
    ['vswitch', () => make(agentArgs)],
    ['vswitch-busy-poll', () => make([...BUSY_POLL_ARGS, ...agentArgs])],
    ...(baseline ? [['vswitch-baseline', () => make(baseline.args, baseline.dir)] as [string, () => Promise<T>]] : []),
  ];
}
