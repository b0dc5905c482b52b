// Prometheus's own linter on a /metrics text: `promtool check metrics` (Debian's prometheus
// package; .ci/run installs it) reads it on standard input and exits 0 when it has nothing to say.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** promtool's complaints about the text, or '' when it accepts it. */
export function promtoolComplaints(text: string): string {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw run.error;
  return run.status === 0 ? '' : `exit ${run.status}: ${run.stdout}${run.stderr}`;
}

/** promtool's complaints about PromQL queries (as the rules of a rule file), or ''. Grafana's
 *  variables are given plain values first. */
export function promqlComplaints(queries: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-promql-'));
  try {
    const plain = (q: string) => q.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$instance', '.*');
    const rules = queries.map((q, i) => `      - record: vswitch:query${i}\n        expr: ${JSON.stringify(plain(q))}`).join('\n');
    const file = path.join(dir, 'rules.yml');
    fs.writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
    const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    if (run.error) throw run.error;
    return run.status === 0 ? '' : `exit ${run.status}: ${run.stdout}${run.stderr}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
