// What a kernel on this machine leaves unfinished in the frames it tunnels, when they reach the
// tunnel's UDP socket through veth and not through a NIC. A UDP socket hands them over without
// a word, so a kernel VXLAN device's TCP would reach a VM rejected or too large:
// - a TCP or UDP checksum left partial: the field holds only the pseudo-header sum (RFC 1071's
//   running sum, for the device or the receiving kernel to finish);
// - a TCP super-frame sent whole (UDP tunnel GSO) as one datagram, too large for any port,
//   and its segment size not said (or said where a run's datagram size would be).
// The vnet header then says so, as a packet socket's would, and whoever takes the frame
// finishes it. A complete checksum that happens to equal the pseudo-header sum is finished to
// the same value: nothing is lost by taking it for partial.
import { be16 } from './bytes';
import { ipv4PseudoSum, ipv6PseudoSum } from './checksum';
import { EtherType, ETHERNET_HEADER_BYTES, VLAN_TAG_BYTES } from './ethernet';
import { IpProtocol } from './ipv4';
import { IPV6_HEADER_BYTES } from './ipv6';
import { emitVnetHeader, VNET_HEADER_BYTES, VnetFlag, VnetGso } from './vnet-header';

const CHECKSUM_AT = { [IpProtocol.tcp]: 16, [IpProtocol.udp]: 6 } as Record<number, number>;
/** Ethernet's IP MTU (RFC 894), the size a super-frame without a segment size is cut to. */
const STANDARD_MTU = 1500;

interface Layers {
  isIpv6: boolean;
  l3: number;
  l4: number;
  protocol: number;
  /** Where the IP packet ends, by its length field. */
  ipEnd: number;
}

/** The IP and L4 places of the Ethernet frame at `frame` (up to `end`), unfragmented, or null. */
function layersOf(b: Uint8Array, frame: number, end: number): Layers | null {
  if (end - frame < ETHERNET_HEADER_BYTES) return null;
  let l3 = frame + ETHERNET_HEADER_BYTES;
  let ethertype = be16(b, frame + 12);
  if (ethertype === EtherType.vlan && end - frame >= ETHERNET_HEADER_BYTES + VLAN_TAG_BYTES) {
    ethertype = be16(b, frame + 16);
    l3 += VLAN_TAG_BYTES;
  }
  if (ethertype === EtherType.ipv4 && end - l3 >= 20) {
    if ((be16(b, l3 + 6) & 0x3fff) !== 0) return null;
    return { isIpv6: false, l3, l4: l3 + (b[l3] & 0x0f) * 4, protocol: b[l3 + 9], ipEnd: l3 + be16(b, l3 + 2) };
  }
  if (ethertype === EtherType.ipv6 && end - l3 >= IPV6_HEADER_BYTES) {
    return { isIpv6: true, l3, l4: l3 + IPV6_HEADER_BYTES, protocol: b[l3 + 6], ipEnd: l3 + IPV6_HEADER_BYTES + be16(b, l3 + 4) };
  }
  return null;
}

/** Whether the Ethernet frame [frame, end) is one TCP segment larger than a 1500-byte IP MTU
 *  lets through: a super-frame, or a jumbo frame (which is taken as one, harmlessly). */
export function isSuperFrame(b: Uint8Array, frame: number, end: number): boolean {
  if (end - frame <= ETHERNET_HEADER_BYTES + STANDARD_MTU) return false;
  const layers = layersOf(b, frame, end);
  return layers !== null && layers.protocol === IpProtocol.tcp && layers.ipEnd === end && end - layers.l3 > STANDARD_MTU && end - layers.l4 >= 20;
}

/** Marks the frame behind the vnet header at `vnetAt` NEEDS_CSUM when its checksum is partial. */
export function describePartialChecksum(b: Uint8Array, vnetAt: number, end: number): void {
  const frame = vnetAt + VNET_HEADER_BYTES;
  const layers = layersOf(b, frame, end);
  if (layers === null || layers.ipEnd > end) return;
  const { isIpv6, l3, l4, protocol } = layers;
  const checksumAt = CHECKSUM_AT[protocol];
  const l4Length = layers.ipEnd - l4;
  if (checksumAt === undefined || l4Length < checksumAt + 2) return;
  const pseudo = isIpv6 ? ipv6PseudoSum(b, l3, protocol, l4Length) : ipv4PseudoSum(b, l3, protocol, l4Length);
  if (be16(b, l4 + checksumAt) !== pseudo) return;
  emitVnetHeader(b, vnetAt, { flags: VnetFlag.needsChecksum, gsoType: VnetGso.none, hdrLen: 0, gsoSize: 0, csumStart: l4 - frame, csumOffset: checksumAt });
}

/** Describes the super-frame (see isSuperFrame) behind the vnet header at `vnetAt` as TCP GSO
 *  of `gsoSize`-byte segments, its checksum partial as its sender left it. Without a size, the
 *  segments are the largest a 1500-byte IP MTU takes: where the frame is delivered (a VM's
 *  port, through veth or tap) it is not cut at all, and elsewhere that is the common MTU. */
export function describeSuperFrame(b: Uint8Array, vnetAt: number, end: number, gsoSize: number): void {
  const frame = vnetAt + VNET_HEADER_BYTES;
  const layers = layersOf(b, frame, end)!;
  const headers = layers.l4 + (b[layers.l4 + 12] >>> 4) * 4;
  emitVnetHeader(b, vnetAt, {
    flags: VnetFlag.needsChecksum,
    gsoType: layers.isIpv6 ? VnetGso.tcpv6 : VnetGso.tcpv4,
    hdrLen: headers - frame,
    gsoSize: gsoSize || STANDARD_MTU - (headers - layers.l3),
    csumStart: layers.l4 - frame,
    csumOffset: CHECKSUM_AT[IpProtocol.tcp],
  });
}
