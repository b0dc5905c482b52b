// A planned restart or upgrade without loss (`vswitch agent --takeover`): the new agent starts
// its threads, then asks the running one, on its control socket, to hand over. The running one
// stops reading its ports and tunnel between two batches, stops writing to the store and closes
// it, and gives the ports' open descriptors and its connection table to the new one over a
// unix socket (SCM_RIGHTS); then it exits without leaving (its host stays alive in the store,
// its NAT blocks stay its host's). The new agent opens the store and attaches its ports, each
// taking its descriptor from what it was given instead of opening it: the frames the kernel
// queued on them meanwhile are read by the new agent. It listens where the old one did once
// that one is gone. docs/RELIABILITY.md has more.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { native, PortKind } from '../datapath';
import { SwitchError } from './errors';

/** What a switch gives its successor: each port's descriptor and what it is, the tunnel's,
 *  and the connections it tracks (so that security groups, NAT and load balancers carry on
 *  with the connections open through them). */
export interface HandedOver {
  ports: { name: string; kind: PortKind; vnetHdr: boolean; fd: number }[];
  tunnel: number | null;
  connections: Uint8Array;
  /** What it dropped in handing over, by reason: frames held for arriving guests, or waiting
   *  for their device, which the ports took with them. Its counters end with it: the
   *  successor's count them on. */
  dropped: Record<string, number>;
}

/** Where the connection table goes, in the (private) state directory both agents share. */
const connectionsFile = (stateDir: string) => path.join(stateDir, 'handover-connections');

/** A packet socket's receive ring, as its new reader maps it: its size, and the slot to read next. */
type Ring = { slots: number; head: number };

/** The text that travels with the descriptors: the ports in the order of theirs, the tunnel's last.
 *  A packet socket's ring is absent from an agent that read packet sockets without one. */
interface Description {
  ports: { name: string; kind: PortKind; vnetHdr: boolean; ring?: Ring }[];
  tunnel: boolean;
  /** Absent from an older agent. */
  dropped?: Record<string, number>;
}

/** The old agent's side: gives `handed` to the listener at `socket`. */
export function giveTo(socket: string, handed: HandedOver, stateDir: string): void {
  fs.writeFileSync(connectionsFile(stateDir), handed.connections, { mode: 0o600 });
  const ports = handed.ports.map(({ name, kind, vnetHdr, fd }) => {
    const ring = native.ringOf(fd);
    return { name, kind, vnetHdr, ...(ring ? { ring } : {}) };
  });
  const description: Description = { ports, tunnel: handed.tunnel !== null, dropped: handed.dropped };
  native.sendHandover(socket, [...handed.ports.map((p) => p.fd), ...(handed.tunnel !== null ? [handed.tunnel] : [])], JSON.stringify(description));
}

/** Descriptors a new agent was given, taken by the ports it attaches as it starts. */
export class InheritedDescriptors {
  private readonly ports = new Map<string, { kind: PortKind; vnetHdr: boolean; fd: number; ring?: Ring }>();
  private tunnel: number | undefined;
  /** What the old agent dropped in handing over, by reason (HandedOver.dropped). */
  readonly dropped: Record<string, number>;

  /** `connections`: the old agent's connection table, as ConnTable.copy gave it. */
  constructor(fds: readonly number[], description: Description, readonly connections: Uint8Array | null) {
    this.dropped = description.dropped ?? {};
    description.ports.forEach((p, i) => this.ports.set(p.name, { kind: p.kind, vnetHdr: p.vnetHdr, fd: fds[i], ...(p.ring ? { ring: p.ring } : {}) }));
    if (description.tunnel) this.tunnel = fds[description.ports.length];
  }

  get count(): number {
    return this.ports.size + (this.tunnel === undefined ? 0 : 1);
  }

  /** The descriptor of interface `name` opened as `kind` with or without vnet headers, once;
   *  with the slots of its receive ring, which it keeps, if it has one. */
  take(name: string, kind: PortKind, vnetHdr: boolean): { fd: number; ringSlots?: number } | undefined {
    const port = this.ports.get(name);
    if (!port || port.kind !== kind || port.vnetHdr !== vnetHdr) return undefined;
    this.ports.delete(name);
    if (!port.ring) return { fd: port.fd };
    native.adoptRing(port.fd, port.ring.slots, port.ring.head);
    return { fd: port.fd, ringSlots: port.ring.slots };
  }

