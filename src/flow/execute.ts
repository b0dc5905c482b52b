// Runs a flow's program on one frame. Frames sit in the datapath's arena as a 10-byte vnet
// header followed by the Ethernet frame; unmodified frames are handed to their outputs in
// place (zero copy), a VLAN push or pop writes a copy into the executor's scratch space, and
// a field is rewritten in place unless an earlier output still holds the frame as it was.
// Files, not the folder's index: see the imports of src/datapath/datapath.ts.
import { updateChecksum } from '../packet/checksum';
import { EtherType, VLAN_TAG_BYTES } from '../packet/ethernet';
import { Icmpv4Type, isIcmpv4Error } from '../packet/icmpv4';
import { VNET_HEADER_BYTES, VnetFlag, VnetGso } from '../packet/vnet-header';
import { dropCode, Op } from './actions';

export interface FrameSink {
  /** Queue arena[at, at+length) (vnet header included) for transmission on `port`. */
  output(port: number, arena: Uint8Array, at: number, length: number): void;
  /** Count one dropped frame under the reason with this code (DROP_REASONS). */
  drop(reasonCode: number): void;
  /** Queue arena[at, at+length) for the tunnel: VNI `key`, to the host at `remote` (IPv4 as a number). */
  tunnel(key: number, remote: number, arena: Uint8Array, at: number, length: number): void;
}

const MAC_BYTES = 12;
const NO_OUTPUT = dropCode('noOutput');
const NO_BUFFER = dropCode('noBuffer');
const VLAN_MISMATCH = dropCode('vlanMismatch');
const TTL_EXPIRED = dropCode('ttlExpired');
const MALFORMED = dropCode('malformed');
const IPV4_TTL = 8;
const IPV4_PROTOCOL = 9;
const IPV4_CHECKSUM = 10;
const IPV4_SOURCE = 12;
const IPV4_DESTINATION = 16;
const IPV4_MIN_HEADER = 20;
const ICMP = 1;
const TCP = 6;
const UDP = 17;
const ICMP_HEADER = 8;
const ICMP_CHECKSUM = 2;
const ICMP_IDENTIFIER = 4;
const TCP_CHECKSUM = 16;
const UDP_CHECKSUM = 6;
const IPV6_HOP_LIMIT = 7;
const IPV6_NEXT_HEADER = 6;
const IPV6_SOURCE = 8;
const IPV6_DESTINATION = 24;
const IPV6_HEADER = 40;
const ICMPV6 = 58;

export class ActionExecutor {
  private used = 0;

  /** `scratch` must be a region of the same arena the sink transmits from. */
  constructor(private readonly arena: Uint8Array, private readonly scratchAt: number, private readonly scratchBytes: number) {}

  /** Frees the scratch space: call once the batch's outputs have been sent. */
  reset(): void {
    this.used = 0;
  }

