// Frames a virtual router sends by itself: ARP (RFC 826), ICMP echo replies and errors
// (RFC 792, RFC 4443), neighbor solicitations and advertisements (RFC 4861). Each comes
// behind a zeroed virtio-net header, as every frame in the datapath does.
import {
  ArpOperation, emitArp, emitEthernet, emitIcmpv4, emitIpv4, emitIpv6, emitNdp, EtherType, ETHERNET_HEADER_BYTES,
  finishChecksum, ICMPV4_HEADER_BYTES, ICMPV6_HEADER_BYTES, Icmpv6Type, IpProtocol, IPV4_HEADER_BYTES, IPV6_HEADER_BYTES,
  ipv6PseudoSum, NdpFlag, NdpOption, onesComplementSum, setBe16, setBe32, VNET_HEADER_BYTES,
  contains, parsePrefix, Prefix,
} from '../packet';
import type { Subnet } from '../topology';

const BROADCAST = new Uint8Array(6).fill(0xff);
/** IPv6's all-nodes group (ff02::1) and its MAC (RFC 2464 7). */
export const ALL_NODES = { address: Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), mac: Uint8Array.from([0x33, 0x33, 0, 0, 0, 1]) } as const;
const ZERO_MAC = new Uint8Array(6);
const DEFAULT_TTL = 64;
const NDP_HOP_LIMIT = 255;
/** RFC 4443 §2.4(c): an ICMPv6 error holds as much of the offending packet as fits in 1280. */
const IPV6_MIN_MTU = 1280;
/** A router advertisement: its fixed part, and what it says (RFC 4861 6.2.1's defaults). */
const RA_HEADER_BYTES = 16;
const RA_ROUTER_LIFETIME_S = 1800;
const RA_MANAGED = 0x80;
const RA_OTHER = 0x40;
const PREFIX_ON_LINK = 0x80;
const PREFIX_AUTONOMOUS = 0x40;
const PREFIX_VALID_S = 2_592_000;
const PREFIX_PREFERRED_S = 604_800;
/** RFC 1812 §4.3.2.3 allows more, but the IP header and 8 bytes are what every host reads. */
const ICMPV4_QUOTE_AFTER_HEADER = 8;

interface Link { source: Uint8Array; destination: Uint8Array }

function frame(link: Link, ethertype: number, bodyLength: number, write: (b: Uint8Array, at: number) => void): Uint8Array {
  const b = new Uint8Array(VNET_HEADER_BYTES + ETHERNET_HEADER_BYTES + bodyLength);
  const at = emitEthernet(b, VNET_HEADER_BYTES, { destination: link.destination, source: link.source, ethertype });
  write(b, at);
  return b;
}

export function arpRequest(mac: Uint8Array, address: Uint8Array, target: Uint8Array): Uint8Array {
  return frame({ source: mac, destination: BROADCAST }, EtherType.arp, 28, (b, at) =>
    emitArp(b, at, { oper: ArpOperation.request, sha: mac, spa: address, tha: ZERO_MAC, tpa: target }));
}

export function arpReply(mac: Uint8Array, address: Uint8Array, askerMac: Uint8Array, askerAddress: Uint8Array): Uint8Array {
  return frame({ source: mac, destination: askerMac }, EtherType.arp, 28, (b, at) =>
    emitArp(b, at, { oper: ArpOperation.reply, sha: mac, spa: address, tha: askerMac, tpa: askerAddress }));
}

/** An ICMPv4 message: `rest` is the identifier/sequence word of an echo, zero for errors. */
export function icmpv4(link: Link, source: Uint8Array, destination: Uint8Array, type: number, code: number, rest: number, payload: Uint8Array): Uint8Array {
  return frame(link, EtherType.ipv4, IPV4_HEADER_BYTES + ICMPV4_HEADER_BYTES + payload.length, (b, at) => {
    const icmpAt = emitIpv4(b, at, {
      dscp: 0, ecn: 0, identification: 0, dontFragment: false, ttl: DEFAULT_TTL, protocol: IpProtocol.icmp,
      source, destination, payloadLength: ICMPV4_HEADER_BYTES + payload.length,
    });
    emitIcmpv4(b, icmpAt, { type, code, identifier: rest >>> 16, sequence: rest & 0xffff, payload });
  });
}

/** An ICMPv6 message with its 4-byte body word (identifier/sequence, or zero for errors). */
export function icmpv6(link: Link, source: Uint8Array, destination: Uint8Array, type: number, code: number, rest: number, payload: Uint8Array): Uint8Array {
  const length = ICMPV6_HEADER_BYTES + payload.length;
  return frame(link, EtherType.ipv6, IPV6_HEADER_BYTES + length, (b, at) => {
    const icmpAt = emitIpv6(b, at, { trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.icmpv6, hopLimit: DEFAULT_TTL, source, destination, payloadLength: length });
    b[icmpAt] = type;
    b[icmpAt + 1] = code;
    setBe16(b, icmpAt + 4, rest >>> 16);
    setBe16(b, icmpAt + 6, rest & 0xffff);
    b.set(payload, icmpAt + ICMPV6_HEADER_BYTES);
    setBe16(b, icmpAt + 2, finishChecksum(onesComplementSum(b, icmpAt, icmpAt + length, ipv6PseudoSum(b, at, IpProtocol.icmpv6, length))));
  });
}

/** What an ICMP error quotes of the packet at frame[l3At, end). */
export function quoteOf(frame: Uint8Array, l3At: number, ipv6: boolean): Uint8Array {
  const most = ipv6
    ? IPV6_MIN_MTU - IPV6_HEADER_BYTES - ICMPV6_HEADER_BYTES
    : (frame[l3At] & 0x0f) * 4 + ICMPV4_QUOTE_AFTER_HEADER;
  return frame.slice(l3At, Math.min(frame.length, l3At + most));
}