  takeTunnel(): number | undefined {
    const fd = this.tunnel;
    this.tunnel = undefined;
    return fd;
  }

  /** Closes what no port took (a binding deleted meanwhile); returns their names. */
  closeUntaken(): string[] {
    const names = [...this.ports.keys()];
    for (const { fd } of this.ports.values()) native.close(fd);
    this.ports.clear();
    if (this.takeTunnel() !== undefined) names.push('vxlan');
    return names;
  }
}

/** How long the old agent may take to hand over and exit. */
const HANDOVER_BOUND_MS = 30_000;

/** What a takeover gave, and when the old agent has gone. */
export interface Handover {
  inherited: InheritedDescriptors;
  gone: Promise<void>;
}

/** The new agent's side: asks the agent on `controlSocket` to hand over to a listener in
 *  `stateDir`, and receives what it gives. Null when no agent answers there: there is nothing
 *  to take over, and the agent starts as usual. */
export async function takeOver(controlSocket: string, stateDir: string, logger: Logger): Promise<Handover | null> {
  const at = path.join(stateDir, 'handover.sock');
  fs.rmSync(at, { force: true });
  const listener = native.listenHandover(at);
  try {
    const answer = ask(controlSocket, { socket: at });
    // Received while the old agent sends: what it gives may be more than a socket buffer holds.
    let given: { fds: number[]; text: string } | null = null;
    const receiving = setInterval(() => {
      try {
        given ??= native.receiveHandover(listener);
      } catch (error) {
        logger.error({ err: error }, 'takeover: receiving the descriptors failed');
      }
    }, 2);
    let old: { pid: number };
    try {
      old = await answer;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        logger.info({ socket: controlSocket }, 'takeover: no agent runs on the control socket: starting as usual');
        return null;
      }
      throw error;
    } finally {
      clearInterval(receiving);
    }
    given ??= native.receiveHandover(listener);
    if (!given) throw new SwitchError('TAKEOVER_FAILED', 'the running agent answered but handed nothing over', 500);
    const inherited = new InheritedDescriptors(given.fds, JSON.parse(given.text) as Description, takeConnections(stateDir, logger));
    logger.info({ descriptors: inherited.count, pid: old.pid }, 'takeover: descriptors received');
    const gone = exited(old.pid);
    gone.catch(() => undefined); // awaited later, once the new agent is ready to listen
    return { inherited, gone };
  } finally {
    native.close(listener);
    fs.rmSync(at, { force: true });
  }
}

/** The old agent's connection table, once: null when it left none (an older agent). */
function takeConnections(stateDir: string, logger: Logger): Uint8Array | null {
  try {
    const bytes = fs.readFileSync(connectionsFile(stateDir));
    fs.rmSync(connectionsFile(stateDir));
    return bytes;
  } catch (error) {
    logger.warn({ err: error }, 'takeover: the old agent left no connection table: connections are tracked anew');
    return null;
  }
}

/** POST /takeover to the running agent's control socket: its answer, or its refusal as an error. */
function ask(socketPath: string, body: object): Promise<{ pid: number }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath, method: 'POST', path: '/takeover', headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        const parsed = JSON.parse(text || '{}');
        if ((response.statusCode ?? 500) >= 400) reject(new SwitchError('TAKEOVER_REFUSED', `the running agent refused to hand over: ${parsed.error?.message ?? text}`, 409));
        else resolve(parsed as { pid: number });
      });
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** Once the old agent's process has gone (or is a zombie its parent has not reaped yet). */
async function exited(pid: number): Promise<void> {
  const alive = () => {
    try {
      return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (const end = Date.now() + HANDOVER_BOUND_MS; alive(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new SwitchError('TAKEOVER_FAILED', `the old agent (pid ${pid}) handed over but did not exit within ${HANDOVER_BOUND_MS / 1000} s`, 500);
  }
}
