// A private network lab: network namespaces and processes whose names are unique to the run,
// removed by cleanup() even when the run fails (and at process exit as a last resort).
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const live = new Set<Lab>();

process.on('exit', () => {
  for (const lab of live) lab.cleanupNow();
});
// Stopped by a signal (a benchmark interrupted, a timeout's kill), a process never reaches
// 'exit': clean up, then die of the same signal as it would have, unless the program has its
// own handler for it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const lab of live) lab.cleanupNow();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

export class Lab {
  /** Short, so that names built on it stay within interface-name limits. */
  readonly id = 'vt' + randomBytes(3).toString('hex');
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];
  private readonly directories: string[] = [];

  constructor() {
    live.add(this);
  }

  async namespace(role: string): Promise<string> {
    const name = `${this.id}-${role}`;
    await run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await this.ip(name, 'link', 'set', 'lo', 'up');
    return name;
  }

  /** A fresh directory for the run (an agent's state), removed at cleanup. */
  directory(role: string): string {
    const dir = path.join(os.tmpdir(), `${this.id}-${role}`);
    fs.mkdirSync(dir, { recursive: true });
    this.directories.push(dir);
    return dir;
  }

  /** A veth pair with one end in each namespace, both up. */
  async veth(nsA: string, nameA: string, nsB: string, nameB: string): Promise<void> {
    await run('ip', ['link', 'add', nameA, 'netns', nsA, 'type', 'veth', 'peer', nameB, 'netns', nsB]);
    await this.ip(nsA, 'link', 'set', nameA, 'up');
    await this.ip(nsB, 'link', 'set', nameB, 'up');
  }

  ip(ns: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['-n', ns, ...args]);
  }

  /** Runs a command in a namespace to its end; rejects on a non-zero exit. */
  exec(ns: string, command: string, args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', ns, command, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  }

  /** Starts a long-running process in a namespace (or, with `null`, in this one, for services
   *  on loopback); it is killed (by its PID) at cleanup. With `stdin`, its standard input is a
   *  pipe (for a process that runs until that closes). */
  spawn(ns: string | null, command: string, args: string[], options: { stdin?: boolean } = {}): ChildProcess {
    const stdio: ('ignore' | 'pipe')[] = [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    const child = ns === null ? spawn(command, args, { stdio }) : spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio });
    this.processes.push(child);
    return child;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.processes.map(stop));
    for (const ns of this.namespaces.splice(0)) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    for (const dir of this.directories.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    live.delete(this);
  }

  cleanupNow(): void {
    for (const child of this.processes) if (child.exitCode === null && child.pid) child.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    for (const dir of this.directories.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
