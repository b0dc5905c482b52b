// TCP header (RFC 9293 §3.1).
import { be16, be32, setBe16, setBe32 } from './bytes';
import { finishChecksum, onesComplementSum } from './checksum';
import { HeaderView } from './view';

export const TcpFlag = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20, ece: 0x40, cwr: 0x80 } as const;

const field = {
  sourcePort: 0, destinationPort: 2, sequence: 4, acknowledgment: 8, dataOffset: 12, flags: 13,
  window: 14, checksum: 16, urgentPointer: 18,
} as const;
export const TCP_HEADER_BYTES = 20;
/** Where the checksum sits inside the header: what a vnet header's csum_offset names. */
export const TCP_CHECKSUM_OFFSET = field.checksum;

export class TcpSegment extends HeaderView {
  protected check(): string | null {
    if (this.available < TCP_HEADER_BYTES) return `${this.available} bytes is shorter than a TCP header`;
    if (this.headerLength < TCP_HEADER_BYTES) return `data offset ${this.headerLength / 4} is below the minimum of 5`;
    if (this.headerLength > this.available) return `data offset runs past the ${this.available} bytes received`;
    return null;
  }
  get sourcePort(): number {
    return be16(this.buffer, this.offset + field.sourcePort);
  }
  get destinationPort(): number {
    return be16(this.buffer, this.offset + field.destinationPort);
  }
  get sequence(): number {
    return be32(this.buffer, this.offset + field.sequence);
  }
  set sequence(value: number) {
    setBe32(this.buffer, this.offset + field.sequence, value);
  }
  get acknowledgment(): number {
    return be32(this.buffer, this.offset + field.acknowledgment);
  }
  get headerLength(): number {
    return (this.buffer[this.offset + field.dataOffset] >>> 4) * 4;
  }
  get flags(): number {
    return this.buffer[this.offset + field.flags];
  }
  set flags(value: number) {
    this.buffer[this.offset + field.flags] = value;
  }
  get window(): number {
    return be16(this.buffer, this.offset + field.window);
  }
  get checksum(): number {
    return be16(this.buffer, this.offset + field.checksum);
  }
  get payloadAt(): number {
    return this.offset + this.headerLength;
  }
  /** The segment runs to `end` of the view: the caller points it at the IP payload. */
  verifyChecksum(pseudoSum: number): boolean {
    return onesComplementSum(this.buffer, this.offset, this.end, pseudoSum) === 0xffff;
  }
  fillChecksum(pseudoSum: number): void {
    setBe16(this.buffer, this.offset + field.checksum, 0);
    setBe16(this.buffer, this.offset + field.checksum, finishChecksum(onesComplementSum(this.buffer, this.offset, this.end, pseudoSum)));
  }
}

export interface TcpRepr {
  sourcePort: number;
  destinationPort: number;
  sequence: number;
  acknowledgment: number;
  flags: number;
  window: number;
}

/** Writes a 20-byte header (no options) with a zero checksum. */
export function emitTcp(b: Uint8Array, at: number, repr: TcpRepr): number {
  setBe16(b, at + field.sourcePort, repr.sourcePort);
  setBe16(b, at + field.destinationPort, repr.destinationPort);
  setBe32(b, at + field.sequence, repr.sequence);
  setBe32(b, at + field.acknowledgment, repr.acknowledgment);
  b[at + field.dataOffset] = (TCP_HEADER_BYTES / 4) << 4;
  b[at + field.flags] = repr.flags;
  setBe16(b, at + field.window, repr.window);
  setBe16(b, at + field.checksum, 0);
  setBe16(b, at + field.urgentPointer, 0);
  return at + TCP_HEADER_BYTES;
}
