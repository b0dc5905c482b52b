// IPv4 header (RFC 791 §3.1).
import { be16, setBe16 } from './bytes';
import { finishChecksum, onesComplementSum } from './checksum';
import { HeaderView } from './view';

export const IpProtocol = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;

const field = {
  versionIhl: 0, dscpEcn: 1, totalLength: 2, identification: 4, flagsFragment: 6,
  ttl: 8, protocol: 9, checksum: 10, source: 12, destination: 16,
} as const;
export const IPV4_HEADER_BYTES = 20;

export class Ipv4Packet extends HeaderView {
  protected check(): string | null {
    if (this.available < IPV4_HEADER_BYTES) return `${this.available} bytes is shorter than an IPv4 header`;
    if (this.version !== 4) return `IP version ${this.version} in an IPv4 header`;
    if (this.ihl < 5) return `IHL ${this.ihl} is below the minimum of 5`;
    if (this.totalLength < this.headerLength) return `total length ${this.totalLength} is shorter than the header`;
    if (this.totalLength > this.available) return `total length ${this.totalLength} runs past the ${this.available} bytes received`;
    return null;
  }
  get version(): number {
    return this.buffer[this.offset + field.versionIhl] >>> 4;
  }
  get ihl(): number {
    return this.buffer[this.offset + field.versionIhl] & 0x0f;
  }
  get headerLength(): number {
    return this.ihl * 4;
  }
  get dscp(): number {
    return this.buffer[this.offset + field.dscpEcn] >>> 2;
  }
  get ecn(): number {
    return this.buffer[this.offset + field.dscpEcn] & 3;
  }
  get totalLength(): number {
    return be16(this.buffer, this.offset + field.totalLength);
  }
  set totalLength(value: number) {
    setBe16(this.buffer, this.offset + field.totalLength, value);
  }
  get identification(): number {
    return be16(this.buffer, this.offset + field.identification);
  }
  set identification(value: number) {
    setBe16(this.buffer, this.offset + field.identification, value);
  }
  get dontFragment(): boolean {
    return (this.buffer[this.offset + field.flagsFragment] & 0x40) !== 0;
  }
  get moreFragments(): boolean {
    return (this.buffer[this.offset + field.flagsFragment] & 0x20) !== 0;
  }
  get fragmentOffset(): number {
    return be16(this.buffer, this.offset + field.flagsFragment) & 0x1fff;
  }
  get ttl(): number {
    return this.buffer[this.offset + field.ttl];
  }
  set ttl(value: number) {
    this.buffer[this.offset + field.ttl] = value;
  }
  get protocol(): number {
    return this.buffer[this.offset + field.protocol];
  }
  get checksum(): number {
    return be16(this.buffer, this.offset + field.checksum);
  }
  set checksum(value: number) {
    setBe16(this.buffer, this.offset + field.checksum, value);
  }
  get sourceAt(): number {
    return this.offset + field.source;
  }
  get destinationAt(): number {
    return this.offset + field.destination;
  }
  get payloadAt(): number {
    return this.offset + this.headerLength;
  }
  get payloadLength(): number {
    return this.totalLength - this.headerLength;
  }
  verifyChecksum(): boolean {
    return onesComplementSum(this.buffer, this.offset, this.offset + this.headerLength) === 0xffff;
  }
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = finishChecksum(onesComplementSum(this.buffer, this.offset, this.offset + this.headerLength));
  }
  repr(): Ipv4Repr {
    return {
      dscp: this.dscp,
      ecn: this.ecn,
      identification: this.identification,
      dontFragment: this.dontFragment,
      ttl: this.ttl,
      protocol: this.protocol,
      source: this.buffer.slice(this.sourceAt, this.sourceAt + 4),
      destination: this.buffer.slice(this.destinationAt, this.destinationAt + 4),
      payloadLength: this.payloadLength,
    };
  }
}

export interface Ipv4Repr {
  dscp: number;
  ecn: number;
  identification: number;
  dontFragment: boolean;
  ttl: number;
  protocol: number;
  source: Uint8Array;
  destination: Uint8Array;
  payloadLength: number;
}

/** Writes a 20-byte header (no options) with its checksum; returns the payload's offset. */
export function emitIpv4(b: Uint8Array, at: number, repr: Ipv4Repr): number {
  b[at + field.versionIhl] = 0x45;
  b[at + field.dscpEcn] = (repr.dscp << 2) | repr.ecn;
  setBe16(b, at + field.totalLength, IPV4_HEADER_BYTES + repr.payloadLength);
  setBe16(b, at + field.identification, repr.identification);
  setBe16(b, at + field.flagsFragment, repr.dontFragment ? 0x4000 : 0);
  b[at + field.ttl] = repr.ttl;
  b[at + field.protocol] = repr.protocol;
  b.set(repr.source, at + field.source);
  b.set(repr.destination, at + field.destination);
  setBe16(b, at + field.checksum, 0);
  setBe16(b, at + field.checksum, finishChecksum(onesComplementSum(b, at, at + IPV4_HEADER_BYTES)));
  return at + IPV4_HEADER_BYTES;
}
