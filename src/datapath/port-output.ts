// Frames out of the datapath's ports, as the actions send them. A frame to a port over its
// receive limit waits its turn in the shaper. One to a port that holds (its guest arrives) or
// has a backlog waits there. One to a port that takes plain frames is finished in software (its
// checksum, its segments). The rest is queued on the port's send queue, and every queue with
// sends goes out at the end of the batch.
import { dropCode } from '../flow/actions';
import type { ActionExecutor } from '../flow/execute';
import type { Segmenter } from '../packet/segmentation';
import { completeChecksum, VNET_HEADER_BYTES, VnetGso } from '../packet/vnet-header';
import { BACKLOG_BATCH } from './backlog';
import type { Captures } from './capture';
import type { DatapathCounters } from './counters';
import { Meter, PortMeters } from './meters';
import type { FrameIo } from './native';
import type { Port } from './port';
import { countDropped, sendQueue } from './send-queue';
import { Shaper } from './shaper';
import { gather, TxQueue } from './tx-queue';
import type { Scheduler } from './worker-loop';

const PORT_DOWN = dropCode('portDown');
const OVERSIZE = dropCode('oversize');
const RATE_LIMITED = dropCode('rateLimited');
const OFFLOAD_UNSUPPORTED = dropCode('offloadUnsupported');
const NO_BUFFER = dropCode('noBuffer');

/** How far a device took frames sent until it refused one: how many of them are done with, and
 *  when it took the next one in part (a frame cut into segments for a port without vnet
 *  headers), the segments it did not take, each a frame of its own (vnet header first). */
export interface SentUntilRefused {
  taken: number;
  rest: Uint8Array[] | null;
}

/** What the output needs of the datapath. */
export interface OutputContext {
  /** The clock (ms) held frames are stamped with. */
  now(): number;
  /** A drop of the frame being forwarded, counted against its in-port. */
  drop(reasonCode: number): void;
  /** A drop counted against the port a frame was sent to. */
  dropAt(port: number, reasonCode: number): void;
  /** Sends everything the batch queued (these queues among it) and frees the scratch space. */
  flush(): void;
  /** The port's device failed with `errno`: it is neither read nor written again. */
  fail(port: Port, errno: number): void;
}

export class PortOutput {
  /** Ports with sends queued in this batch. */
  private readonly dirty: Port[] = [];
  /** Per frame of a backlog being tried: the port's sends queued up to it and with it. */
  private readonly backlogSends = new Uint32Array(BACKLOG_BATCH);
  private readonly shaper: Shaper;

  constructor(
    /** The datapath's ports by number, as it has them now (read per frame: no call). */
    private readonly ports: readonly (Port | undefined)[],
    private readonly context: OutputContext,
    private readonly arena: Uint8Array,
    private readonly executor: ActionExecutor,
    private readonly segmenter: Segmenter,
    private readonly meters: PortMeters,
    private readonly captures: Captures,
    private readonly counters: DatapathCounters,
    private readonly io: FrameIo,
    timers: Scheduler,
  ) {
    this.shaper = new Shaper(timers);
  }

  /** A frame (vnet header at `at`) to port `number`. */
  output(number: number, arena: Uint8Array, at: number, length: number): void {
    const port = this.ports[number];
    if (port === undefined || !port.up) return this.context.drop(PORT_DOWN);
    if (this.meters.limits(number, Meter.toPort) && (this.shaper.waiting(number) || !this.meters.take(number, Meter.toPort, length - VNET_HEADER_BYTES))) {
      return this.shape(number, arena.slice(at, at + length));
    }
    this.deliver(port, arena, at, length);
  }

  /** A frame in pieces of the arena (a merged run, vnet header first) to a port with vnet headers. */
  outputPieces(number: number, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    const port = this.ports[number];
    if (port === undefined || !port.up) return this.context.drop(PORT_DOWN);
    if (this.meters.limits(number, Meter.toPort)) {
      let bytes = -VNET_HEADER_BYTES;
      for (let i = 0; i < count; i++) bytes += lengths[i];
      if (this.shaper.waiting(number) || !this.meters.take(number, Meter.toPort, bytes)) return this.shape(number, gather(this.arena, offsets, lengths, count));
    }
    if (this.captures.active) {
      const frame = gather(this.arena, offsets, lengths, count);
      this.captures.sent(number, frame, 0, frame.length);
    }
    if (port.held) return port.held.add(gather(this.arena, offsets, lengths, count), this.context.now());
    if (port.backlog) return port.backlog.add(gather(this.arena, offsets, lengths, count));
    const tx = this.startSend(port, count);
    for (let i = 0; i < count; i++) tx.piece(offsets[i], lengths[i]);
    this.endSend(port);
  }

  /** The port's queue with room for a send of up to `pieces` pieces, sending what it holds if
   *  need be; the send is built with piece() and queued with endSend. */
  startSend(port: Port, pieces: number): TxQueue {
    if (!port.tx.hasRoom(pieces)) this.sendPort(port);
    return port.tx;
  }

  endSend(port: Port): void {
    if (port.tx.sends === 0) this.dirty.push(port);
    port.tx.endSend();
  }

