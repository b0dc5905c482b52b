// Software receive offload (what GRO does, the counterpart of segmentation.ts): consecutive
// segments of one TCP flow, as a tunnel brings them apart, are merged back into one super-frame
// behind a vnet header (NEEDS_CSUM, GSO TCPv4/TCPv6), so that the port behind it takes one
// frame, not forty. Like Linux's tcp_gro_receive, a run holds only pure ACK segments with data
// whose headers match but for the lengths, IPv4 identification, sequence number and checksums,
// each starting where the last ended, all of one size but the last; a PSH ends the run.
import { EtherType, ETHERNET_HEADER_BYTES, VLAN_TAG_BYTES } from './ethernet';
import { be16, setBe16 } from './bytes';
import { ipv4PseudoSum, ipv6PseudoSum } from './checksum';
import { IpProtocol, Ipv4Packet } from './ipv4';
import { IPV6_HEADER_BYTES, Ipv6Packet } from './ipv6';
import { TCP_CHECKSUM_OFFSET, TcpFlag, TcpSegment } from './tcp';
import { emitVnetHeader, VNET_HEADER_BYTES, VnetFlag, VnetGso } from './vnet-header';

/** IPv4's total length bounds a super-frame's IP packet. */
const MAX_IP_PACKET = 65535;

function sameBytes(b: Uint8Array, x: number, y: number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

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
  /** The run: where its super-frame is built (a vnet header, then the frame), its first frame's
   *  layout, and what the next segment must be. -1 when no run is open. */
  private runAt = -1;
  private runEnd = 0;
  private runLimit = 0;
  private head: Layout | null = null;
  private nextSequence = 0;
  private mss = 0;
  private count = 0;
  private closed = false;
  /** What the run is for (the caller's output port). */
  private owner = -1;

  /**
   * @param b the arena frames are received into and runs are built in
   * @param reserve room for `bytes` in `b` (-1 when there is none), valid until the caller's flush
   * @param release the newest reservation ends at this offset after all
   * @param emit a finished run: a vnet header and a frame at `at`, `length` bytes, for `owner`
   */
  constructor(
    private readonly b: Uint8Array,
    private readonly reserve: (bytes: number) => number,
    private readonly release: (end: number) => void,
    private readonly emit: (owner: number, at: number, length: number) => void,
  ) {}

  /** Takes the frame [at, end) into the open run for `owner`, or ends that run and starts one
   *  with it; `room` bounds what a run started here can grow to (the bytes received with it).
   *  False when the frame cannot be merged: the caller delivers it, after calling finish. */
  add(owner: number, at: number, end: number, room: number): boolean {
    const layout = this.layout(at, end);
    if (layout !== null && this.continues(owner, at, layout)) {
      this.append(at, layout);
      return true;
    }
    this.finish();
    if (layout === null) return false;
    const runAt = this.reserve(VNET_HEADER_BYTES + room);
    if (runAt < 0) return false;
    this.b.copyWithin(runAt + VNET_HEADER_BYTES, at, end);
    this.runAt = runAt;
    this.runEnd = runAt + VNET_HEADER_BYTES + end - at;
    this.runLimit = runAt + VNET_HEADER_BYTES + room;
    this.head = layout;
    this.owner = owner;
    this.mss = layout.payload;
    this.count = 1;
    this.nextSequence = (layout.sequence + layout.payload) >>> 0;
    this.closed = (layout.flags & TcpFlag.psh) !== 0;
    return true;
  }

  /** Ends the open run, if any: its super-frame (or its one frame, as it came) goes to emit. */
  finish(): void {
    if (this.runAt < 0) return;
    const at = this.runAt;
    const length = this.runEnd - at;
    this.release(this.runEnd);
    this.runAt = -1;
    if (this.count === 1) emitVnetHeader(this.b, at, { flags: 0, gsoType: VnetGso.none, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
    else this.describe(at, length);
    this.emit(this.owner, at, length);
  }

  private continues(owner: number, at: number, next: Layout): boolean {
    const head = this.head;
    if (this.runAt < 0 || this.closed || owner !== this.owner || head === null) return false;
    if (next.sequence !== this.nextSequence || next.payload > this.mss || next.headers !== head.headers || next.l4 !== head.l4) return false;
    if (this.runEnd + next.payload > this.runLimit || this.runEnd - this.runAt - VNET_HEADER_BYTES - head.l3 + next.payload > MAX_IP_PACKET) return false;
    return this.sameHeaders(this.runAt + VNET_HEADER_BYTES, at, head);
  }

  /** Header bytes equal but for the fields that differ between segments of one send: IP
   *  lengths, IPv4 identification, checksums, the sequence number and the flags (checked apart). */
  private sameHeaders(runFrame: number, frame: number, head: Layout): boolean {
    const same = (from: number, to: number) => sameBytes(this.b, runFrame, frame, from, to);
    const { l3, l4 } = head;
    const ipSame = head.isIpv6
      ? same(0, l3 + 4) && same(l3 + 6, l4)
      : same(0, l3 + 2) && same(l3 + 6, l3 + 10) && same(l3 + 12, l4);
    return ipSame && same(l4, l4 + 4) && same(l4 + 8, l4 + 13) && same(l4 + 14, l4 + TCP_CHECKSUM_OFFSET) && same(l4 + TCP_CHECKSUM_OFFSET + 2, head.headers);
  }

  private append(at: number, next: Layout): void {
    this.b.copyWithin(this.runEnd, at + next.headers, at + next.headers + next.payload);
    this.runEnd += next.payload;
    this.count++;
    this.nextSequence = (next.sequence + next.payload) >>> 0;
    // A short segment or a PSH is the end of what the sender wrote: nothing follows in this run.
    this.closed = next.payload < this.mss || (next.flags & TcpFlag.psh) !== 0;
    if (next.flags & TcpFlag.psh) this.b[this.runAt + VNET_HEADER_BYTES + this.head!.l4 + 13] |= TcpFlag.psh;
  }

  /** The merged frame's lengths, IPv4 header checksum, TCP pseudo-header sum and vnet header. */
  private describe(at: number, length: number): void {
    const head = this.head!;
    const frame = at + VNET_HEADER_BYTES;
    const tcpLength = length - VNET_HEADER_BYTES - head.l4;
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
