// Software receive offload (what GRO does, the counterpart of segmentation.ts): consecutive
// segments of one TCP flow, as a tunnel brings them apart, are merged back into one super-frame
// behind a vnet header (NEEDS_CSUM, GSO TCPv4/TCPv6), so that the port behind it takes one
// frame, not forty. Like Linux's tcp_gro_receive, a run holds only pure ACK segments with data
// whose headers match but for the lengths, IPv4 identification, sequence number and checksums,
// each starting where the last ended, all of one size but the last; a PSH ends the run.
import { EtherType, ETHERNET_HEADER_BYTES, VLAN_TAG_BYTES } from './ethernet';
import { be16, be32, setBe16 } from './bytes';
import { ipv4PseudoSum, ipv6PseudoSum } from './checksum';
import { IpProtocol, Ipv4Packet } from './ipv4';
import { IPV6_HEADER_BYTES, Ipv6Packet } from './ipv6';
import { TCP_CHECKSUM_OFFSET, TcpFlag, TcpSegment } from './tcp';
import { emitVnetHeader, VNET_HEADER_BYTES, VnetFlag, VnetGso } from './vnet-header';

/** IPv4's total length bounds a super-frame's IP packet. */
const MAX_IP_PACKET = 65535;
/** Segments per run, as Linux's GRO (and one send's iovecs) allow. */
const MAX_RUN_SEGMENTS = 64;

interface Layout {
  isIpv6: boolean;
  l3: number;
  l4: number;
  headers: number;
  sequence: number;
  flags: number;
  payload: number;
}

export class TcpCoalescer {
  private readonly ipv4 = new Ipv4Packet();
  private readonly ipv6 = new Ipv6Packet();
  private readonly tcp = new TcpSegment();
  private readonly words: DataView;
  /** The open run: its first frame where it was received, that frame's layout, the block where
   *  its vnet header and headers are written, and what the next segment must be. */
  private headAt = -1;
  private head: Layout | null = null;
  /** The layout of a segment that follows the head, read without a parse (see follows). */
  private readonly next: Layout = { isIpv6: false, l3: 0, l4: 0, headers: 0, sequence: 0, flags: 0, payload: 0 };
  private blockAt = 0;
  private nextSequence = 0;
  private mss = 0;
  private ipBytes = 0;
  private closed = false;
  /** The last segment had PSH: the merged frame has it. */
  private pushed = false;
  /** What the run is for (the caller's output port). */
  private owner = -1;
  /** The run as pieces of `b`: the block, then each segment's payload where it was received. */
  private readonly offsets = new Uint32Array(MAX_RUN_SEGMENTS + 1);
  private readonly lengths = new Uint32Array(MAX_RUN_SEGMENTS + 1);
  private pieces = 0;
  /** Segments that joined a run after its first: received, and sent as part of another. */
  merged = 0;