  /** Runs `program` on the frame; returns how many outcomes it told the sink (outputs, and a
   *  drop): more than one for a frame sent to several ports, or sent and then dropped. */
  run(program: Int32Array, at: number, length: number, sink: FrameSink): number {
    let frameAt = at;
    let frameLength = length;
    let outputs = 0;
    /** Whether an output holds the frame at frameAt: it must not be rewritten in place then. */
    let handedOut = false;
    for (let i = 0; i < program.length; i += 2) {
      const op = program[i];
      const arg = program[i + 1];
      if (op === Op.output) {
        sink.output(arg, this.arena, frameAt, frameLength);
        outputs++;
        handedOut = true;
      } else if (op === Op.tunnel) {
        sink.tunnel(arg, program[i + 3] >>> 0, this.arena, frameAt, frameLength);
        outputs++;
        handedOut = true;
        i += 2;
      } else if (op === Op.pushVlan || op === Op.popVlan) {
        const copyAt = op === Op.pushVlan ? this.pushVlan(frameAt, frameLength, arg) : this.popVlan(frameAt, frameLength);
        if (copyAt < 0) {
          sink.drop(copyAt === -2 ? VLAN_MISMATCH : NO_BUFFER);
          return outputs + 1;
        }
        frameLength += op === Op.pushVlan ? VLAN_TAG_BYTES : -VLAN_TAG_BYTES;
        frameAt = copyAt;
        handedOut = false;
      } else if (op === Op.setEth || op === Op.decTtl || (op >= Op.setIpv4Source && op <= Op.setIpv6Destination)) {
        if (handedOut) {
          const copyAt = this.reserve(frameLength);
          if (copyAt < 0) {
            sink.drop(NO_BUFFER);
            return outputs + 1;
          }
          this.arena.copyWithin(copyAt, frameAt, frameAt + frameLength);
          frameAt = copyAt;
          handedOut = false;
        }
        if (op === Op.setEth) {
          writeWord(this.arena, frameAt + VNET_HEADER_BYTES, arg);
          writeWord(this.arena, frameAt + VNET_HEADER_BYTES + 4, program[i + 3]);
          writeWord(this.arena, frameAt + VNET_HEADER_BYTES + 8, program[i + 5]);
          i += 4;
        } else if (op === Op.setIpv6Source || op === Op.setIpv6Destination) {
          const problem = this.setIpv6(frameAt, frameLength, op === Op.setIpv6Source ? IPV6_SOURCE : IPV6_DESTINATION, program, i + 1);
          i += 6;
          if (problem >= 0) {
            sink.drop(problem);
            return outputs + 1;
          }
        } else {
          const field = op === Op.setIpv4Source || op === Op.setQuotedIpv4Source ? IPV4_SOURCE : IPV4_DESTINATION;
          const problem = op === Op.decTtl ? this.decrementTtl(frameAt, frameLength)
            : op <= Op.setIpv4Destination ? this.setIpv4(frameAt, frameLength, field, arg)
            : op <= Op.setQuotedIpv4Destination ? this.setQuotedIpv4(frameAt, frameLength, field, arg)
            : op <= Op.setL4Destination ? this.setL4Port(frameAt, frameLength, op === Op.setL4Source ? 0 : 2, arg)
            : this.setQuotedL4Port(frameAt, frameLength, op === Op.setQuotedL4Source ? 0 : 2, arg);
          if (problem >= 0) {
            sink.drop(problem);
            return outputs + 1;
          }
        }
      } else if (op === Op.drop) {
        sink.drop(arg);
        return outputs + 1;
      }
    }
    if (outputs === 0) sink.drop(NO_OUTPUT);
    return Math.max(outputs, 1);
  }

  /** Copies a frame held outside the arena (one that waited for the slow path) into scratch
   *  space; returns where, or -1 when the scratch space is full (send, reset, try again). */
  stage(frame: Uint8Array): number {
    const at = this.reserve(frame.length);
    if (at >= 0) this.arena.set(frame, at);
    return at;
  }

  /** Scratch space for `bytes` (valid until reset); its offset, or -1 when full. */
  reserve(bytes: number): number {
    if (this.used + bytes > this.scratchBytes) return -1;
    const at = this.scratchAt + this.used;
    this.used += bytes;
    return at;
  }

  /** Where the frame's L3 header starts, and its ethertype. */
  private l3Of(at: number): [number, number] {
    const a = this.arena;
    let l3 = at + VNET_HEADER_BYTES + MAC_BYTES;
    let type = (a[l3] << 8) | a[l3 + 1];
    if (type === EtherType.vlan) {
      l3 += VLAN_TAG_BYTES;
      type = (a[l3] << 8) | a[l3 + 1];
    }
    return [l3 + 2, type];
  }

