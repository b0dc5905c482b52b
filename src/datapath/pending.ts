// Flows waiting for the slow path. A flow's first frame starts an upcall; its later frames
// queue behind it (bounded per flow and in all, the excess counted as drops) and leave in
// order once the flow is installed. Upcalls leave in one message per receive batch.
// Once the queue is half full, a port that holds a quarter of it (or one flow's bound, if more)
// queues no more: a port that
// sprays new flows (a MAC flood, a scan) leaves room for the others' upcalls, as OVS's
// per-port upcall handling does.
import { KEY_WORDS, KeyWord } from '../flow/key';
import { FrameBatch, packFrames } from './messages';

export interface PendingFlow {
  key: Uint32Array;
  hash: number;
  frames: Uint8Array[];
  /** FIN and RST bits of its frames after the first (which the slow path reads itself). */
  closing: number;
}

export interface UpcallBatch {
  batch: number;
  keys: Uint32Array;
  /** Each flow's first frame. */
  frames: FrameBatch;
}

export class PendingFlows {
  private readonly byHash = new Map<number, PendingFlow[]>();
  private outgoing: PendingFlow[] = [];
  private readonly sent = new Map<number, { flows: PendingFlow[]; sentAt: number }>();
  private nextBatch = 1;
  private queued = 0;
  private readonly queuedByPort = new Map<number, number>();

  constructor(private readonly maxPerFlow: number, private readonly maxFrames: number) {}

  get queuedFrames(): number {
    return this.queued;
  }

  /** Upcall batches sent and not answered yet. */
  get inFlight(): number {
    return this.sent.size;
  }

  /** Flows waiting to be sent up. */
  get waiting(): number {
    return this.outgoing.length;
  }

  /** Whether a flow with this key already waits (a frame of it starts no new upcall). */
  has(key: Uint32Array, at: number, hash: number): boolean {
    return this.find(key, at, hash) !== undefined;
  }

  /** Queues a copy of the frame behind its flow's upcall; false when it must be dropped. */
  add(key: Uint32Array, at: number, hash: number, arena: Uint8Array, frameAt: number, length: number, closing = 0): boolean {
    let flow = this.find(key, at, hash);
    if (flow && flow.frames.length >= this.maxPerFlow) return false;
    if (this.queued >= this.maxFrames) return false;
    const port = key[at + KeyWord.inPortVlan] >>> 16;
    const byPort = this.queuedByPort.get(port) ?? 0;
    if (this.queued >= this.maxFrames >> 1 && byPort >= Math.max(this.maxPerFlow, this.maxFrames >> 2)) return false;
    if (!flow) {
      flow = { key: key.slice(at, at + KEY_WORDS), hash, frames: [], closing: 0 };
      const same = this.byHash.get(hash);
      if (same) same.push(flow);
      else this.byHash.set(hash, [flow]);
      this.outgoing.push(flow);
    }
    if (flow.frames.length > 0) flow.closing |= closing;
    flow.frames.push(arena.slice(frameAt, frameAt + length));
    this.queued++;
    this.queuedByPort.set(port, byPort + 1);
    return true;
  }

  /** The upcalls started since the last call, as one message body, or null. */
  takeBatch(now: number): UpcallBatch | null {
    if (this.outgoing.length === 0) return null;
    const flows = this.outgoing;
    this.outgoing = [];
    const batch = this.nextBatch++;
    this.sent.set(batch, { flows, sentAt: now });
    const keys = new Uint32Array(flows.length * KEY_WORDS);
    flows.forEach((f, i) => keys.set(f.key, i * KEY_WORDS));
    return { batch, keys, frames: packFrames(flows.map((f) => f.frames[0])) };
  }

  /** The flows of an answered batch, in upcall order; their frames are no longer queued. */
  complete(batch: number): PendingFlow[] {
    const entry = this.sent.get(batch);
    if (!entry) return [];
    this.sent.delete(batch);
    for (const flow of entry.flows) {
      const same = this.byHash.get(flow.hash)!;
      same.splice(same.indexOf(flow), 1);
      if (same.length === 0) this.byHash.delete(flow.hash);
      this.queued -= flow.frames.length;
      const port = flow.key[KeyWord.inPortVlan] >>> 16;
      const left = this.queuedByPort.get(port)! - flow.frames.length;
      if (left > 0) this.queuedByPort.set(port, left);
      else this.queuedByPort.delete(port);
    }
    return entry.flows;
  }

  /** Batches unanswered for longer than `timeoutMs`. */
  overdue(now: number, timeoutMs: number): number[] {
    const late: number[] = [];
    for (const [batch, entry] of this.sent) if (now - entry.sentAt > timeoutMs) late.push(batch);
    return late;
  }

  private find(key: Uint32Array, at: number, hash: number): PendingFlow | undefined {
    const same = this.byHash.get(hash);
    if (!same) return undefined;
    for (const flow of same) {
      let w = 0;
      while (w < KEY_WORDS && flow.key[w] === key[at + w]) w++;
      if (w === KEY_WORDS) return flow;
    }
    return undefined;
  }
}
