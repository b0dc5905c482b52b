// Packet capture on ports (`vswitch capture`): copies of what a port receives from its VM and
// what is sent to it, one way or both, those a flow match selects, and of the frames the
// datapath drops on it with the reason; handed to the agent in batches, a batch per receive
// round. A datapath with no capture running tests one boolean per frame.
import { describeKey, FlowKeyExtractor, KEY_WORDS } from '../flow/key';
import { FlowMatch, parseFlowMatch } from '../flow/match';
import { VNET_HEADER_BYTES } from '../packet/vnet-header';

export interface CaptureSpec {
  id: number;
  port: number;
  direction: 'in' | 'out' | 'both';
  /** Frames dropped on the port, with their reason, too. */
  drops: boolean;
  /** A flow match (OVS syntax, as mirrors take): only what it selects; '' for everything. */
  match: string;
}

/** Which way a captured frame went: received by the port, sent to it, or dropped. */
export const CapturedWay = { in: 0, out: 1, dropped: 2 } as const;

export interface CapturedFrame {
  capture: number;
  way: number;
  /** The drop reason's code, for a dropped frame. */
  reason: number;
  /** Milliseconds since the Unix epoch, with fractions. */
  time: number;
  /** The frame, without its vnet header. */
  bytes: Uint8Array;
}

/** Captures of a port on another host come over the overlay (remote-captures.ts): the asking
 *  host's request in VXLAN on CAPTURE_REQUEST_KEY, each copy back on COPY_KEYS.first + the
 *  capture's id, behind a shim: its way, its drop reason, two bytes of zeros, then its time in
 *  microseconds (two 32-bit words, big-endian). No port has these keys. */
export const CAPTURE_REQUEST_KEY = 0xfffffe;
export const COPY_KEYS = { first: 0xfe0000, count: 0x10000 } as const;
const SHIM_BYTES = 12;

/** A copy as it crosses the overlay (vnet header first, zeros: nothing for the sender to finish). */
export function encodeCopy(f: CapturedFrame): Uint8Array {
  const out = new Uint8Array(VNET_HEADER_BYTES + SHIM_BYTES + f.bytes.length);
  const v = new DataView(out.buffer, VNET_HEADER_BYTES);
  const us = Math.round(f.time * 1000);
  v.setUint8(0, f.way);
  v.setUint8(1, f.reason);
  v.setUint32(4, Math.floor(us / 2 ** 32));
  v.setUint32(8, us % 2 ** 32);
  out.set(f.bytes, VNET_HEADER_BYTES + SHIM_BYTES);
  return out;
}

/** Frames kept between hand-overs: past this, a capture misses frames rather than holding the datapath's memory. */
const MAX_WAITING = 4096;

interface Session {
  spec: CaptureSpec;
  match: FlowMatch | null;
}

export class Captures {
  /** Whether any capture runs (the fast path's only test). */
  active = false;
  private readonly byPort = new Map<number, Session[]>();
  private waiting: CapturedFrame[] = [];
  private readonly extractor = new FlowKeyExtractor();
  private readonly key = new Uint32Array(KEY_WORDS);
  /** Frames a full hand-over could not take. */
  missed = 0;

  /** Throws FlowMatchError for a match that does not parse. */
  start(spec: CaptureSpec): void {
    const session = { spec, match: spec.match ? parseFlowMatch(spec.match) : null };
    this.byPort.set(spec.port, [...(this.byPort.get(spec.port) ?? []), session]);
    this.active = true;
  }

  stop(id: number): void {
    for (const [port, sessions] of this.byPort) {
      const left = sessions.filter((s) => s.spec.id !== id);
      if (left.length > 0) this.byPort.set(port, left);
      else this.byPort.delete(port);
    }
    this.active = this.byPort.size > 0;
  }

  /** A frame (vnet header at `at`) received on `port`. */
  received(port: number, arena: Uint8Array, at: number, length: number): void {
    this.copy(port, CapturedWay.in, 0, arena, at, length);
  }

  /** A frame (vnet header at `at`) sent to `port`. */
  sent(port: number, arena: Uint8Array, at: number, length: number): void {
    this.copy(port, CapturedWay.out, 0, arena, at, length);
  }

  /** A frame (vnet header at `at`) dropped on `port` for `reason`. */
  dropped(port: number, reason: number, arena: Uint8Array, at: number, length: number): void {
    this.copy(port, CapturedWay.dropped, reason, arena, at, length);
  }

  /** A copy from another host (VXLAN payload [at, end) on a copy key): handed over as this
   *  host's own are. False when it is too short to be one. */
  arrived(key: number, arena: Uint8Array, at: number, end: number): boolean {
    if (end - at < SHIM_BYTES + 14) return false;
    const v = new DataView(arena.buffer, arena.byteOffset + at, SHIM_BYTES);
    if (this.waiting.length >= MAX_WAITING) {
      this.missed++;
      return true;
    }
    const time = (v.getUint32(4) * 2 ** 32 + v.getUint32(8)) / 1000;
    this.waiting.push({ capture: key - COPY_KEYS.first, way: v.getUint8(0), reason: v.getUint8(1), time, bytes: arena.slice(at + SHIM_BYTES, end) });
    return true;
  }

  /** What was captured since the last call. */
  take(): CapturedFrame[] {
    const taken = this.waiting;
    this.waiting = [];
    return taken;
  }

  get pending(): boolean {
    return this.waiting.length > 0;
  }

  private copy(port: number, way: number, reason: number, arena: Uint8Array, at: number, length: number): void {
    const sessions = this.byPort.get(port);
    if (!sessions) return;
    const start = at + VNET_HEADER_BYTES;
    const end = at + length;
    let parsed = false;
    for (const { spec, match } of sessions) {
      if (way === CapturedWay.dropped ? !spec.drops : spec.direction !== 'both' && (spec.direction === 'in') !== (way === CapturedWay.in)) continue;
      if (match) {
        if (!parsed && !this.extractor.extract(arena, start, end, port, this.key, 0)) return;
        parsed = true;
        if (!match(describeKey(this.key, 0))) continue;
      }
      if (this.waiting.length >= MAX_WAITING) {
        this.missed++;
        continue;
      }
      this.waiting.push({ capture: spec.id, way, reason, time: performance.timeOrigin + performance.now(), bytes: arena.slice(start, end) });
    }
  }
}
