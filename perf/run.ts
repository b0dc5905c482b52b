// `npm run bench -- NAME [--json] [--seconds N]`: runs one benchmark. With --json the last
// line printed is the result as one JSON object; progress goes to stderr.
import { all } from './all';
import { changes } from './changes';
import { firewall } from './firewall';
import { flamegraph, Traffic } from './flamegraph';
import { floating } from './floating';
import { flowcache, flowcacheOnce } from './flowcache';
import { fuzz } from './fuzz';
import { idle, IDLE_WARM_UP_SECONDS } from './idle';
import { l2 } from './l2';
import { l3 } from './l3';
import { lb } from './lb';
import { migration } from './migration';
import { nat } from './nat';
import { overlay } from './overlay';
import { restart } from './restart';
import { scale } from './scale';
import { setup } from './setup';
import { soak } from './soak';

/** Rounds of the benchmarks that compare systems in alternation (perf/rounds.ts), unless --rounds says. */
const DEFAULT_ROUNDS = 5;

/** The words of an option's value: --agent-args "--busy-poll-us 200". */
function words(argv: string[], option: string): string[] {
  const at = argv.indexOf(option);
  return at >= 0 ? argv[at + 1].split(/\s+/).filter(Boolean) : [];
}

/** --baseline DIR [--baseline-args "..."]: another checkout (built) to run beside this one. */
function baseline(argv: string[]): { dir: string; args: string[] } | undefined {
  const at = argv.indexOf('--baseline');
  return at >= 0 ? { dir: argv[at + 1], args: words(argv, '--baseline-args') } : undefined;
}

async function main(argv: string[]): Promise<number> {
  const values = new Set(['--seconds', '--rounds', '--minutes', '--ports', '--baseline', '--baseline-args', '--agent-args', '--traffic', '--warm-up'].map((o) => argv.indexOf(o) + 1).filter((i) => i > 0));
  const name = argv.find((a, i) => !a.startsWith('--') && !values.has(i));
  const json = argv.includes('--json');
  const secondsAt = argv.indexOf('--seconds');
  const seconds = secondsAt >= 0 ? Number(argv[secondsAt + 1]) : undefined;
  const roundsAt = argv.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : DEFAULT_ROUNDS;
  const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  let result: object;
  switch (name) {
    case 'l2':
      result = await l2({ seconds: seconds ?? 5, rounds, baseline: baseline(argv), agentArgs: words(argv, '--agent-args'), log });
      break;
    case 'flowcache':
      result = await flowcache({ log });
      break;
    case 'flowcache-once':
      result = flowcacheOnce({ flows: 1_000_000, lookups: 20_000_000, log });
      break;
    case 'idle': {
      const warmUpAt = argv.indexOf('--warm-up');
      const warmUpSeconds = warmUpAt >= 0 ? Number(argv[warmUpAt + 1]) : IDLE_WARM_UP_SECONDS;
      if (!(warmUpSeconds >= 0)) throw new Error(`--warm-up takes seconds, not ${argv[warmUpAt + 1]}`);
      result = await idle({ ports: 10, warmUpSeconds, seconds: seconds ?? 20, agentArgs: words(argv, '--agent-args'), log });
      break;
    }
    case 'l3':
      result = await l3({ seconds: seconds ?? 5, rounds, baseline: baseline(argv), agentArgs: words(argv, '--agent-args'), log });
      break;
    case 'firewall':
      result = await firewall({ seconds: seconds ?? 5, log });
      break;
    case 'changes':
      result = await changes({ rounds: 3, log });
      break;
    case 'migration':
      result = await migration({ rate: 1000, log });
      break;
    case 'overlay':
      result = await overlay({ seconds: seconds ?? 5, rounds, baseline: baseline(argv), agentArgs: words(argv, '--agent-args'), log });
      break;
    case 'soak': {
      const at = argv.indexOf('--minutes');
      result = await soak({ minutes: at >= 0 ? Number(argv[at + 1]) : 30, log });
      break;
    }
    case 'fuzz':
      result = fuzz({ frames: 10_000_000, log });
      break;
    case 'restart':
      result = await restart({ log });
      break;
    case 'scale': {
      const at = argv.indexOf('--ports');
      result = await scale({ ports: at >= 0 ? Number(argv[at + 1]) : 100_000, log });
      break;
    }
    case 'setup':
      result = await setup({ tries: 20, log });
      break;
    case 'floating':
      result = await floating({ log });
      break;
    case 'nat':
      result = await nat({ seconds: seconds ?? 5, log });
      break;
    case 'lb':
      result = await lb({ seconds: seconds ?? 5, log });
      break;
    case 'all':
      result = await all({ log });
      break;
    case 'flamegraph':
      result = await flamegraph({ seconds: seconds ?? 5, traffic: (words(argv, '--traffic')[0] ?? 'tcp') as Traffic, agentArgs: words(argv, '--agent-args'), log });
      break;
    default:
      process.stderr.write('usage: npm run bench -- all|l2|l3|firewall|floating|nat|lb|overlay|changes|migration|restart|fuzz|soak|scale|setup|flowcache|idle|flamegraph [--json] [--seconds N] [--minutes N] [--ports N]\n' +
        '       l2, l3 and overlay take [--rounds N] (5), [--agent-args "ARGS"] and [--baseline CHECKOUT [--baseline-args "ARGS"]]:\n' +
        '       another checkout\'s switch (or this one with other arguments) beside this one; idle [--warm-up S] [--agent-args "ARGS"];\n' +
        '       flamegraph [--traffic tcp|udp|ping] [--agent-args "ARGS"]\n');
      return 2;
  }
  process.stdout.write(json ? JSON.stringify(result) + '\n' : JSON.stringify(result, null, 2) + '\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`bench failed: ${(error as Error).stack}\n`);
    process.exitCode = 1;
  },
);