  drop(reasonCode: number): void {
    this.context.drop(reasonCode);
  }

  /** Sends every port's queued sends. */
  sendQueued(): void {
    for (let i = 0; i < this.dirty.length; i++) this.sendPort(this.dirty[i]);
    this.dirty.length = 0;
  }

  /** Sends `frames` to a port in order until its device refuses one for want of room (see
   *  SentUntilRefused). */
  sendUntilRefused(port: Port, frames: Uint8Array[]): SentUntilRefused {
    this.context.flush();
    let staged = 0;
    for (; staged < frames.length && port.tx.sends < BACKLOG_BATCH; staged++) {
      const at = this.executor.stage(frames[staged]);
      if (at < 0) break;
      this.enqueue(port, this.arena, at, frames[staged].length);
      this.backlogSends[staged] = port.tx.sends;
    }
    const done = sendQueue(this.io, this.arena, port, this.counters, true);
    let taken = 0;
    while (done >= 0 && taken < staged && this.backlogSends[taken] <= done) taken++;
    // The device took the first segments of the next frame: the others are what is left of it.
    const partFrom = taken === 0 ? 0 : this.backlogSends[taken - 1];
    const rest = done > partFrom && taken < staged ? port.tx.framesOf(this.arena, done, this.backlogSends[taken], VNET_HEADER_BYTES) : null;
    port.tx.clear();
    this.context.flush();
    if (done < 0) {
      this.context.fail(port, -done);
      return { taken: staged, rest: null };
    }
    return { taken, rest };
  }

  /** The port is gone: what waited in its shaper goes with it, counted as `reason`. */
  forget(number: number, reason = PORT_DOWN): void {
    countDropped(this.counters, number, this.shaper.forget(number), reason);
  }

  /** A frame to a port over its receive limit: it waits its turn in the shaper. */
  private shape(number: number, frame: Uint8Array): void {
    if (!this.shaper.hold(number, frame)) return this.context.dropAt(number, RATE_LIMITED);
    this.shaper.schedule(number, this.meters.waitMs(number, Meter.toPort, this.shaper.head(number)!.length - VNET_HEADER_BYTES), () => this.releaseShaped(number));
  }

  /** Sends the frames whose turn has come; the rest wait for the next refill. */
  private releaseShaped(number: number): void {
    const port = this.ports[number];
    if (port === undefined || !port.up) return this.forget(number);
    for (let frame = this.shaper.head(number); frame; frame = this.shaper.head(number)) {
      const wait = this.meters.waitMs(number, Meter.toPort, frame.length - VNET_HEADER_BYTES);
      if (wait > 0) {
        this.shaper.schedule(number, wait, () => this.releaseShaped(number));
        break;
      }
      this.meters.charge(number, Meter.toPort, frame.length - VNET_HEADER_BYTES);
      this.shaper.shift(number);
      let at = this.executor.stage(frame);
      if (at < 0) {
        this.context.flush();
        at = this.executor.stage(frame);
      }
      if (at < 0) this.context.dropAt(number, OVERSIZE);
      else this.deliver(port, this.arena, at, frame.length);
    }
    this.context.flush();
  }

  /** Out of a port, unless its frames wait (held, or behind a backlog). */
  private deliver(port: Port, arena: Uint8Array, at: number, length: number): void {
    if (this.captures.active) this.captures.sent(port.number, arena, at, length);
    if (port.held) return port.held.add(arena.slice(at, at + length), this.context.now());
    if (port.backlog) return port.backlog.add(arena.slice(at, at + length));
    this.enqueue(port, arena, at, length);
  }

  /** Queues a frame to a port: as it is to a port that takes vnet headers, finished in software
   *  otherwise. */
  private enqueue(port: Port, arena: Uint8Array, at: number, length: number): void {
    if (port.spec.vnetHdr) return this.queue(port, at, length);
    // This output takes plain frames: finish in software what the sender offloaded.
    if (arena[at + 1] === VnetGso.none) {
      completeChecksum(arena, at, at + length);
      return this.queue(port, at + VNET_HEADER_BYTES, length - VNET_HEADER_BYTES);
    }
    const bytes = this.segmenter.bytesNeeded(arena, at, at + length);
    if (bytes < 0) return this.context.drop(OFFLOAD_UNSUPPORTED);
    const out = this.executor.reserve(bytes);
    if (out < 0) return this.context.drop(NO_BUFFER);
    this.segmenter.segment(arena, at, at + length, arena, out, (headersAt, headersLength, payloadAt, payloadLength) => {
      const tx = this.startSend(port, 2);
      tx.piece(headersAt, headersLength);
      tx.piece(payloadAt, payloadLength);
      this.endSend(port);
    });
  }

  private queue(port: Port, at: number, length: number): void {
    this.startSend(port, 1).piece(at, length);
    this.endSend(port);
  }

  private sendPort(port: Port): void {
    if (port.tx.sends === 0) return;
    const done = sendQueue(this.io, this.arena, port, this.counters);
    if (done < 0) this.context.fail(port, -done);
    port.tx.clear();
  }
}