  /** Rewrites the IPv4 address at `field` of the header to `address` and updates the
   *  checksums it is in: the header's, and TCP's or UDP's (their pseudo-header holds it), in
   *  the first fragment. A checksum the device will finish (vnet NEEDS_CSUM) holds the
   *  pseudo-header's sum itself, not its complement: it is updated as such. UDP's 0 (none)
   *  stays. -1 when done, else the code of the drop reason. */
  private setIpv4(at: number, length: number, field: number, address: number): number {
    const a = this.arena;
    const [l3, type] = this.l3Of(at);
    const end = at + length;
    if (type !== EtherType.ipv4 || l3 + IPV4_MIN_HEADER > end) return MALFORMED;
    const oldHigh = (a[l3 + field] << 8) | a[l3 + field + 1];
    const oldLow = (a[l3 + field + 2] << 8) | a[l3 + field + 3];
    const newHigh = (address >>> 16) & 0xffff;
    const newLow = address & 0xffff;
    write16(a, l3 + IPV4_CHECKSUM, swapWords(read16(a, l3 + IPV4_CHECKSUM), false, oldHigh, newHigh, oldLow, newLow));
    const l4 = l3 + (a[l3] & 0x0f) * 4;
    const firstFragment = (read16(a, l3 + 6) & 0x1fff) === 0;
    const protocol = a[l3 + IPV4_PROTOCOL];
    const checksumAt = protocol === TCP ? l4 + TCP_CHECKSUM : protocol === UDP ? l4 + UDP_CHECKSUM : -1;
    if (firstFragment && checksumAt >= 0 && checksumAt + 2 <= end) {
      const partial = (a[at] & VnetFlag.needsChecksum) !== 0 && (a[at + 6] | (a[at + 7] << 8)) + at + VNET_HEADER_BYTES === l4;
      const before = read16(a, checksumAt);
      if (!(protocol === UDP && !partial && before === 0)) {
        const after = swapWords(before, partial, oldHigh, newHigh, oldLow, newLow);
        write16(a, checksumAt, protocol === UDP && !partial && after === 0 ? 0xffff : after);
      }
    }
    for (let k = 0; k < 4; k++) a[l3 + field + k] = address >>> (24 - 8 * k);
    return -1;
  }

  /** Rewrites the IPv6 address at `field` of the header to the four words at program[at],
   *  [at+2], [at+4], [at+6], and the TCP, UDP or ICMPv6 checksum that covers it (the
   *  pseudo-header), a partial one as such. -1 when done, else the code of the drop reason. */
  private setIpv6(at: number, length: number, field: number, program: Int32Array, from: number): number {
    const a = this.arena;
    const [l3, type] = this.l3Of(at);
    const end = at + length;
    if (type !== EtherType.ipv6 || l3 + IPV6_HEADER > end) return MALFORMED;
    const l4 = l3 + IPV6_HEADER;
    const next = a[l3 + IPV6_NEXT_HEADER];
    const checksumAt = next === TCP ? l4 + TCP_CHECKSUM : next === UDP ? l4 + UDP_CHECKSUM : next === ICMPV6 ? l4 + ICMP_CHECKSUM : -1;
    const partial = (a[at] & VnetFlag.needsChecksum) !== 0 && (a[at + 6] | (a[at + 7] << 8)) + at + VNET_HEADER_BYTES === l4;
    let sum = checksumAt >= 0 && checksumAt + 2 <= end ? read16(a, checksumAt) : -1;
    if (sum >= 0 && partial) sum = ~sum & 0xffff;
    for (let k = 0; k < 4; k++) {
      const word = program[from + 2 * k];
      const high = (word >>> 16) & 0xffff;
      const low = word & 0xffff;
      const at16 = l3 + field + 4 * k;
      if (sum >= 0) sum = updateChecksum(updateChecksum(sum, read16(a, at16), high), read16(a, at16 + 2), low);
      write16(a, at16, high);
      write16(a, at16 + 2, low);
    }
    if (sum >= 0) write16(a, checksumAt, partial ? ~sum & 0xffff : sum);
    return -1;
  }