/** Solicited-node multicast (RFC 4291 §2.7.1) of a target, and its MAC (RFC 2464 §7). */
export function solicitedNode(target: Uint8Array): { address: Uint8Array; mac: Uint8Array } {
  const address = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target[13], target[14], target[15]]);
  return { address, mac: Uint8Array.from([0x33, 0x33, ...address.subarray(12)]) };
}

export function neighborSolicitation(mac: Uint8Array, source: Uint8Array, target: Uint8Array): Uint8Array {
  const group = solicitedNode(target);
  return ndp({ source: mac, destination: group.mac }, source, group.address, Icmpv6Type.neighborSolicitation, 0, target, mac);
}

export function neighborAdvertisement(mac: Uint8Array, target: Uint8Array, askerMac: Uint8Array, askerAddress: Uint8Array): Uint8Array {
  const flags = NdpFlag.router | NdpFlag.solicited | NdpFlag.override;
  return ndp({ source: mac, destination: askerMac }, target, askerAddress, Icmpv6Type.neighborAdvertisement, flags, target, mac);
}

function ndp(link: Link, source: Uint8Array, destination: Uint8Array, type: 135 | 136, flags: number, target: Uint8Array, mac: Uint8Array): Uint8Array {
  const length = 32;
  return frame(link, EtherType.ipv6, IPV6_HEADER_BYTES + length, (b, at) => {
    const icmpAt = emitIpv6(b, at, { trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.icmpv6, hopLimit: NDP_HOP_LIMIT, source, destination, payloadLength: length });
    emitNdp(b, icmpAt, { type, flags, target, linkLayerAddress: mac });
    setBe16(b, icmpAt + 2, finishChecksum(onesComplementSum(b, icmpAt, icmpAt + length, ipv6PseudoSum(b, at, IpProtocol.icmpv6, length))));
  });
}

/** RFC 4861 4.2, 4.6: an advertisement of a router port's /64 prefixes for SLAAC (on-link,
 *  autonomous), its MTU and its MAC, from its link-local address. */
/** What a router port advertises (RFC 4861 4.2, 4.6.2): its /64 prefixes, each autonomous
 *  (SLAAC) unless its subnet's addresses come from DHCPv6; M when some address does, O when
 *  some subnet answers DHCPv6 for other configuration (DNS). */
export interface Advertisement {
  prefixes: { address: Uint8Array; autonomous: boolean }[];
  managed: boolean;
  other: boolean;
}

/** The advertisement of a router port with these addresses, on a bridge with these subnets. */
export function advertisementOf(addresses: readonly Prefix[], subnets: readonly Subnet[]): Advertisement {
  const modes = subnets.filter((s) => s.cidr.includes(':')).map((s) => ({ prefix: parsePrefix(s.cidr), mode: s.ipv6Mode }));
  const modeOf = (p: Prefix) => modes.find((m) => contains(m.prefix, p.address))?.mode ?? 'slaac';
  const prefixes = addresses.filter((p) => p.address.length === 16 && p.length === 64).map((p) => ({ address: p.address, autonomous: modeOf(p) !== 'dhcpv6-stateful', mode: modeOf(p) }));
  return {
    prefixes: prefixes.map(({ address, autonomous }) => ({ address, autonomous })),
    managed: prefixes.some((p) => p.mode === 'dhcpv6-stateful'),
    other: prefixes.some((p) => p.mode !== 'slaac'),
  };
}

export function routerAdvertisement(link: Link, source: Uint8Array, destination: Uint8Array, advertised: Advertisement, mtu: number): Uint8Array {
  const prefixes = advertised.prefixes;
  const length = RA_HEADER_BYTES + 8 + 8 + prefixes.length * 32;
  return frame(link, EtherType.ipv6, IPV6_HEADER_BYTES + length, (b, at) => {
    const icmpAt = emitIpv6(b, at, { trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.icmpv6, hopLimit: NDP_HOP_LIMIT, source, destination, payloadLength: length });
    b[icmpAt] = Icmpv6Type.routerAdvertisement;
    b[icmpAt + 4] = DEFAULT_TTL; // the hop limit hosts should use
    b[icmpAt + 5] = (advertised.managed ? RA_MANAGED : 0) | (advertised.other ? RA_OTHER : 0);
    setBe16(b, icmpAt + 6, RA_ROUTER_LIFETIME_S);
    let o = icmpAt + RA_HEADER_BYTES;
    b.set([NdpOption.sourceLinkLayerAddress, 1, ...link.source], o);
    o += 8;
    b.set([NdpOption.mtu, 1, 0, 0, mtu >>> 24, (mtu >>> 16) & 0xff, (mtu >>> 8) & 0xff, mtu & 0xff], o);
    o += 8;
    for (const prefix of prefixes) {
      b.set([NdpOption.prefixInformation, 4, 64, PREFIX_ON_LINK | (prefix.autonomous ? PREFIX_AUTONOMOUS : 0)], o);
      setBe32(b, o + 4, PREFIX_VALID_S);
      setBe32(b, o + 8, PREFIX_PREFERRED_S);
      b.set(prefix.address.subarray(0, 8), o + 16);
      o += 32;
    }
    setBe16(b, icmpAt + 2, finishChecksum(onesComplementSum(b, icmpAt, icmpAt + length, ipv6PseudoSum(b, at, IpProtocol.icmpv6, length))));
  });
}
