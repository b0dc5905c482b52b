// The flow key: the fields a frame is switched on, packed into KEY_WORDS 32-bit slots so that
// it hashes and compares as plain numbers (no strings, no objects per frame).
// Files, not the folder's index: see the imports of src/datapath/datapath.ts.
import { ArpPacket } from '../packet/arp';
import { be16 } from '../packet/bytes';
import { EthernetFrame, EtherType, VlanTag, VLAN_TAG_BYTES } from '../packet/ethernet';
import { IpProtocol, Ipv4Packet } from '../packet/ipv4';
import { Ipv6Packet } from '../packet/ipv6';
import { Icmpv4Type } from '../packet/icmpv4';
import { Icmpv6Type } from '../packet/icmpv6';

/** Word offsets inside one key. */
export const KeyWord = {
  /** in_port << 16 | 802.1Q TCI of the outer tag (0 when untagged). */
  inPortVlan: 0,
  /** ethertype << 16 | IP protocol << 8 | KeyFlag bits. */
  typeProtoFlags: 1,
  /** destination MAC (6 bytes) then source MAC (6 bytes), big-endian. */
  macs: 2,
  /** IPv4 address in the first word, IPv6 in all four; ARP's sender address, then its sender
   *  hardware address in the next two words (what port security checks). */
  networkSource: 5,
  /** Same for the destination; ARP's target address. */
  networkDestination: 9,
  /** L4 source port << 16 | destination port; ICMP type << 24 | code << 16 | an echo's
   *  identifier (what NAT translates an echo's by, as a port); ARP opcode << 16. */
  transport: 13,
} as const;
export const KEY_WORDS = 14;

/** `lastHop`: an IPv4 TTL or IPv6 hop limit of 1 or less, which a router answers with an
 *  ICMP error instead of forwarding: such frames must not share a flow with the others.
 *  `tcpOpening`: a TCP SYN without ACK, which opens a connection, so that connection tracking
 *  decides on each opening. Every later segment of a connection (SYN-ACK, data, FIN, RST)
 *  shares one flow per direction: the first of each direction comes up, and the datapath
 *  tells connection tracking of the FINs and resets its flows forward (ConnectionCloses). */
export const KeyFlag = { vlan: 1, fragment: 2, truncated: 4, lastHop: 8, tcpOpening: 16 } as const;
/** TCP's control bits as connection tracking reads them. */
export const TcpBits = { syn: 1, fin: 2, rst: 4, ack: 8 } as const;
/** The byte of TCP's control bits (RFC 9293, 3.1): FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10. */
const TCP_FLAGS_AT = 13;

/** IPv6 extension headers walked to find the upper-layer protocol (RFC 8200 §4). */
const Ipv6Extension = { hopByHop: 0, routing: 43, fragment: 44, destinationOptions: 60 } as const;
const MAX_IPV6_EXTENSIONS = 8;

/** Fills `key[at .. at+KEY_WORDS)` from a frame, reusing its views: the hot path allocates nothing. */
export class FlowKeyExtractor {
  private readonly ethernet = new EthernetFrame();
  private readonly vlan = new VlanTag();
  private readonly ipv4 = new Ipv4Packet();
  private readonly ipv6 = new Ipv6Packet();
  private readonly arp = new ArpPacket();
  /** The last frame's TCP control bits (TcpBits), 0 for anything but a readable TCP segment:
   *  what the key leaves out of them. */
  tcpControl = 0;

