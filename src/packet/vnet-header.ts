// struct virtio_net_hdr (virtio spec 1.1 §5.1.6, linux/virtio_net.h): the 10 bytes that a
// tap with IFF_VNET_HDR or a packet socket with PACKET_VNET_HDR puts before each frame, to
// say that its checksum is unfinished and that it is a GSO super-frame. Little-endian, as
// Linux uses it for tap and packet sockets on little-endian hosts.
import { finishChecksum, onesComplementSum } from './checksum';
import { HeaderView } from './view';

export const VNET_HEADER_BYTES = 10;
export const VnetFlag = { needsChecksum: 1, dataValid: 2 } as const;
export const VnetGso = { none: 0, tcpv4: 1, udp: 3, tcpv6: 4, ecn: 0x80 } as const;

const field = { flags: 0, gsoType: 1, hdrLen: 2, gsoSize: 4, csumStart: 6, csumOffset: 8 } as const;

function le16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function setLe16(b: Uint8Array, at: number, value: number): void {
  b[at] = value;
  b[at + 1] = value >>> 8;
}

export class VnetHeader extends HeaderView {
  protected check(): string | null {
    return this.available < VNET_HEADER_BYTES ? `${this.available} bytes is shorter than a virtio-net header` : null;
  }
  get flags(): number {
    return this.buffer[this.offset + field.flags];
  }
  get gsoType(): number {
    return this.buffer[this.offset + field.gsoType];
  }
  /** Bytes of Ethernet + IP + L4 headers in front of the payload of a GSO frame. */
  get hdrLen(): number {
    return le16(this.buffer, this.offset + field.hdrLen);
  }
  /** Payload bytes per segment of a GSO frame (the MSS for TCP). */
  get gsoSize(): number {
    return le16(this.buffer, this.offset + field.gsoSize);
  }
  /** From the start of the frame: where checksumming starts (the L4 header). */
  get csumStart(): number {
    return le16(this.buffer, this.offset + field.csumStart);
  }
  /** From csumStart: where the checksum is stored. */
  get csumOffset(): number {
    return le16(this.buffer, this.offset + field.csumOffset);
  }
  get frameAt(): number {
    return this.offset + VNET_HEADER_BYTES;
  }
}

export interface VnetRepr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function emitVnetHeader(b: Uint8Array, at: number, repr: VnetRepr): number {
  b[at + field.flags] = repr.flags;
  b[at + field.gsoType] = repr.gsoType;
  setLe16(b, at + field.hdrLen, repr.hdrLen);
  setLe16(b, at + field.gsoSize, repr.gsoSize);
  setLe16(b, at + field.csumStart, repr.csumStart);
  setLe16(b, at + field.csumOffset, repr.csumOffset);
  return at + VNET_HEADER_BYTES;
}

/** Finishes a checksum the sender left partial (NEEDS_CSUM: the field holds the pseudo-header
 *  sum), in place, and clears the flag: for outputs that cannot take a vnet header. */
export function completeChecksum(b: Uint8Array, vnetAt: number, end: number): void {
  if ((b[vnetAt + field.flags] & VnetFlag.needsChecksum) === 0) return;
  const frameAt = vnetAt + VNET_HEADER_BYTES;
  const start = frameAt + le16(b, vnetAt + field.csumStart);
  const at = start + le16(b, vnetAt + field.csumOffset);
  if (at + 2 > end) return;
  const sum = onesComplementSum(b, start, end);
  const value = finishChecksum(sum);
  b[at] = value >>> 8;
  b[at + 1] = value;
  b[vnetAt + field.flags] &= ~VnetFlag.needsChecksum;
}
