// ICMP for IPv4 (RFC 792): the common header, and echo's identifier and sequence number.
import { be16, setBe16 } from './bytes';
import { finishChecksum, onesComplementSum } from './checksum';
import { HeaderView } from './view';

export const Icmpv4Type = { echoReply: 0, destinationUnreachable: 3, echoRequest: 8, timeExceeded: 11, parameterProblem: 12 } as const;
/** ICMPv4's errors, which quote the packet they are about (RFC 792): unreachable, source
 *  quench, redirect, time exceeded, parameter problem. No error is answered with another
 *  (RFC 1122 3.2.2). */
const ERROR_TYPES: readonly number[] = [3, 4, 5, 11, 12];
export const isIcmpv4Error = (type: number): boolean => ERROR_TYPES.includes(type);

const field = { type: 0, code: 1, checksum: 2, identifier: 4, sequence: 6 } as const;
export const ICMPV4_HEADER_BYTES = 8;

export class Icmpv4Message extends HeaderView {
  protected check(): string | null {
    return this.available < ICMPV4_HEADER_BYTES ? `${this.available} bytes is shorter than an ICMP header` : null;
  }
  get type(): number {
    return this.buffer[this.offset + field.type];
  }
  get code(): number {
    return this.buffer[this.offset + field.code];
  }
  get checksum(): number {
    return be16(this.buffer, this.offset + field.checksum);
  }
  /** Echo request/reply only. */
  get identifier(): number {
    return be16(this.buffer, this.offset + field.identifier);
  }
  get sequence(): number {
    return be16(this.buffer, this.offset + field.sequence);
  }
  get payloadAt(): number {
    return this.offset + ICMPV4_HEADER_BYTES;
  }
  verifyChecksum(): boolean {
    return onesComplementSum(this.buffer, this.offset, this.end) === 0xffff;
  }
  fillChecksum(): void {
    setBe16(this.buffer, this.offset + field.checksum, 0);
    setBe16(this.buffer, this.offset + field.checksum, finishChecksum(onesComplementSum(this.buffer, this.offset, this.end)));
  }
}

export interface Icmpv4Repr {
  type: number;
  code: number;
  /** Identifier and sequence for echo; the unused/pointer word for errors. */
  identifier: number;
  sequence: number;
  payload: Uint8Array;
}

/** Writes the message with its payload and checksum; returns the end offset. */
export function emitIcmpv4(b: Uint8Array, at: number, repr: Icmpv4Repr): number {
  b[at + field.type] = repr.type;
  b[at + field.code] = repr.code;
  setBe16(b, at + field.identifier, repr.identifier);
  setBe16(b, at + field.sequence, repr.sequence);
  b.set(repr.payload, at + ICMPV4_HEADER_BYTES);
  const end = at + ICMPV4_HEADER_BYTES + repr.payload.length;
  setBe16(b, at + field.checksum, 0);
  setBe16(b, at + field.checksum, finishChecksum(onesComplementSum(b, at, end)));
  return end;
}