  /** Returns false for a frame too short to be Ethernet; anything deeper that is malformed is
   *  keyed on what could be read and flagged `truncated`, so a switch still forwards it. */
  extract(frame: Uint8Array, start: number, end: number, inPort: number, key: Uint32Array, at: number): boolean {
    key.fill(0, at, at + KEY_WORDS);
    this.tcpControl = 0;
    if (this.ethernet.point(frame, start, end) !== null) return false;
    const m = this.ethernet.destinationAt;
    key[at + KeyWord.macs] = ((frame[m] << 24) | (frame[m + 1] << 16) | (frame[m + 2] << 8) | frame[m + 3]) >>> 0;
    key[at + KeyWord.macs + 1] = ((frame[m + 4] << 24) | (frame[m + 5] << 16) | (frame[m + 6] << 8) | frame[m + 7]) >>> 0;
    key[at + KeyWord.macs + 2] = ((frame[m + 8] << 24) | (frame[m + 9] << 16) | (frame[m + 10] << 8) | frame[m + 11]) >>> 0;
    let ethertype = this.ethernet.ethertype;
    let l3 = this.ethernet.payloadAt;
    let flags = 0;
    let tci = 0;
    if (ethertype === EtherType.vlan || ethertype === EtherType.qinq) {
      flags |= KeyFlag.vlan;
      if (this.vlan.point(frame, l3, end) !== null) {
        key[at + KeyWord.typeProtoFlags] = (ethertype << 16) | flags | KeyFlag.truncated;
        return true;
      }
      tci = this.vlan.tci;
      ethertype = this.vlan.ethertype;
      l3 += VLAN_TAG_BYTES;
    }
    key[at + KeyWord.inPortVlan] = ((inPort << 16) | tci) >>> 0;
    let proto = 0;
    let l4 = -1;
    if (ethertype === EtherType.ipv4) {
      if (this.ipv4.point(frame, l3, end) !== null) flags |= KeyFlag.truncated;
      else {
        proto = this.ipv4.protocol;
        key[at + KeyWord.networkSource] = readWord(frame, this.ipv4.sourceAt);
        key[at + KeyWord.networkDestination] = readWord(frame, this.ipv4.destinationAt);
        if (this.ipv4.moreFragments || this.ipv4.fragmentOffset !== 0) flags |= KeyFlag.fragment;
        if (this.ipv4.ttl <= 1) flags |= KeyFlag.lastHop;
        if (this.ipv4.fragmentOffset === 0) l4 = this.ipv4.payloadAt;
      }
    } else if (ethertype === EtherType.ipv6) {
      if (this.ipv6.point(frame, l3, end) !== null) flags |= KeyFlag.truncated;
      else {
        for (let w = 0; w < 4; w++) {
          key[at + KeyWord.networkSource + w] = readWord(frame, this.ipv6.sourceAt + w * 4);
          key[at + KeyWord.networkDestination + w] = readWord(frame, this.ipv6.destinationAt + w * 4);
        }
        proto = this.ipv6.nextHeader;
        l4 = this.ipv6.payloadAt;
        if (this.ipv6.hopLimit <= 1) flags |= KeyFlag.lastHop;
        for (let hops = 0; hops < MAX_IPV6_EXTENSIONS && l4 >= 0; hops++) {
          if (proto === Ipv6Extension.fragment) {
            if (l4 + 8 > end) l4 = -1;
            else {
              flags |= KeyFlag.fragment;
              const later = (be16(frame, l4 + 2) & 0xfff8) !== 0;
              proto = frame[l4];
              l4 = later ? -1 : l4 + 8; // only the first fragment carries the L4 header
            }
          } else if (proto === Ipv6Extension.hopByHop || proto === Ipv6Extension.routing || proto === Ipv6Extension.destinationOptions) {
            if (l4 + 2 > end) l4 = -1;
            else {
              proto = frame[l4];
              l4 += (frame[l4 + 1] + 1) * 8;
            }
          } else break;
        }
        if (l4 > end) {
          flags |= KeyFlag.truncated;
          l4 = -1;
        }
      }
    } else if (ethertype === EtherType.arp) {
      if (this.arp.point(frame, l3, end) !== null) flags |= KeyFlag.truncated;
      else {
        key[at + KeyWord.networkSource] = readWord(frame, this.arp.spaAt);
        const sha = this.arp.shaAt;
        key[at + KeyWord.networkSource + 1] = readWord(frame, sha);
        key[at + KeyWord.networkSource + 2] = ((frame[sha + 4] << 24) | (frame[sha + 5] << 16)) >>> 0;
        key[at + KeyWord.networkDestination] = readWord(frame, this.arp.tpaAt);
        key[at + KeyWord.transport] = this.arp.oper << 16;
      }
    }
    if (l4 >= 0) {
      if (proto === IpProtocol.tcp || proto === IpProtocol.udp) {
        if (l4 + 4 <= end) key[at + KeyWord.transport] = ((be16(frame, l4) << 16) | be16(frame, l4 + 2)) >>> 0;
        else flags |= KeyFlag.truncated;
        if (proto === IpProtocol.tcp && l4 + TCP_FLAGS_AT < end) {
          const bits = frame[l4 + TCP_FLAGS_AT];
          this.tcpControl = ((bits & 0x02) >>> 1) | ((bits & 0x01) << 1) | (bits & 0x04) | ((bits & 0x10) >>> 1); // to TcpBits
          if ((bits & 0x12) === 0x02) flags |= KeyFlag.tcpOpening;
        }
      } else if (proto === IpProtocol.icmp || proto === IpProtocol.icmpv6) {
        if (l4 + 2 <= end) {
          const type = frame[l4];
          const echo = proto === IpProtocol.icmp ? type === Icmpv4Type.echoRequest || type === Icmpv4Type.echoReply : type === Icmpv6Type.echoRequest || type === Icmpv6Type.echoReply;
          const identifier = echo && l4 + 6 <= end ? be16(frame, l4 + 4) : 0;
          key[at + KeyWord.transport] = ((type << 24) | (frame[l4 + 1] << 16) | identifier) >>> 0;
        } else flags |= KeyFlag.truncated;
      }
    }
    key[at + KeyWord.typeProtoFlags] = ((ethertype << 16) | (proto << 8) | flags) >>> 0;
    return true;
  }
}