  /**
   * @param b the arena frames are received into
   * @param reserve room for `bytes` in `b` (-1 when there is none), valid until the caller's flush
   * @param emit a finished run for `owner`: pieces[0, count) of `b` (offsets, lengths), a vnet
   *   header and a frame together; the arrays are valid during the call only
   */
  constructor(
    private readonly b: Uint8Array,
    private readonly reserve: (bytes: number) => number,
    private readonly emit: (owner: number, offsets: Uint32Array, lengths: Uint32Array, count: number) => void,
  ) {
    this.words = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Takes the frame [at, end) into the open run for `owner`, or ends that run and starts one
   *  with it. The frame must stay where it is until the caller's flush: the run points at it.
   *  False when the frame cannot be merged: the caller delivers it, after calling finish. */
  add(owner: number, at: number, end: number): boolean {
    if (this.follows(owner, at, end) && this.continues(this.next)) {
      this.append(at, this.next);
      this.merged++;
      return true;
    }
    this.finish();
    const layout = this.layout(at, end);
    if (layout === null) return false;
    const blockAt = this.reserve(VNET_HEADER_BYTES + layout.headers);
    if (blockAt < 0) return false;
    this.headAt = at;
    this.head = layout;
    this.blockAt = blockAt;
    this.owner = owner;
    this.mss = layout.payload;
    this.ipBytes = end - at - layout.l3;
    this.nextSequence = (layout.sequence + layout.payload) >>> 0;
    this.closed = (layout.flags & TcpFlag.psh) !== 0;
    this.pushed = false;
    this.pieces = 1;
    this.piece(at + layout.headers, layout.payload);
    return true;
  }

  /** Ends the open run, if any: its super-frame (or its one frame, as it came) goes to emit. */
  finish(): void {
    if (this.headAt < 0) return;
    const b = this.b;
    const head = this.head!;
    const block = this.blockAt;
    if (this.pieces === 2) {
      emitVnetHeader(b, block, { flags: 0, gsoType: VnetGso.none, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
      this.offsets[0] = block;
      this.lengths[0] = VNET_HEADER_BYTES;
      this.offsets[1] = this.headAt;
      this.lengths[1] = head.headers + head.payload;
    } else {
      b.copyWithin(block + VNET_HEADER_BYTES, this.headAt, this.headAt + head.headers);
      if (this.pushed) b[block + VNET_HEADER_BYTES + head.l4 + 13] |= TcpFlag.psh;
      this.describe(block);
      this.offsets[0] = block;
      this.lengths[0] = VNET_HEADER_BYTES + head.headers;
    }
    this.headAt = -1;
    this.emit(this.owner, this.offsets, this.lengths, this.pieces);
  }

  private piece(at: number, length: number): void {
    this.offsets[this.pieces] = at;
    this.lengths[this.pieces++] = length;
  }

  /** Whether [at, end), for `owner`, has the open run's headers but for the fields that vary
   *  between segments, with lengths that agree and only ACK (and PSH) set: then its layout is
   *  the head's, and `next` gets it without a parse. A segment that does not cannot join. */
  private follows(owner: number, at: number, end: number): boolean {
    const head = this.head;
    if (this.headAt < 0 || owner !== this.owner || head === null || end - at <= head.headers) return false;
    if (!this.sameHeaders(this.headAt, at, head)) return false;
    const b = this.b;
    const ipLength = head.isIpv6 ? end - at - head.l4 : end - at - head.l3;
    const flags = b[at + head.l4 + 13];
    if (be16(b, at + head.l3 + (head.isIpv6 ? 4 : 2)) !== ipLength || (flags & ~TcpFlag.psh) !== TcpFlag.ack) return false;
    const next = this.next;
    next.isIpv6 = head.isIpv6;
    next.l3 = head.l3;
    next.l4 = head.l4;
    next.headers = head.headers;
    next.sequence = be32(b, at + head.l4 + 4);
    next.flags = flags;
    next.payload = end - at - head.headers;
    return true;
  }

  /** Whether a segment that follows the head (see follows) extends the open run. */
  private continues(next: Layout): boolean {
    if (this.closed || this.pieces > MAX_RUN_SEGMENTS) return false;
    return next.sequence === this.nextSequence && next.payload <= this.mss && this.ipBytes + next.payload <= MAX_IP_PACKET;
  }

  /** Header bytes equal but for the fields that differ between segments of one send: IP
   *  lengths, IPv4 identification, checksums, the sequence number and the flags (checked apart). */
  private sameHeaders(x: number, y: number, head: Layout): boolean {
    const { l3, l4 } = head;
    const ipSame = head.isIpv6
      ? this.same(x, y, 0, l3 + 4) && this.same(x, y, l3 + 6, l4)
      : this.same(x, y, 0, l3 + 2) && this.same(x, y, l3 + 6, l3 + 10) && this.same(x, y, l3 + 12, l4);
    return ipSame && this.same(x, y, l4, l4 + 4) && this.same(x, y, l4 + 8, l4 + 13) && this.same(x, y, l4 + 14, l4 + TCP_CHECKSUM_OFFSET)
      && this.same(x, y, l4 + TCP_CHECKSUM_OFFSET + 2, head.headers);
  }

  /** Whether b[x+from, x+to) and b[y+from, y+to) are equal: four bytes at a time. */
  private same(x: number, y: number, from: number, to: number): boolean {
    let i = from;
    for (; i + 4 <= to; i += 4) if (this.words.getUint32(x + i) !== this.words.getUint32(y + i)) return false;
    for (; i < to; i++) if (this.b[x + i] !== this.b[y + i]) return false;
    return true;
  }

  private append(at: number, next: Layout): void {
    this.piece(at + next.headers, next.payload);
    this.ipBytes += next.payload;
    this.nextSequence = (next.sequence + next.payload) >>> 0;
    // A short segment or a PSH is the end of what the sender wrote: nothing follows in this run.
    this.pushed = (next.flags & TcpFlag.psh) !== 0;
    this.closed = next.payload < this.mss || this.pushed;
  }

  /** The merged frame's lengths, IPv4 header checksum, TCP pseudo-header sum and vnet header. */
  private describe(at: number): void {
    const head = this.head!;
    const frame = at + VNET_HEADER_BYTES;
    const tcpLength = this.ipBytes - (head.l4 - head.l3);
    let pseudo: number;
    if (head.isIpv6) {
      setBe16(this.b, frame + head.l3 + 4, tcpLength);
      pseudo = ipv6PseudoSum(this.b, frame + head.l3, IpProtocol.tcp, tcpLength);
    } else {
      const ip = this.ipv4;
      ip.point(this.b, frame + head.l3, frame + head.l4);
      ip.totalLength = head.l4 - head.l3 + tcpLength;
      ip.fillChecksum();
      pseudo = ipv4PseudoSum(this.b, frame + head.l3, IpProtocol.tcp, tcpLength);
    }
    // NEEDS_CSUM: the field holds the folded pseudo-header sum; whoever finishes adds the rest.
    setBe16(this.b, frame + head.l4 + TCP_CHECKSUM_OFFSET, pseudo);
    emitVnetHeader(this.b, at, {
      flags: VnetFlag.needsChecksum,
      gsoType: head.isIpv6 ? VnetGso.tcpv6 : VnetGso.tcpv4,
      hdrLen: head.headers,
      gsoSize: this.mss,
      csumStart: head.l4,
      csumOffset: TCP_CHECKSUM_OFFSET,
    });
  }

  /** The frame's layout when it is a TCP segment a run may hold, else null. */
  private layout(at: number, end: number): Layout | null {
    const b = this.b;
    if (end - at < ETHERNET_HEADER_BYTES) return null;
    let l3 = ETHERNET_HEADER_BYTES;
    let ethertype = be16(b, at + 12);
    if (ethertype === EtherType.vlan) {
      if (end - at < ETHERNET_HEADER_BYTES + VLAN_TAG_BYTES) return null;
      ethertype = be16(b, at + 16);
      l3 += VLAN_TAG_BYTES;
    }
    let l4: number;
    let ipEnd: number;
    const isIpv6 = ethertype === EtherType.ipv6;
    if (ethertype === EtherType.ipv4) {
      const ip = this.ipv4;
      if (ip.point(b, at + l3, end) !== null || ip.protocol !== IpProtocol.tcp || ip.moreFragments || ip.fragmentOffset !== 0) return null;
      l4 = l3 + ip.headerLength;
      ipEnd = at + l3 + ip.totalLength;
    } else if (isIpv6) {
      const ip = this.ipv6;
      if (ip.point(b, at + l3, end) !== null || ip.nextHeader !== IpProtocol.tcp) return null;
      l4 = l3 + IPV6_HEADER_BYTES;
      ipEnd = at + l4 + ip.payloadLength;
    } else return null;
    // Padding after the IP packet (a short frame) would be taken for data.
    if (ipEnd !== end) return null;
    const tcp = this.tcp;
    if (tcp.point(b, at + l4, end) !== null || (tcp.flags & ~TcpFlag.psh) !== TcpFlag.ack) return null;
    const headers = l4 + tcp.headerLength;
    const payload = end - at - headers;
    return payload > 0 ? { isIpv6, l3, l4, headers, sequence: tcp.sequence, flags: tcp.flags, payload } : null;
  }
}
