// The base of every header view (the smoltcp `Packet` idea): a window [offset, end) on a
// byte array, checked once when pointed, then read and written in place without copies.

export class MalformedPacket extends Error {
  readonly code = 'MALFORMED_PACKET';
}

export abstract class HeaderView {
  buffer: Uint8Array = EMPTY;
  offset = 0;
  end = 0;

  /** Checks and points the view at buffer[offset, end); throws MalformedPacket if it cannot hold the header. */
  constructor(buffer?: Uint8Array, offset = 0, end = buffer ? buffer.length : 0) {
    if (buffer === undefined) return;
    const problem = this.point(buffer, offset, end);
    if (problem !== null) throw new MalformedPacket(`${this.constructor.name}: ${problem}`);
  }

  /** Re-points the view (the hot path's way: no allocation, no throw); returns why it cannot, or null. */
  point(buffer: Uint8Array, offset: number, end: number): string | null {
    this.buffer = buffer;
    this.offset = offset;
    this.end = Math.min(end, buffer.length);
    return this.check();
  }

  /** Why the bytes in the window cannot be this header, or null when they can. */
  protected abstract check(): string | null;

  /** Bytes available from the start of the header to the end of the window. */
  get available(): number {
    return this.end - this.offset;
  }
}

const EMPTY = new Uint8Array(0);