function readWord(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** 32-bit hash of one key (murmur3's mixing per word, fmix32 at the end). */
export function hashKey(key: Uint32Array, at: number): number {
  let h = 0x9747b28c;
  for (let i = at; i < at + KEY_WORDS; i++) {
    let k = Math.imul(key[i], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key's fields in words, for flow dumps, logs and the slow path. */
export interface FlowKeyFields {
  inPort: number;
  vlanTci: number;
  ethertype: number;
  ipProtocol: number;
  flags: number;
  destinationMac: Uint8Array;
  sourceMac: Uint8Array;
  networkSource: Uint8Array;
  networkDestination: Uint8Array;
  /** L4 ports; ICMP's type and code; ARP's opcode in the source. */
  transportSource: number;
  transportDestination: number;
  /** An ICMP echo request's or reply's identifier, else 0. */
  icmpIdentifier: number;
  /** ARP's sender hardware address (zeros for anything else). */
  arpSourceMac: Uint8Array;
}

export function describeKey(key: Uint32Array, at: number): FlowKeyFields {
  const macs = new Uint8Array(12);
  for (let w = 0; w < 3; w++) writeWord(macs, w * 4, key[at + KeyWord.macs + w]);
  const ipv6 = key[at + KeyWord.typeProtoFlags] >>> 16 === EtherType.ipv6;
  const address = (first: number) => {
    const out = new Uint8Array(ipv6 ? 16 : 4);
    for (let w = 0; w < out.length / 4; w++) writeWord(out, w * 4, key[at + first + w]);
    return out;
  };
  const typeProto = key[at + KeyWord.typeProtoFlags];
  const icmp = ((typeProto >>> 8) & 0xff) === IpProtocol.icmp || ((typeProto >>> 8) & 0xff) === IpProtocol.icmpv6;
  const transport = key[at + KeyWord.transport];
  const arpSourceMac = new Uint8Array(8);
  if (typeProto >>> 16 === EtherType.arp) for (let w = 0; w < 2; w++) writeWord(arpSourceMac, w * 4, key[at + KeyWord.networkSource + 1 + w]);
  return {
    inPort: key[at + KeyWord.inPortVlan] >>> 16,
    vlanTci: key[at + KeyWord.inPortVlan] & 0xffff,
    ethertype: typeProto >>> 16,
    ipProtocol: (typeProto >>> 8) & 0xff,
    flags: typeProto & 0xff,
    destinationMac: macs.subarray(0, 6),
    sourceMac: macs.subarray(6, 12),
    networkSource: address(KeyWord.networkSource),
    networkDestination: address(KeyWord.networkDestination),
    transportSource: icmp ? transport >>> 24 : transport >>> 16,
    transportDestination: icmp ? (transport >>> 16) & 0xff : transport & 0xffff,
    icmpIdentifier: icmp ? transport & 0xffff : 0,
    arpSourceMac: arpSourceMac.subarray(0, 6),
  };
}

function writeWord(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = value >>> 16;
  b[at + 2] = value >>> 8;
  b[at + 3] = value;
}

/** A key as text in the style of ovs-ofctl: `in_port=1,dl_src=…,dl_dst=…,dl_type=0x0800,…`. */
export function formatKey(fields: FlowKeyFields, formatMac: (b: Uint8Array) => string, formatAddress: (b: Uint8Array) => string): string {
  const parts = [`in_port=${fields.inPort}`];
  if (fields.flags & KeyFlag.vlan) parts.push(`dl_vlan=${fields.vlanTci & 0x0fff}`);
  parts.push(`dl_src=${formatMac(fields.sourceMac)}`, `dl_dst=${formatMac(fields.destinationMac)}`);
  parts.push(`dl_type=0x${fields.ethertype.toString(16).padStart(4, '0')}`);
  const isIp = fields.ethertype === EtherType.ipv4 || fields.ethertype === EtherType.ipv6;
  if (isIp || fields.ethertype === EtherType.arp) {
    parts.push(`nw_src=${formatAddress(fields.networkSource)}`, `nw_dst=${formatAddress(fields.networkDestination)}`);
  }
  if (isIp) parts.push(`nw_proto=${fields.ipProtocol}`);
  if (isIp && fields.ipProtocol !== 0) parts.push(`tp_src=${fields.transportSource}`, `tp_dst=${fields.transportDestination}`);
  if (fields.icmpIdentifier) parts.push(`icmp_id=${fields.icmpIdentifier}`);
  if (fields.ethertype === EtherType.arp) parts.push(`arp_op=${fields.transportSource}`, `arp_sha=${formatMac(fields.arpSourceMac)}`);
  if (fields.flags & KeyFlag.fragment) parts.push('nw_frag=yes');
  if (fields.flags & KeyFlag.lastHop) parts.push('nw_ttl<=1');
  if (fields.flags & KeyFlag.truncated) parts.push('truncated');
  if (fields.flags & KeyFlag.tcpOpening) parts.push('tcp_flags=+syn-ack');
  return parts.join(',');
}
