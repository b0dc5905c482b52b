// Software TCP segmentation (what a NIC's TSO does): splits a TCPv4/TCPv6 GSO super-frame,
// as a vnet header describes it, into frames of at most gso_size payload bytes with complete
// checksums, for an output that cannot take super-frames. RFC 9293 §3.1 for the per-segment
// sequence numbers and flags; IPv4 identification advances per segment as Linux's GSO does.
import { EtherType, ETHERNET_HEADER_BYTES, VLAN_TAG_BYTES } from './ethernet';
import { be16, setBe16 } from './bytes';
import { ChunkSums, chunkSums, finishChecksum, foldSum, onesComplementSum } from './checksum';
import { IpProtocol, Ipv4Packet } from './ipv4';
import { IPV6_HEADER_BYTES, Ipv6Packet } from './ipv6';
import { TCP_CHECKSUM_OFFSET, TcpFlag, TcpSegment } from './tcp';
import { VNET_HEADER_BYTES, VnetGso, VnetHeader } from './vnet-header';

/** b[from, to) to out at `at`: one builtin call, no view object, when they are one array. */
function copy(b: Uint8Array, from: number, to: number, out: Uint8Array, at: number): void {
  if (b === out) out.copyWithin(at, from, to);
  else out.set(b.subarray(from, to), at);
}

export class Segmenter {
  private readonly vnet = new VnetHeader();
  private readonly ipv4 = new Ipv4Packet();
  private readonly ipv6 = new Ipv6Packet();
  private readonly tcp = new TcpSegment();

  /** Each segment's payload sum, for its TCP checksum. */
  private payloadSums = new Uint32Array(64);

  /** @param sums sums the payload per segment: the per-byte work of segmentation */
  constructor(private readonly sums: ChunkSums = chunkSums) {}

  /** Bytes `segment` writes to `out` for this super-frame (each segment's headers, after `gap`
   *  free bytes), or -1 when it cannot segment it (not TCP over IPv4/IPv6 without extension
   *  headers, or no segment size). */
  bytesNeeded(b: Uint8Array, vnetAt: number, end: number, gap = 0): number {
    const layout = this.layout(b, vnetAt, end);
    if (layout === null) return -1;
    return Math.ceil(layout.payload / layout.mss) * (gap + layout.headers);
  }

  /** Writes each segment's headers one after another into `out` from `outAt`, each after `gap`
   *  bytes left for the caller (an encapsulation header), and reports each segment as its
   *  headers there and its payload where it lies in `b`, not copied: the two make the segment.
   *  Returns how many. Call bytesNeeded first to size `out`. */
  segment(
    b: Uint8Array, vnetAt: number, end: number, out: Uint8Array, outAt: number,
    emit: (headersAt: number, headersLength: number, payloadAt: number, payloadLength: number) => void, gap = 0,
  ): number {
    const { isIpv6, l3, l4, headers, mss, payload } = this.layout(b, vnetAt, end)!;
    const frameAt = vnetAt + VNET_HEADER_BYTES;
    const payloadAt = frameAt + headers;
    const segments = Math.ceil(payload / mss);
    if (segments > this.payloadSums.length) this.payloadSums = new Uint32Array(segments);
    this.sums(b, payloadAt, payloadAt + payload, mss, this.payloadSums);
    // What differs between segments is summed per segment; the rest of the headers once:
    // IPv4 all but its total length, identification and checksum; TCP all but its sequence
    // number, offset and flags word and checksum, plus the pseudo-header but its length.
    const ip = frameAt + l3;
    const tcp = frameAt + l4;
    const ipRest = isIpv6 ? 0 : onesComplementSum(b, ip, ip + 2, onesComplementSum(b, ip + 6, ip + 10, onesComplementSum(b, ip + 12, tcp)));
    const tcpRest = (isIpv6 ? onesComplementSum(b, ip + 8, ip + 40) : onesComplementSum(b, ip + 12, ip + 20)) + IpProtocol.tcp
      + onesComplementSum(b, tcp, tcp + 4, onesComplementSum(b, tcp + 8, tcp + 12, onesComplementSum(b, tcp + 14, tcp + TCP_CHECKSUM_OFFSET, onesComplementSum(b, tcp + TCP_CHECKSUM_OFFSET + 2, payloadAt))));
    const firstSequence = this.tcp.sequence;
    const flags = this.tcp.flags;
    const offsetByte = b[tcp + 12] << 8;
    const identification = isIpv6 ? 0 : this.ipv4.identification;
    let at = outAt + gap;
    for (let i = 0; i < segments; i++) {
      const sent = i * mss;
      const chunk = Math.min(mss, payload - sent);
      copy(b, frameAt, frameAt + headers, out, at);
      const tcpLength = headers - l4 + chunk;
      if (isIpv6) setBe16(out, at + l3 + 4, tcpLength);
      else {
        const totalLength = l4 - l3 + tcpLength;
        const id = (identification + i) & 0xffff;
        setBe16(out, at + l3 + 2, totalLength);
        setBe16(out, at + l3 + 4, id);
        setBe16(out, at + l3 + 10, finishChecksum(foldSum(ipRest + totalLength + id)));
      }
      const sequence = (firstSequence + sent) >>> 0;
      let segmentFlags = flags;
      if (sent + chunk < payload) segmentFlags &= ~(TcpFlag.fin | TcpFlag.psh);
      if (i > 0) segmentFlags &= ~TcpFlag.cwr;
      const segmentTcp = at + l4;
      setBe16(out, segmentTcp + 4, sequence >>> 16);
      setBe16(out, segmentTcp + 6, sequence & 0xffff);
      out[segmentTcp + 13] = segmentFlags;
      const sum = tcpRest + tcpLength + (sequence >>> 16) + (sequence & 0xffff) + (offsetByte | segmentFlags) + this.payloadSums[i];
      setBe16(out, segmentTcp + TCP_CHECKSUM_OFFSET, finishChecksum(foldSum(sum)));
      emit(at, headers, payloadAt + sent, chunk);
      at += headers + gap;
    }
    return segments;
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
