// ICMPv6 (RFC 4443) and Neighbor Discovery's solicitation and advertisement (RFC 4861 §4.3, §4.4).
import { be16, setBe16 } from './bytes';
import { finishChecksum, onesComplementSum } from './checksum';
import { HeaderView } from './view';

export const Icmpv6Type = {
  destinationUnreachable: 1, timeExceeded: 3, echoRequest: 128, echoReply: 129,
  routerSolicitation: 133, routerAdvertisement: 134, neighborSolicitation: 135, neighborAdvertisement: 136, redirect: 137,
  /** MLDv2's listener report (RFC 3810), which a host sends from :: before it has an address. */
  listenerReport: 143,
} as const;
/** ICMPv6's errors are its types below 128 (RFC 4443 2.1). */
export const isIcmpv6Error = (type: number): boolean => type < 128;
export const NdpOption = { sourceLinkLayerAddress: 1, targetLinkLayerAddress: 2, prefixInformation: 3, mtu: 5 } as const;
/** Neighbor advertisement flags (RFC 4861 §4.4): Router, Solicited, Override. */
export const NdpFlag = { router: 0x80, solicited: 0x40, override: 0x20 } as const;

const field = { type: 0, code: 1, checksum: 2, body: 4, target: 8, options: 24 } as const;
export const ICMPV6_HEADER_BYTES = 8;
const NDP_BYTES = field.options;

export class Icmpv6Message extends HeaderView {
  protected check(): string | null {
    if (this.available < ICMPV6_HEADER_BYTES) return `${this.available} bytes is shorter than an ICMPv6 header`;
    if ((this.type === Icmpv6Type.neighborSolicitation || this.type === Icmpv6Type.neighborAdvertisement) && this.available < NDP_BYTES) {
      return 'neighbor discovery message ends before its target address';
    }
    return null;
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
  /** Echo's identifier, or the first 16 bits of the message body. */
  get identifier(): number {
    return be16(this.buffer, this.offset + field.body);
  }
  get sequence(): number {
    return be16(this.buffer, this.offset + field.body + 2);
  }
  /** Neighbor advertisement's R/S/O flags. */
  get ndpFlags(): number {
    return this.buffer[this.offset + field.body];
  }
  /** Offset of the 16-byte target address of a neighbor solicitation or advertisement. */
  get targetAt(): number {
    return this.offset + field.target;
  }
  /** Offset of the 6-byte link-layer address in the NDP option of that type, or -1. */
  linkLayerOptionAt(optionType: number): number {
    let at = this.offset + NDP_BYTES;
    while (at + 2 <= this.end) {
      const length = this.buffer[at + 1] * 8;
      if (length === 0 || at + length > this.end) return -1;
      if (this.buffer[at] === optionType && length >= 8) return at + 2;
      at += length;
    }
    return -1;
  }
  /** The checksum covers the IPv6 pseudo-header: pass its sum (checksum.ts). */
  verifyChecksum(pseudoSum: number): boolean {
    return onesComplementSum(this.buffer, this.offset, this.end, pseudoSum) === 0xffff;
  }
  fillChecksum(pseudoSum: number): void {
    setBe16(this.buffer, this.offset + field.checksum, 0);
    setBe16(this.buffer, this.offset + field.checksum, finishChecksum(onesComplementSum(this.buffer, this.offset, this.end, pseudoSum)));
  }
}

export interface NdpRepr {
  type: typeof Icmpv6Type.neighborSolicitation | typeof Icmpv6Type.neighborAdvertisement;
  flags: number;
  target: Uint8Array;
  /** Source (solicitation) or target (advertisement) link-layer address option, if any. */
  linkLayerAddress?: Uint8Array;
}

/** Writes a neighbor solicitation or advertisement with a zero checksum; returns the end offset. */
export function emitNdp(b: Uint8Array, at: number, repr: NdpRepr): number {
  b[at + field.type] = repr.type;
  b[at + field.code] = 0;
  setBe16(b, at + field.checksum, 0);
  b.fill(0, at + field.body, at + field.target);
  b[at + field.body] = repr.flags;
  b.set(repr.target, at + field.target);
  let end = at + NDP_BYTES;
  if (repr.linkLayerAddress) {
    b[end] = repr.type === Icmpv6Type.neighborSolicitation ? NdpOption.sourceLinkLayerAddress : NdpOption.targetLinkLayerAddress;
    b[end + 1] = 1;
    b.set(repr.linkLayerAddress, end + 2);
    end += 8;
  }
  return end;
}
