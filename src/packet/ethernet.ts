// Ethernet II frame header (IEEE 802.3 clause 3.2) and the 802.1Q tag (IEEE 802.1Q §9.6).
import { be16, setBe16 } from './bytes';
import { HeaderView } from './view';

export const EtherType = { ipv4: 0x0800, arp: 0x0806, vlan: 0x8100, qinq: 0x88a8, ipv6: 0x86dd } as const;

const field = { destination: 0, source: 6, ethertype: 12 } as const;
export const ETHERNET_HEADER_BYTES = 14;

export class EthernetFrame extends HeaderView {
  protected check(): string | null {
    return this.available < ETHERNET_HEADER_BYTES ? `${this.available} bytes is shorter than an Ethernet header` : null;
  }
  /** Offset of the destination MAC; the address is 6 bytes there. */
  get destinationAt(): number {
    return this.offset + field.destination;
  }
  get sourceAt(): number {
    return this.offset + field.source;
  }
  get ethertype(): number {
    return be16(this.buffer, this.offset + field.ethertype);
  }
  set ethertype(value: number) {
    setBe16(this.buffer, this.offset + field.ethertype, value);
  }
  get payloadAt(): number {
    return this.offset + ETHERNET_HEADER_BYTES;
  }
  /** Bit 0 of the first octet: group (multicast or broadcast) address. */
  get isMulticast(): boolean {
    return (this.buffer[this.offset] & 1) === 1;
  }
  repr(): EthernetRepr {
    const b = this.buffer;
    return {
      destination: b.slice(this.destinationAt, this.destinationAt + 6),
      source: b.slice(this.sourceAt, this.sourceAt + 6),
      ethertype: this.ethertype,
    };
  }
}

export interface EthernetRepr {
  destination: Uint8Array;
  source: Uint8Array;
  ethertype: number;
}

export function emitEthernet(b: Uint8Array, at: number, repr: EthernetRepr): number {
  b.set(repr.destination, at + field.destination);
  b.set(repr.source, at + field.source);
  setBe16(b, at + field.ethertype, repr.ethertype);
  return at + ETHERNET_HEADER_BYTES;
}

const tagField = { tci: 0, ethertype: 2 } as const;
export const VLAN_TAG_BYTES = 4;

/** The 4 bytes after the outer ethertype 0x8100: TCI (PCP 3 bits, DEI 1, VID 12), inner ethertype. */
export class VlanTag extends HeaderView {
  protected check(): string | null {
    return this.available < VLAN_TAG_BYTES ? 'frame ends inside its 802.1Q tag' : null;
  }
  get tci(): number {
    return be16(this.buffer, this.offset + tagField.tci);
  }
  get vid(): number {
    return this.tci & 0x0fff;
  }
  get pcp(): number {
    return this.tci >>> 13;
  }
  get dei(): boolean {
    return (this.tci & 0x1000) !== 0;
  }
  get ethertype(): number {
    return be16(this.buffer, this.offset + tagField.ethertype);
  }
}

export function emitVlanTag(b: Uint8Array, at: number, repr: { pcp: number; dei: boolean; vid: number; ethertype: number }): number {
  setBe16(b, at + tagField.tci, (repr.pcp << 13) | (repr.dei ? 0x1000 : 0) | (repr.vid & 0x0fff));
  setBe16(b, at + tagField.ethertype, repr.ethertype);
  return at + VLAN_TAG_BYTES;
}
