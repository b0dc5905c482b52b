// Redocly's OpenAPI linter (a dev dependency) with its recommended rules, on a document.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REDOCLY = path.join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'redocly');

/** What the linter says is wrong with the document (errors and warnings), or ''. */
export function redoclyLint(document: object): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-openapi-'));
  try {
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(document));
    const run = spawnSync(REDOCLY, ['lint', '--format=summary', file], { encoding: 'utf8' });
    if (run.error) throw run.error;
    const said = `${run.stdout}${run.stderr}`;
    const report = said.slice(said.indexOf('validating')); // past the banner
    return run.status === 0 && !/\d+ warnings?/.test(report) ? '' : report;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
