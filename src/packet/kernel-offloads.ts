// What a kernel on this machine leaves unfinished in the frames it tunnels, when they reach the
// tunnel's UDP socket through veth and not through a NIC. A UDP socket hands them over without
// a word, so a kernel VXLAN device's TCP would reach a VM rejected or too large:
// - a TCP or UDP checksum left partial: the field holds only the pseudo-header sum (RFC 1071's
//   running sum, for the device or the receiving kernel to finish);
// - a TCP super-frame sent whole (UDP tunnel GSO) as one datagram, too large for any port,
//   its segment size not said (the UDP_GRO control message is only for UDP runs).
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

/** Describes in the vnet header at `vnetAt` what the sending kernel left unfinished in the
 *  frame behind it: a TCP frame larger than a 1500-byte IP MTU lets through is a super-frame
 *  (a jumbo frame is taken for one, harmlessly), GSO of the largest segments that MTU takes (its
 *  own size is not said; delivered to a VM's port, through veth or tap, it is not cut at all);
 *  a checksum that holds just the pseudo-header sum is partial. */
export function describeKernelOffloads(b: Uint8Array, vnetAt: number, end: number): void {
  const frame = vnetAt + VNET_HEADER_BYTES;
  const layers = layersOf(b, frame, end);
  if (layers === null || layers.ipEnd > end) return;
  const { isIpv6, l3, l4, protocol, ipEnd } = layers;
  const checksumAt = CHECKSUM_AT[protocol];
  const l4Length = ipEnd - l4;
  if (checksumAt === undefined || l4Length < checksumAt + 2) return;
  if (protocol === IpProtocol.tcp && ipEnd === end && ipEnd - l3 > STANDARD_MTU && l4Length >= 20) {
    const headers = l4 + (b[l4 + 12] >>> 4) * 4;
    emitVnetHeader(b, vnetAt, {
      flags: VnetFlag.needsChecksum,
      gsoType: isIpv6 ? VnetGso.tcpv6 : VnetGso.tcpv4,
      hdrLen: headers - frame,
      gsoSize: STANDARD_MTU - (headers - l3),
      csumStart: l4 - frame,
      csumOffset: checksumAt,
    });
    return;
  }
  const pseudo = isIpv6 ? ipv6PseudoSum(b, l3, protocol, l4Length) : ipv4PseudoSum(b, l3, protocol, l4Length);
  if (be16(b, l4 + checksumAt) !== pseudo) return;
  emitVnetHeader(b, vnetAt, { flags: VnetFlag.needsChecksum, gsoType: VnetGso.none, hdrLen: 0, gsoSize: 0, csumStart: l4 - frame, csumOffset: checksumAt });
}
