// UDP header (RFC 768).
import { be16, setBe16 } from './bytes';
import { finishChecksum, onesComplementSum } from './checksum';
import { HeaderView } from './view';

/** DHCP's well-known ports (RFC 2131, 4.1). */
export const DhcpPort = { server: 67, client: 68 } as const;

const field = { sourcePort: 0, destinationPort: 2, length: 4, checksum: 6 } as const;
export const UDP_HEADER_BYTES = 8;

export class UdpDatagram extends HeaderView {
  protected check(): string | null {
    if (this.available < UDP_HEADER_BYTES) return `${this.available} bytes is shorter than a UDP header`;
    if (this.length < UDP_HEADER_BYTES) return `UDP length ${this.length} is shorter than its header`;
    if (this.length > this.available) return `UDP length ${this.length} runs past the ${this.available} bytes received`;
    return null;
  }
  get sourcePort(): number {
    return be16(this.buffer, this.offset + field.sourcePort);
  }
  get destinationPort(): number {
    return be16(this.buffer, this.offset + field.destinationPort);
  }
  get length(): number {
    return be16(this.buffer, this.offset + field.length);
  }
  get checksum(): number {
    return be16(this.buffer, this.offset + field.checksum);
  }
  get payloadAt(): number {
    return this.offset + UDP_HEADER_BYTES;
  }
  /** With the pseudo-header's sum (checksum.ts): true when the checksum holds or is absent (0, IPv4 only). */
  verifyChecksum(pseudoSum: number): boolean {
    return this.checksum === 0 || onesComplementSum(this.buffer, this.offset, this.offset + this.length, pseudoSum) === 0xffff;
  }
  fillChecksum(pseudoSum: number): void {
    setBe16(this.buffer, this.offset + field.checksum, 0);
    const value = finishChecksum(onesComplementSum(this.buffer, this.offset, this.offset + this.length, pseudoSum));
    setBe16(this.buffer, this.offset + field.checksum, value === 0 ? 0xffff : value);
  }
}

export interface UdpRepr {
  sourcePort: number;
  destinationPort: number;
  payloadLength: number;
}

/** Writes the header with a zero checksum (fill it once the payload is in place). */
export function emitUdp(b: Uint8Array, at: number, repr: UdpRepr): number {
  setBe16(b, at + field.sourcePort, repr.sourcePort);
  setBe16(b, at + field.destinationPort, repr.destinationPort);
  setBe16(b, at + field.length, UDP_HEADER_BYTES + repr.payloadLength);
  setBe16(b, at + field.checksum, 0);
  return at + UDP_HEADER_BYTES;
}
