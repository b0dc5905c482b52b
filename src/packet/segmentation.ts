// Software TCP segmentation (what a NIC's TSO does): splits a TCPv4/TCPv6 GSO super-frame,
// as a vnet header describes it, into frames of at most gso_size payload bytes with complete
// checksums, for an output that cannot take super-frames. RFC 9293 §3.1 for the per-segment
// sequence numbers and flags; IPv4 identification advances per segment as Linux's GSO does.
import { EtherType, ETHERNET_HEADER_BYTES, VLAN_TAG_BYTES } from './ethernet';
import { be16, setBe16 } from './bytes';
import { ChunkSums, chunkSums, finishChecksum, ipv4PseudoSum, ipv6PseudoSum, onesComplementSum } from './checksum';
import { IpProtocol, Ipv4Packet } from './ipv4';
import { IPV6_HEADER_BYTES, Ipv6Packet } from './ipv6';
import { TCP_CHECKSUM_OFFSET, TcpFlag, TcpSegment } from './tcp';
import { VNET_HEADER_BYTES, VnetGso, VnetHeader } from './vnet-header';

/** b[from, to) to out at `at`; within one array without a view object per copy. */
function copy(b: Uint8Array, from: number, to: number, out: Uint8Array, at: number): void {
  if (b === out) out.copyWithin(at, from, to);
  else out.set(b.subarray(from, to), at);
}

export class Segmenter {
  private readonly vnet = new VnetHeader();
  private readonly ipv4 = new Ipv4Packet();
  private readonly ipv6 = new Ipv6Packet();
  private readonly tcp = new TcpSegment();
  private readonly segmentIpv4 = new Ipv4Packet();
  private readonly segmentTcp = new TcpSegment();

  /** Each segment's payload sum, for its TCP checksum. */
  private payloadSums = new Uint32Array(64);

  /** @param sums sums the payload per segment: the per-byte work of segmentation */
  constructor(private readonly sums: ChunkSums = chunkSums) {}

  /** Bytes `segment` needs in `out` for this super-frame, with `gap` free bytes before each
   *  segment, or -1 when it cannot segment it (not TCP over IPv4/IPv6 without extension
   *  headers, or no segment size). */
  bytesNeeded(b: Uint8Array, vnetAt: number, end: number, gap = 0): number {
    const layout = this.layout(b, vnetAt, end);
    if (layout === null) return -1;
    const segments = Math.ceil(layout.payload / layout.mss);
    return segments * (gap + layout.headers) + layout.payload;
  }

  /** Writes the segments one after another into `out` from `outAt`, each after `gap` bytes
   *  left for the caller (an encapsulation header), and reports each with its place and length;
   *  returns how many. Call bytesNeeded first to size `out`. */
  segment(b: Uint8Array, vnetAt: number, end: number, out: Uint8Array, outAt: number, emit: (at: number, length: number) => void, gap = 0): number {
    const layout = this.layout(b, vnetAt, end)!;
    const frameAt = vnetAt + VNET_HEADER_BYTES;
    const firstSequence = this.tcp.sequence;
    const flags = this.tcp.flags;
    const identification = layout.isIpv6 ? 0 : this.ipv4.identification;
    const segments = Math.ceil(layout.payload / layout.mss);
    if (segments > this.payloadSums.length) this.payloadSums = new Uint32Array(segments);
    this.sums(b, frameAt + layout.headers, frameAt + layout.headers + layout.payload, layout.mss, this.payloadSums);
    let at = outAt + gap;
    let count = 0;
    for (let sent = 0; sent < layout.payload; sent += layout.mss, count++) {
      const chunk = Math.min(layout.mss, layout.payload - sent);
      copy(b, frameAt, frameAt + layout.headers, out, at);
      copy(b, frameAt + layout.headers + sent, frameAt + layout.headers + sent + chunk, out, at + layout.headers);
      const last = sent + chunk >= layout.payload;
      const ipAt = at + layout.l3;
      const tcpAt = at + layout.l4;
      const tcpLength = layout.headers - layout.l4 + chunk;
      let pseudo: number;
      if (layout.isIpv6) {
        setBe16(out, ipAt + 4, tcpLength);
        pseudo = ipv6PseudoSum(out, ipAt, IpProtocol.tcp, tcpLength);
      } else {
        const ip = this.segmentIpv4;
        ip.point(out, ipAt, tcpAt + tcpLength);
        ip.totalLength = layout.l4 - layout.l3 + tcpLength;
        ip.identification = (identification + count) & 0xffff;
        ip.fillChecksum();
        pseudo = ipv4PseudoSum(out, ipAt, IpProtocol.tcp, tcpLength);
      }
      const tcp = this.segmentTcp;
      tcp.point(out, tcpAt, tcpAt + tcpLength);
      tcp.sequence = (firstSequence + sent) >>> 0;
      let segmentFlags = flags;
      if (!last) segmentFlags &= ~(TcpFlag.fin | TcpFlag.psh);
      if (count > 0) segmentFlags &= ~TcpFlag.cwr;
      tcp.flags = segmentFlags;
      // The TCP header is whole 16-bit words: its sum and the payload's add up to the segment's.
      setBe16(out, tcpAt + TCP_CHECKSUM_OFFSET, 0);
      setBe16(out, tcpAt + TCP_CHECKSUM_OFFSET, finishChecksum(onesComplementSum(out, tcpAt, at + layout.headers, pseudo + this.payloadSums[count])));
      emit(at, layout.headers + chunk);
      at += layout.headers + chunk + gap;
    }
    return count;
  }

  private layout(b: Uint8Array, vnetAt: number, end: number) {
    if (this.vnet.point(b, vnetAt, end) !== null) return null;
    const gso = this.vnet.gsoType & ~VnetGso.ecn;
    const mss = this.vnet.gsoSize;
    if ((gso !== VnetGso.tcpv4 && gso !== VnetGso.tcpv6) || mss === 0) return null;
    const frameAt = vnetAt + VNET_HEADER_BYTES;
    if (end - frameAt < ETHERNET_HEADER_BYTES) return null;
    let l3 = ETHERNET_HEADER_BYTES;
    let ethertype = be16(b, frameAt + 12);
    if (ethertype === EtherType.vlan) {
      ethertype = be16(b, frameAt + 16);
      l3 += VLAN_TAG_BYTES;
    }
    let l4: number;
    const isIpv6 = ethertype === EtherType.ipv6;
    if (ethertype === EtherType.ipv4) {
      if (this.ipv4.point(b, frameAt + l3, end) !== null || this.ipv4.protocol !== IpProtocol.tcp) return null;
      l4 = l3 + this.ipv4.headerLength;
    } else if (isIpv6) {
      if (this.ipv6.point(b, frameAt + l3, end) !== null || this.ipv6.nextHeader !== IpProtocol.tcp) return null;
      l4 = l3 + IPV6_HEADER_BYTES;
    } else return null;
    if (this.tcp.point(b, frameAt + l4, end) !== null) return null;
    const headers = l4 + this.tcp.headerLength;
    const payload = end - frameAt - headers;
    return payload > 0 ? { isIpv6, l3, l4, headers, mss, payload } : null;
  }
}
