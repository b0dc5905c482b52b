// What a port sends at the end of a batch. Each send is one or more pieces of the arena that
// the kernel gathers as it copies them in: a segment's headers written apart from its payload,
// or a merged run's payloads where they were received, go out without being copied together.
// The native sendBatch and sendToBatch take the three arrays as they are.

/** Sends per queue: the most one sendmmsg takes (native maxBatch). */
export const TX_SENDS = 256;
/** Pieces per queue (native kMaxPieces). A send has at most 1024 (the kernel's UIO_MAXIOV);
 *  the datapath's have at most 128 (a run of 64 datagrams, two pieces each). */
export const TX_PIECES = 8192;

export class TxQueue {
  readonly offsets = new Uint32Array(TX_PIECES);
  readonly lengths = new Uint32Array(TX_PIECES);
  /** Per send: how many pieces, and their bytes. */
  readonly pieces = new Uint32Array(TX_SENDS);
  readonly bytes = new Uint32Array(TX_SENDS);
  /** Sends queued; the one at this index is being built. */
  sends = 0;
  private used = 0;

  /** Whether a send of up to `pieces` pieces fits after what is queued. */
  hasRoom(pieces: number): boolean {
    return this.sends < TX_SENDS && this.used + pieces <= TX_PIECES;
  }

  /** Adds arena[at, at+length) to the send being built. */
  piece(at: number, length: number): void {
    this.offsets[this.used] = at;
    this.lengths[this.used++] = length;
    this.pieces[this.sends]++;
    this.bytes[this.sends] += length;
  }

  /** Queues the send being built; the next starts empty. */
  endSend(): void {
    if (++this.sends < TX_SENDS) this.pieces[this.sends] = this.bytes[this.sends] = 0;
  }

  /** Sends [from, to), each copied whole after `headroom` zero bytes: what a device did not
   *  take of a frame in segments, kept as frames of their own. */
  framesOf(arena: Uint8Array, from: number, to: number, headroom: number): Uint8Array[] {
    let piece = 0;
    for (let i = 0; i < from; i++) piece += this.pieces[i];
    const frames: Uint8Array[] = [];
    for (let i = from; i < to; piece += this.pieces[i++]) {
      frames.push(gather(arena, this.offsets.subarray(piece), this.lengths.subarray(piece), this.pieces[i], headroom));
    }
    return frames;
  }

  clear(): void {
    this.sends = this.used = 0;
    this.pieces[0] = this.bytes[0] = 0;
  }
}

/** Pieces [0, count) of the arena as one frame, copied after `headroom` zero bytes: for a frame
 *  kept past its batch. */
export function gather(arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, headroom = 0): Uint8Array {
  let total = headroom;
  for (let i = 0; i < count; i++) total += lengths[i];
  const frame = new Uint8Array(total);
  for (let i = 0, at = headroom; i < count; at += lengths[i++]) frame.set(arena.subarray(offsets[i], offsets[i] + lengths[i]), at);
  return frame;
}
