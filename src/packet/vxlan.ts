// VXLAN header (RFC 7348 §5): flags with the I bit, 24-bit VNI; carried in UDP to port 4789.
import { be32, setBe32 } from './bytes';
import { HeaderView } from './view';

export const VXLAN_UDP_PORT = 4789;
export const VXLAN_HEADER_BYTES = 8;
const field = { flags: 0, vni: 4 } as const;
const FLAG_VNI_VALID = 0x08;

export class VxlanHeader extends HeaderView {
  protected check(): string | null {
    if (this.available < VXLAN_HEADER_BYTES) return `${this.available} bytes is shorter than a VXLAN header`;
    if ((this.flags & FLAG_VNI_VALID) === 0) return 'VXLAN I flag is clear: no valid VNI';
    return null;
  }
  get flags(): number {
    return this.buffer[this.offset + field.flags];
  }
  get vni(): number {
    return be32(this.buffer, this.offset + field.vni) >>> 8;
  }
  get payloadAt(): number {
    return this.offset + VXLAN_HEADER_BYTES;
  }
}

export function emitVxlan(b: Uint8Array, at: number, vni: number): number {
  setBe32(b, at + field.flags, FLAG_VNI_VALID << 24);
  setBe32(b, at + field.vni, (vni << 8) >>> 0);
  return at + VXLAN_HEADER_BYTES;
}