  /** Rewrites the IPv4 address at `field` of the packet an ICMP error quotes, with the quote's
   *  header checksum, its TCP or UDP checksum where the quote holds it, and the ICMP message's
   *  checksum, which covers all three. A frame that is not an ICMPv4 error is left as it is. */
  private setQuotedIpv4(at: number, length: number, field: number, address: number): number {
    const a = this.arena;
    const end = at + length;
    const icmp = this.icmpErrorAt(at, length);
    if (icmp < 0) return -1;
    const inner = icmp + ICMP_HEADER;
    const oldHigh = read16(a, inner + field);
    const oldLow = read16(a, inner + field + 2);
    const newHigh = (address >>> 16) & 0xffff;
    const newLow = address & 0xffff;
    let icmpSum = swapWords(read16(a, icmp + 2), false, oldHigh, newHigh, oldLow, newLow);
    const innerSum = read16(a, inner + IPV4_CHECKSUM);
    const innerSumAfter = swapWords(innerSum, false, oldHigh, newHigh, oldLow, newLow);
    write16(a, inner + IPV4_CHECKSUM, innerSumAfter);
    icmpSum = updateChecksum(icmpSum, innerSum, innerSumAfter);
    const protocol = a[inner + IPV4_PROTOCOL];
    const innerL4 = inner + (a[inner] & 0x0f) * 4;
    const checksumAt = protocol === TCP ? innerL4 + TCP_CHECKSUM : protocol === UDP ? innerL4 + UDP_CHECKSUM : -1;
    if (checksumAt >= 0 && checksumAt + 2 <= end && !(protocol === UDP && read16(a, checksumAt) === 0)) {
      const l4Sum = read16(a, checksumAt);
      const l4SumAfter = swapWords(l4Sum, false, oldHigh, newHigh, oldLow, newLow) || (protocol === UDP ? 0xffff : 0);
      write16(a, checksumAt, l4SumAfter);
      icmpSum = updateChecksum(icmpSum, l4Sum, l4SumAfter);
    }
    write16(a, icmp + 2, icmpSum);
    for (let k = 0; k < 4; k++) a[inner + field + k] = address >>> (24 - 8 * k);
    return -1;
  }

  /** Rewrites the TCP or UDP port at `field` (0: source, 2: destination) of an IPv4 frame's
   *  first fragment or an IPv6 frame's (no extension headers), or an ICMP echo's identifier, with its checksum updated unless the device
   *  finishes it (the pseudo-header holds no port) or UDP has none. -1 when done, else the code
   *  of the drop reason. */
  private setL4Port(at: number, length: number, field: number, port: number): number {
    const a = this.arena;
    const [l3, type] = this.l3Of(at);
    const end = at + length;
    const v6 = type === EtherType.ipv6 && l3 + IPV6_HEADER <= end;
    if (!v6 && (type !== EtherType.ipv4 || l3 + IPV4_MIN_HEADER > end || (read16(a, l3 + 6) & 0x1fff) !== 0)) return MALFORMED;
    const l4 = v6 ? l3 + IPV6_HEADER : l3 + (a[l3] & 0x0f) * 4;
    const protocol = v6 ? a[l3 + IPV6_NEXT_HEADER] : a[l3 + IPV4_PROTOCOL];
    const [portAt, checksumAt] = portPlaces(a, protocol, l4, field);
    if (portAt < 0 || checksumAt + 2 > end || portAt + 2 > end) return MALFORMED;
    const partial = (a[at] & VnetFlag.needsChecksum) !== 0 && (a[at + 6] | (a[at + 7] << 8)) + at + VNET_HEADER_BYTES === l4;
    if (!partial) rewriteChecksummed(a, checksumAt, protocol === UDP, read16(a, portAt), port);
    write16(a, portAt, port);
    return -1;
  }

