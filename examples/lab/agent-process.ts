// Starts the real `vswitch agent` in a lab namespace and talks to it over its control socket.
import fs from 'node:fs';
import path from 'node:path';
import { ControlClient } from '../../src/cli/client';
import type { PortInfo, SwitchStats } from '../../src/agent';
import type { Lab } from './namespaces';

export const VSWITCH = path.join(__dirname, '..', '..', '..', 'bin', 'vswitch');
const START_BOUND_MS = 60_000;

export interface RunningAgent {
  client: ControlClient;
  /** The tenant API with the admin token (on a unix socket in the agent's state directory). */
  api: ControlClient;
  stateDir: string;
  /** The agent process (ip netns exec replaces itself with it). */
  pid: number;
  socket: string;
  log: () => string;
  ports(): Promise<PortInfo[]>;
  port(name: string): Promise<PortInfo>;
  stats(): Promise<SwitchStats>;
}

/** Starts an agent in namespace `ns` (null: the machine's own, for an agent with no ports whose
 *  API a browser reaches on loopback); `stateDir` reuses another agent's state (a restart), else
 *  it gets its own. An `--api` in `args` is where the returned `api` calls. `vswitch` is the
 *  command, this checkout's by default (a benchmark may run another's beside it). */
export async function startAgent(lab: Lab, ns: string | null, args: string[] = [], stateDir = lab.directory(`${path.basename(ns ?? 'own')}-state`), vswitch = VSWITCH): Promise<RunningAgent> {
  // In a lab directory, so that it goes with the lab even when the agent was killed.
  const socket = path.join(lab.directory('sockets'), `${path.basename(stateDir)}.sock`);
  const apiSocket = path.join(stateDir, 'api.sock');
  const child = lab.spawn(ns, process.execPath, [vswitch, 'agent', '--socket', socket, '--log-level', 'info', '--state-dir', stateDir, '--api', apiSocket, ...args]);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  const client = new ControlClient(socket);
  // Until it answers or exits; the bound is for an agent that hangs (a loaded machine took over
  // 5 s to start three at once beside a QEMU guest).
  const end = Date.now() + START_BOUND_MS;
  for (;;) {
    try {
      await client.request('GET', '/health');
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > end) throw new Error(`agent did not start: ${(error as Error).message}\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const apiAt = args.lastIndexOf('--api');
  const api = new ControlClient(apiAt >= 0 ? args[apiAt + 1] : apiSocket, fs.readFileSync(path.join(stateDir, 'admin-token'), 'utf8').trim());
  return {
    client,
    api,
    stateDir,
    pid: child.pid!,
    socket,
    log: () => output,
    ports: () => client.request<PortInfo[]>('GET', '/ports'),
    port: (name) => client.request<PortInfo>('GET', `/ports/${name}`),
    stats: () => client.request<SwitchStats>('GET', '/stats'),
  };
}

/** Whether process `pid` has gone (or is a zombie its parent has not reaped yet). */
export function processGone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** A process's resident memory, in MB. */
export function residentMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** How long a test waits for a condition before it fails: a bound for what never happens, not
 *  a timing (a loaded machine is slow, not wrong; how fast is for the benchmarks). */
export const WAIT_MS = 30_000;

/** Polls until `check` holds or the time is up; returns whether it held. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}
