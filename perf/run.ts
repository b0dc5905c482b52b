// `npm run bench -- NAME [--json] [--seconds N]`: runs one benchmark. With --json the last
// line printed is the result as one JSON object; progress goes to stderr.
import { changes } from './changes';
import { firewall } from './firewall';
import { flamegraph } from './flamegraph';
import { floating } from './floating';
import { flowcache } from './flowcache';
import { fuzz } from './fuzz';
import { idle } from './idle';
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

async function main(argv: string[]): Promise<number> {
  const name = argv.find((a) => !a.startsWith('--'));
  const json = argv.includes('--json');
  const secondsAt = argv.indexOf('--seconds');
  const seconds = secondsAt >= 0 ? Number(argv[secondsAt + 1]) : undefined;
  const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  let result: object;
  switch (name) {
    case 'l2':
      result = await l2({ seconds: seconds ?? 5, log });
      break;
    case 'flowcache':
      result = flowcache({ flows: 1_000_000, lookups: 20_000_000, log });
      break;
    case 'idle':
      result = await idle({ ports: 10, warmUpSeconds: 15, seconds: seconds ?? 20, log });
      break;
    case 'l3':
      result = await l3({ seconds: seconds ?? 5, log });
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
      result = await overlay({ seconds: seconds ?? 5, log });
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
    case 'flamegraph':
      result = await flamegraph({ seconds: seconds ?? 5, log });
      break;
    default:
      process.stderr.write('usage: npm run bench -- l2|l3|firewall|floating|nat|lb|overlay|changes|migration|restart|fuzz|soak|scale|setup|flowcache|idle|flamegraph [--json] [--seconds N] [--minutes N] [--ports N]\n');
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