  /** Where the ICMPv4 error message of the frame starts (the IPv4 packet it quotes follows its
   *  header), or -1 when the frame is no ICMPv4 error quoting an IPv4 header whole. */
  private icmpErrorAt(at: number, length: number): number {
    const a = this.arena;
    const [l3, type] = this.l3Of(at);
    const end = at + length;
    if (type !== EtherType.ipv4 || l3 + IPV4_MIN_HEADER > end || a[l3 + IPV4_PROTOCOL] !== ICMP) return -1;
    const icmp = l3 + (a[l3] & 0x0f) * 4;
    const inner = icmp + ICMP_HEADER;
    return isIcmpv4Error(a[icmp]) && inner + IPV4_MIN_HEADER <= end && a[inner] >> 4 === 4 ? icmp : -1;
  }

  /** Rewrites the port at `field` of the packet an ICMP error quotes (an echo's identifier
   *  either way), with the quote's checksum where the quote holds it and the ICMP message's,
   *  which covers both. A frame that is not an ICMPv4 error is left as it is. */
  private setQuotedL4Port(at: number, length: number, field: number, port: number): number {
    const a = this.arena;
    const end = at + length;
    const icmp = this.icmpErrorAt(at, length);
    if (icmp < 0) return -1;
    const inner = icmp + ICMP_HEADER;
    const [portAt, checksumAt] = portPlaces(a, a[inner + IPV4_PROTOCOL], inner + (a[inner] & 0x0f) * 4, field);
    if (portAt < 0 || portAt + 2 > end) return -1;
    const before = read16(a, portAt);
    let icmpSum = updateChecksum(read16(a, icmp + 2), before, port);
    if (checksumAt + 2 <= end) {
      const sum = read16(a, checksumAt);
      rewriteChecksummed(a, checksumAt, a[inner + IPV4_PROTOCOL] === UDP, before, port);
      icmpSum = updateChecksum(icmpSum, sum, read16(a, checksumAt));
    }
    write16(a, icmp + 2, icmpSum);
    write16(a, portAt, port);
    return -1;
  }

  /** -1 when done, else the code of the drop reason. */
  private decrementTtl(at: number, length: number): number {
    const a = this.arena;
    const [l3, type] = this.l3Of(at);
    if (type === EtherType.ipv4 && l3 + IPV4_CHECKSUM + 2 <= at + length) {
      const ttl = a[l3 + IPV4_TTL];
      if (ttl <= 1) return TTL_EXPIRED;
      const before = (ttl << 8) | a[l3 + IPV4_TTL + 1];
      const checksum = updateChecksum((a[l3 + IPV4_CHECKSUM] << 8) | a[l3 + IPV4_CHECKSUM + 1], before, before - 0x100);
      a[l3 + IPV4_TTL] = ttl - 1;
      a[l3 + IPV4_CHECKSUM] = checksum >>> 8;
      a[l3 + IPV4_CHECKSUM + 1] = checksum & 0xff;
      return -1;
    }
    if (type === EtherType.ipv6 && l3 + IPV6_HOP_LIMIT < at + length) {
      if (a[l3 + IPV6_HOP_LIMIT] <= 1) return TTL_EXPIRED;
      a[l3 + IPV6_HOP_LIMIT]--;
      return -1;
    }
    return MALFORMED;
  }

  private pushVlan(at: number, length: number, tci: number): number {
    const out = this.reserve(length + VLAN_TAG_BYTES);
    if (out < 0) return -1;
    const a = this.arena;
    const frame = at + VNET_HEADER_BYTES;
    a.copyWithin(out, at, frame + MAC_BYTES);
    const tag = out + VNET_HEADER_BYTES + MAC_BYTES;
    a[tag] = EtherType.vlan >>> 8;
    a[tag + 1] = EtherType.vlan & 0xff;
    a[tag + 2] = tci >>> 8;
    a[tag + 3] = tci & 0xff;
    a.copyWithin(tag + VLAN_TAG_BYTES, frame + MAC_BYTES, at + length);
    shiftOffloadOffsets(a, out, VLAN_TAG_BYTES);
    return out;
  }

