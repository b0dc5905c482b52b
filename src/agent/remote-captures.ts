// Captures of a port bound on another host, over the overlay. The asking host sends the port's
// host a request in VXLAN on CAPTURE_REQUEST_KEY (JSON: its capture's id, the port, the way,
// drops, the match) once a second while the capture runs, and one saying stop when it ends; the
// port's host captures there and sends each copy back to the asker on COPY_KEYS.first + the
// id. A capture not asked for again within EXPIRY_MS ends by itself (the asker died). Only
// registered hosts' datagrams are read (the tunnel's peers), as for flow state.
import { CAPTURE_REQUEST_KEY, CapturedFrame, COPY_KEYS, encodeCopy, Transmission } from '../datapath';
import { FlowMatchError } from '../flow';
import { VNET_HEADER_BYTES } from '../packet';
import type { Logger } from 'pino';
import type { CaptureRequest, PortCaptures } from './port-captures';

const ASK_EVERY_MS = 1000;
const EXPIRY_MS = 3500;
const DIRECTIONS = new Set(['in', 'out', 'both']);

interface Asked {
  id: number;
  /** The virtual port's id. */
  port: string;
  direction: CaptureRequest['direction'];
  drops: boolean;
  match: string;
  stop?: boolean;
}

export interface RemoteCaptureHost {
  readonly captures: PortCaptures;
  transmit(frames: Transmission[]): void;
  /** The datapath port a virtual port is bound to here, or undefined. */
  boundHere(port: string): number | undefined;
}

export class RemoteCaptures {
  /** Captures this host runs for others: `from/id` -> its stop and when it was last asked for. */
  private readonly serving = new Map<string, { stop: () => void; askedAt: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly host: RemoteCaptureHost, private readonly logger: Logger) {}

  /** Asks `remote` (an underlay address) to capture its port `port`; copies go to `onFrames`.
   *  The function returned stops it. */
  ask(remote: string, port: string, request: Omit<CaptureRequest, 'port'>, onFrames: (frames: CapturedFrame[]) => void): () => void {
    const { id, release } = this.host.captures.reserve(onFrames);
    const asked: Asked = { id, port, direction: request.direction, drops: request.drops, match: request.match };
    const send = (body: Asked) => {
      const json = new TextEncoder().encode(JSON.stringify(body));
      const frame = new Uint8Array(VNET_HEADER_BYTES + json.length);
      frame.set(json, VNET_HEADER_BYTES);
      this.host.transmit([{ frame, actions: [{ type: 'tunnel', key: CAPTURE_REQUEST_KEY, remote }] }]);
    };
    send(asked);
    const again = setInterval(() => send(asked), ASK_EVERY_MS);
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      clearInterval(again);
      send({ ...asked, stop: true });
      release();
    };
  }

  /** A request from another host (`from`: its underlay address as a number). */
  requested(from: number, bytes: Uint8Array): void {
    const remote = [from >>> 24, (from >>> 16) & 0xff, (from >>> 8) & 0xff, from & 0xff].join('.');
    const asked = parse(bytes);
    if (!asked) return this.logger.warn({ from: remote }, 'capture: a request that does not parse, ignored');
    const name = `${remote}/${asked.id}`;
    const known = this.serving.get(name);
    if (asked.stop) {
      if (!known) return;
      known.stop();
      this.serving.delete(name);
      this.logger.info({ from: remote, port: asked.port }, 'capture: the asking host stopped it');
      return this.idle();
    }
    if (known) {
      known.askedAt = Date.now();
      return;
    }
    const number = this.host.boundHere(asked.port);
    if (number === undefined) return this.logger.warn({ from: remote, port: asked.port }, 'capture: asked for a port not bound here, ignored');
    try {
      const key = COPY_KEYS.first + asked.id;
      const stop = this.host.captures.start({ port: number, direction: asked.direction, drops: asked.drops, match: asked.match }, (frames) => {
        this.host.transmit(frames.map((f) => ({ frame: encodeCopy(f), actions: [{ type: 'tunnel', key, remote }] })));
      });
      this.serving.set(name, { stop, askedAt: Date.now() });
      this.logger.info({ from: remote, port: asked.port, direction: asked.direction }, 'capture: copying a port to another host');
      this.timer ??= setInterval(() => this.expire(), ASK_EVERY_MS);
    } catch (error) {
      if (!(error instanceof FlowMatchError)) throw error;
      this.logger.warn({ from: remote, err: error }, 'capture: a request with a match that does not parse, ignored');
    }
  }

  stop(): void {
    for (const s of this.serving.values()) s.stop();
    this.serving.clear();
    this.idle();
  }

  private expire(): void {
    const now = Date.now();
    for (const [name, s] of this.serving) {
      if (now - s.askedAt <= EXPIRY_MS) continue;
      s.stop();
      this.serving.delete(name);
      this.logger.info({ capture: name }, 'capture: not asked for again: ended');
    }
    this.idle();
  }

  private idle(): void {
    if (this.serving.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}

function parse(bytes: Uint8Array): Asked | null {
  try {
    const a = JSON.parse(new TextDecoder().decode(bytes)) as Asked;
    const ok = Number.isInteger(a.id) && a.id > 0 && a.id < COPY_KEYS.count && typeof a.port === 'string' && DIRECTIONS.has(a.direction)
      && typeof a.drops === 'boolean' && typeof a.match === 'string' && a.match.length <= 256;
    return ok ? a : null;
  } catch {
    return null;
  }
}
