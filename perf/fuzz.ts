// `npm run bench -- fuzz`: ten million random, mutated and truncated frames with random vnet
// headers, and VXLAN datagrams from a peer and from strangers, through the datapath engine and
// the slow path of a routed tenant network (examples/lab/fuzzed-frames.ts). Not a race: what
// counts is that nothing throws and every frame is accounted for.
import { runFuzz } from '../examples/lab';

export function fuzz(options: { frames: number; log: (line: string) => void }): object {
  const report = runFuzz(options.frames);
  options.log(JSON.stringify(report));
  return {
    bench: 'fuzz',
    ...report,
    targets: { frames: 10_000_000, exceptions: 0, unaccounted: 0 },
    met: { exceptions: report.exceptions === 0, unaccounted: report.unaccounted === 0 },
    config: 'two VM ports (vnet headers and none) on a bridge and behind a router, a VM on a peer host over the tunnel; the datapath engine and the slow path in one thread, frames from a seeded generator',
  };
}