  private popVlan(at: number, length: number): number {
    const a = this.arena;
    const frame = at + VNET_HEADER_BYTES;
    const type = (a[frame + MAC_BYTES] << 8) | a[frame + MAC_BYTES + 1];
    if (type !== EtherType.vlan || length < VNET_HEADER_BYTES + MAC_BYTES + VLAN_TAG_BYTES + 2) return -2;
    const out = this.reserve(length - VLAN_TAG_BYTES);
    if (out < 0) return -1;
    a.copyWithin(out, at, frame + MAC_BYTES);
    a.copyWithin(out + VNET_HEADER_BYTES + MAC_BYTES, frame + MAC_BYTES + VLAN_TAG_BYTES, at + length);
    shiftOffloadOffsets(a, out, -VLAN_TAG_BYTES);
    return out;
  }
}

/** The vnet header's hdr_len and csum_start count from the frame's start: a tag moves them. */
function shiftOffloadOffsets(a: Uint8Array, vnetAt: number, delta: number): void {
  if (a[vnetAt] & VnetFlag.needsChecksum) addLe16(a, vnetAt + 6, delta);
  if (a[vnetAt + 1] !== VnetGso.none) addLe16(a, vnetAt + 2, delta);
}

function writeWord(a: Uint8Array, at: number, word: number): void {
  a[at] = word >>> 24;
  a[at + 1] = word >>> 16;
  a[at + 2] = word >>> 8;
  a[at + 3] = word;
}

/** A checksum with two words of what it covers replaced (RFC 1624); a partial one (the
 *  uncomplemented sum a device finishes) moves the other way. */
function swapWords(checksum: number, partial: boolean, oldHigh: number, newHigh: number, oldLow: number, newLow: number): number {
  const c = partial ? ~checksum & 0xffff : checksum;
  const updated = updateChecksum(updateChecksum(c, oldHigh, newHigh), oldLow, newLow);
  return partial ? ~updated & 0xffff : updated;
}

/** Where a port (0: source, 2: destination) and the checksum covering it are in the L4 header
 *  at `l4`: TCP's and UDP's; an ICMP echo's identifier is its port either way. [-1, -1] for
 *  anything else. */
function portPlaces(a: Uint8Array, protocol: number, l4: number, field: number): [number, number] {
  if (protocol === TCP) return [l4 + field, l4 + TCP_CHECKSUM];
  if (protocol === UDP) return [l4 + field, l4 + UDP_CHECKSUM];
  if (protocol === ICMP && (a[l4] === Icmpv4Type.echoRequest || a[l4] === Icmpv4Type.echoReply)) return [l4 + ICMP_IDENTIFIER, l4 + ICMP_CHECKSUM];
  return [-1, -1];
}

/** Updates the checksum at `checksumAt` for one word changed from `before` to `after`; UDP's 0
 *  (none) stays, and a UDP sum that comes to 0 is sent as 0xffff (RFC 768). */
function rewriteChecksummed(a: Uint8Array, checksumAt: number, udp: boolean, before: number, after: number): void {
  const checksum = read16(a, checksumAt);
  if (udp && checksum === 0) return;
  const updated = updateChecksum(checksum, before, after);
  write16(a, checksumAt, udp && updated === 0 ? 0xffff : updated);
}

function read16(a: Uint8Array, at: number): number {
  return (a[at] << 8) | a[at + 1];
}

function write16(a: Uint8Array, at: number, value: number): void {
  a[at] = value >>> 8;
  a[at + 1] = value & 0xff;
}

function addLe16(a: Uint8Array, at: number, delta: number): void {
  const value = (a[at] | (a[at + 1] << 8)) + delta;
  a[at] = value;
  a[at + 1] = value >>> 8;
}
