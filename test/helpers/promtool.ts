// Prometheus's own linter on a /metrics text: `promtool check metrics` (Debian's prometheus
// package; .ci/run installs it) reads it on standard input and exits 0 when it has nothing to say.
import { spawnSync } from 'node:child_process';

/** promtool's complaints about the text, or '' when it accepts it. */
export function promtoolComplaints(text: string): string {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw run.error;
  return run.status === 0 ? '' : `exit ${run.status}: ${run.stdout}${run.stderr}`;
}
