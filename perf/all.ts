// `npm run bench -- all`: every benchmark that compares this switch with something (and the
// ones with a target of their own), each in its own process one after another, then one summary
// object: each one's result, and every ratio under its benchmark's name (`l2.rtt_p99_vs_bridge`).
// The long runs are left to be asked for by name.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const BENCHMARKS = ['l2', 'l3', 'overlay', 'firewall', 'nat', 'lb', 'floating', 'changes', 'setup', 'restart', 'flowcache', 'idle', 'fuzz'];
const LEFT_OUT: Record<string, string> = {
  soak: 'thirty minutes of churn: npm run bench -- soak',
  scale: 'a thousand hosts and 100,000 ports in etcd: npm run bench -- scale',
  migration: 'QEMU guests migrated in TCG: npm run bench -- migration',
  flamegraph: 'a profile, not a figure: npm run bench -- flamegraph',
};

export async function all(options: { log: (line: string) => void }): Promise<object> {
  const results: Record<string, object> = {};
  const ratios: Record<string, unknown> = {};
  for (const name of BENCHMARKS) {
    options.log(`${name}: running`);
    const started = Date.now();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [process.argv[1], name, '--json'], { maxBuffer: 64 << 20 });
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as { ratios?: Record<string, unknown> };
      results[name] = result;
      for (const [ratio, value] of Object.entries(result.ratios ?? {})) ratios[`${name}.${ratio}`] = value;
    } catch (error) {
      results[name] = { error: (error as Error).message.split('\n').slice(0, 3).join(' ') };
    }
    options.log(`${name}: done in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  return { bench: 'all', ratios, results, left_out: LEFT_OUT };
}
