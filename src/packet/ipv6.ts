// IPv6 fixed header (RFC 8200 §3).
import { be16, be32, setBe16, setBe32 } from './bytes';
import { HeaderView } from './view';

const field = { versionClassLabel: 0, payloadLength: 4, nextHeader: 6, hopLimit: 7, source: 8, destination: 24 } as const;
export const IPV6_HEADER_BYTES = 40;

export class Ipv6Packet extends HeaderView {
  protected check(): string | null {
    if (this.available < IPV6_HEADER_BYTES) return `${this.available} bytes is shorter than an IPv6 header`;
    if (this.version !== 6) return `IP version ${this.version} in an IPv6 header`;
    if (IPV6_HEADER_BYTES + this.payloadLength > this.available) {
      return `payload length ${this.payloadLength} runs past the ${this.available} bytes received`;
    }
    return null;
  }
  get version(): number {
    return this.buffer[this.offset] >>> 4;
  }
  get trafficClass(): number {
    return (be16(this.buffer, this.offset) >>> 4) & 0xff;
  }
  get flowLabel(): number {
    return be32(this.buffer, this.offset) & 0xfffff;
  }
  get payloadLength(): number {
    return be16(this.buffer, this.offset + field.payloadLength);
  }
  set payloadLength(value: number) {
    setBe16(this.buffer, this.offset + field.payloadLength, value);
  }
  get nextHeader(): number {
    return this.buffer[this.offset + field.nextHeader];
  }
  get hopLimit(): number {
    return this.buffer[this.offset + field.hopLimit];
  }
  set hopLimit(value: number) {
    this.buffer[this.offset + field.hopLimit] = value;
  }
  get sourceAt(): number {
    return this.offset + field.source;
  }
  get destinationAt(): number {
    return this.offset + field.destination;
  }
  get payloadAt(): number {
    return this.offset + IPV6_HEADER_BYTES;
  }
  repr(): Ipv6Repr {
    return {
      trafficClass: this.trafficClass,
      flowLabel: this.flowLabel,
      nextHeader: this.nextHeader,
      hopLimit: this.hopLimit,
      source: this.buffer.slice(this.sourceAt, this.sourceAt + 16),
      destination: this.buffer.slice(this.destinationAt, this.destinationAt + 16),
      payloadLength: this.payloadLength,
    };
  }
}

export interface Ipv6Repr {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  source: Uint8Array;
  destination: Uint8Array;
  payloadLength: number;
}

export function emitIpv6(b: Uint8Array, at: number, repr: Ipv6Repr): number {
  setBe32(b, at + field.versionClassLabel, ((6 << 28) | (repr.trafficClass << 20) | repr.flowLabel) >>> 0);
  setBe16(b, at + field.payloadLength, repr.payloadLength);
  b[at + field.nextHeader] = repr.nextHeader;
  b[at + field.hopLimit] = repr.hopLimit;
  b.set(repr.source, at + field.source);
  b.set(repr.destination, at + field.destination);
  return at + IPV6_HEADER_BYTES;
}
