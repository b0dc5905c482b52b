// Flows the cache does not know, asked of the slow path. A flow's frames wait behind its upcall
// (pending.ts). Upcalls go in batches: while enough are out, new ones wait to grow, so a flood
// of new flows makes fewer and larger messages, and a quiet host no delay. An answer installs
// its flows in the cache, except one worked out before a tag it depends on was invalidated, and
// the frames that waited are sent as it says.
import type { ActionTable } from '../flow/actions';
import { dropCode } from '../flow/actions';
import type { FlowCache } from '../flow/cache';
import { hashKey, KEY_WORDS, KeyWord } from '../flow/key';
import { connectionTag } from '../flow/tags';
import { VNET_HEADER_BYTES } from '../packet/vnet-header';
import type { ConnectionSegments } from './connection-segments';
import { CacheCounter, DatapathCounters } from './counters';
import { FLOW_FIELDS } from './messages';
import type { FromDatapath, SlowPathAnswers } from './messages';
import { PendingFlows } from './pending';

/** Upcall batches out at once before new ones wait to grow to UPCALL_BATCH_GROWN flows. */
const UPCALLS_IN_FLIGHT = 2;
const UPCALL_BATCH_GROWN = 256;
/** Tags whose last invalidation is remembered. */
const INVALIDATION_MEMORY = 16384;

const QUEUE_FULL = dropCode('queueFull');
const SLOW_PATH_FAILED = dropCode('slowPathFailed');

/** What the upcalls need of the datapath. */
export interface UpcallContext {
  /** Runs program `actionId` on a frame held outside the arena, which came in on `inPort`. */
  execute(frame: Uint8Array, actionId: number, inPort: number): void;
  /** A drop counted against `port`. */
  dropAt(port: number, reasonCode: number): void;
  /** Sends everything queued. */
  flush(): void;
  send(message: FromDatapath): void;
}

export class Upcalls {
  /** Frames waiting for their flow's answer. */
  readonly pending: PendingFlows;
  /** Tag -> generation of its last invalidation: an answer computed before it is stale. */
  private readonly invalidatedAt = new Map<string, number>();
  /** Called once no frame waits for the slow path, after whenSettled. */
  private onSettled: (() => void) | null = null;

  constructor(
    limits: { maxPerFlow: number; maxFrames: number },
    private readonly cache: FlowCache,
    private readonly actionTable: ActionTable,
    private readonly segments: ConnectionSegments,
    private readonly counters: DatapathCounters,
    private readonly context: UpcallContext,
  ) {
    this.pending = new PendingFlows(limits.maxPerFlow, limits.maxFrames);
  }

  /** Sends the flows waiting for the slow path, unless enough batches are out and these few. */
  send(now: number): void {
    if (this.pending.inFlight >= UPCALLS_IN_FLIGHT && this.pending.waiting < UPCALL_BATCH_GROWN) return;
    const batch = this.pending.takeBatch(now);
    if (!batch) return;
    this.counters.values[this.counters.cacheIndex(CacheCounter.upcalls)] += batch.keys.length / KEY_WORDS;
    this.context.send({ type: 'upcall', ...batch });
  }

  /** Installs the slow path's answers and releases the frames that waited for them. A flow
   *  the slow path answers itself is not installed: it saw the first frame, the others go up
   *  again. Flows it set up ahead go in first, before what they answer is sent. */
  install(batch: number, generation: number, answers: SlowPathAnswers, now: number): void {
    const actionIds = answers.actionLists.map((actions) => this.actionTable.intern(actions));
    const staleSets = answers.tagSets.map((tags) => tags.some((tag) => (this.invalidatedAt.get(tag) ?? -1) > generation));
    const stale = (tagSet: number, connection: number) => staleSets[tagSet] || (connection >= 0 && (this.invalidatedAt.get(connectionTag(connection)) ?? -1) > generation);
    const keys = answers.predictedKeys;
    for (let i = 0, at = 0; at < keys.length; i++, at += KEY_WORDS) {
      const [list, tagSet, tell, connection] = answers.predicted.subarray(i * FLOW_FIELDS, (i + 1) * FLOW_FIELDS);
      const hash = hashKey(keys, at);
      if (stale(tagSet, connection) || this.cache.find(keys, at, hash) >= 0) continue;
      this.cache.insert(keys, at, hash, actionIds[list], answers.tagSets[tagSet], now, connection, tell);
    }
    this.pending.complete(batch).forEach((flow, i) => {
      const inPort = flow.key[KeyWord.inPortVlan] >>> 16;
      const actionId = actionIds[answers.flows[i * FLOW_FIELDS]];
      const tagSet = answers.flows[i * FLOW_FIELDS + 1];
      const connection = answers.flows[i * FLOW_FIELDS + 3];
      if (answers.flows[i * FLOW_FIELDS + 2] === 0) {
        if (answers.actionLists[answers.flows[i * FLOW_FIELDS]].length > 0) this.context.execute(flow.frames[0], actionId, inPort);
        for (const frame of flow.frames.slice(1)) {
          if (!this.pending.add(flow.key, 0, flow.hash, frame, 0, frame.length)) this.context.dropAt(inPort, QUEUE_FULL);
        }
        return;
      }
      if (flow.closing !== 0) this.segments.queued(connection, flow.closing);
      if (!stale(tagSet, connection) && this.cache.find(flow.key, 0, flow.hash) < 0) {
        const id = this.cache.insert(flow.key, 0, flow.hash, actionId, answers.tagSets[tagSet], now, connection);
        for (const frame of flow.frames) {
          this.cache.packets[id]++;
          this.cache.bytes[id] += frame.length - VNET_HEADER_BYTES;
        }
      }
      for (const frame of flow.frames) this.context.execute(frame, actionId, inPort);
    });
    this.context.flush();
    for (const id of actionIds) this.actionTable.release(id);
    this.send(now);
    this.checkSettled();
  }

  /** The slow path failed this batch: its frames are dropped, and the next frame retries. */
  fail(batch: number, now: number): void {
    for (const flow of this.pending.complete(batch)) this.counters.values[this.counters.dropIndex(SLOW_PATH_FAILED)] += flow.frames.length;
    this.send(now);
    this.checkSettled();
  }

  /** Fails the batches unanswered for longer than `timeoutMs`. */
  failOverdue(now: number, timeoutMs: number): void {
    for (const batch of this.pending.overdue(now, timeoutMs)) this.fail(batch, now);
  }

  /** The tags changed at `generation`: their flows go, and answers computed before are stale.
   *  How many flows went. */
  invalidate(generation: number, tags: readonly string[]): number {
    let removed = 0;
    for (const tag of tags) {
      this.invalidatedAt.delete(tag);
      this.invalidatedAt.set(tag, generation);
      removed += this.cache.invalidate(tag);
    }
    for (const oldest of this.invalidatedAt.keys()) {
      if (this.invalidatedAt.size <= INVALIDATION_MEMORY) break;
      this.invalidatedAt.delete(oldest);
    }
    return removed;
  }

  /** Calls `settled` once no frame waits for the slow path (now, if none does). */
  whenSettled(settled: () => void): void {
    this.onSettled = settled;
    this.checkSettled();
  }

  private checkSettled(): void {
    if (!this.onSettled || this.pending.queuedFrames > 0 || this.pending.inFlight > 0 || this.pending.waiting > 0) return;
    this.onSettled();
    this.onSettled = () => undefined; // told once
  }
}
