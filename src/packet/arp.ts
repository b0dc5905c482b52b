// ARP for IPv4 over Ethernet (RFC 826).
import { be16, setBe16 } from './bytes';
import { EtherType } from './ethernet';
import { HeaderView } from './view';

export const ArpOperation = { request: 1, reply: 2 } as const;

const field = { htype: 0, ptype: 2, hlen: 4, plen: 5, oper: 6, sha: 8, spa: 14, tha: 18, tpa: 24 } as const;
export const ARP_IPV4_BYTES = 28;

export class ArpPacket extends HeaderView {
  protected check(): string | null {
    if (this.available < ARP_IPV4_BYTES) return `${this.available} bytes is shorter than an Ethernet/IPv4 ARP packet`;
    const b = this.buffer;
    const o = this.offset;
    if (be16(b, o + field.htype) !== 1 || be16(b, o + field.ptype) !== EtherType.ipv4 || b[o + field.hlen] !== 6 || b[o + field.plen] !== 4) {
      return 'ARP packet is not Ethernet/IPv4';
    }
    return null;
  }
  get oper(): number {
    return be16(this.buffer, this.offset + field.oper);
  }
  get shaAt(): number {
    return this.offset + field.sha;
  }
  get spaAt(): number {
    return this.offset + field.spa;
  }
  get thaAt(): number {
    return this.offset + field.tha;
  }
  get tpaAt(): number {
    return this.offset + field.tpa;
  }
  repr(): ArpRepr {
    const b = this.buffer;
    return {
      oper: this.oper,
      sha: b.slice(this.shaAt, this.shaAt + 6),
      spa: b.slice(this.spaAt, this.spaAt + 4),
      tha: b.slice(this.thaAt, this.thaAt + 6),
      tpa: b.slice(this.tpaAt, this.tpaAt + 4),
    };
  }
}

export interface ArpRepr {
  oper: number;
  sha: Uint8Array;
  spa: Uint8Array;
  tha: Uint8Array;
  tpa: Uint8Array;
}

export function emitArp(b: Uint8Array, at: number, repr: ArpRepr): number {
  setBe16(b, at + field.htype, 1);
  setBe16(b, at + field.ptype, EtherType.ipv4);
  b[at + field.hlen] = 6;
  b[at + field.plen] = 4;
  setBe16(b, at + field.oper, repr.oper);
  b.set(repr.sha, at + field.sha);
  b.set(repr.spa, at + field.spa);
  b.set(repr.tha, at + field.tha);
  b.set(repr.tpa, at + field.tpa);
  return at + ARP_IPV4_BYTES;
}
