// What a chain's `reject` sends back to the sender of a frame, in the name of its destination
// (as iptables' REJECT does): a TCP reset for TCP (RFC 9293 3.10.7.1: the sequence number the
// segment acknowledged, or an acknowledgment of what it carried), else ICMP "administratively
// prohibited" quoting the frame (RFC 1812 5.2.7.1, RFC 4443 3.1). Never about a reset, an ICMP
// error, or a frame sent to a group.
import {
  emitEthernet, emitIpv4, emitIpv6, emitTcp, EtherType, ETHERNET_HEADER_BYTES, Icmpv4Type, Icmpv6Type, IpProtocol, IPV4_HEADER_BYTES,
  IPV6_HEADER_BYTES, ipv4PseudoSum, Ipv4Packet, ipv6PseudoSum, Ipv6Packet, TCP_HEADER_BYTES, TcpFlag, TcpSegment, VNET_HEADER_BYTES,
} from '../packet';
import { icmpv4, icmpv6, quoteOf } from './router-frames';
import type { Walk } from './walk';

const PROHIBITED = { v4: 13, v6: 1 } as const;
const DEFAULT_TTL = 64;

/** Ethernet addresses of the reply: back the way the frame came into the device. */
export interface Link { source: Uint8Array; destination: Uint8Array }

/** The frame that rejects the walk's frame, or null when none may be sent. */
export function rejection(w: Walk, link: Link): Uint8Array | null {
  const f = w.fields;
  const frame = w.frame;
  if (!frame || !(w.ipv4 || w.ipv6) || f.networkDestination[0] >= (w.ipv4 ? 224 : 0xff) || link.destination[0] & 1) return null;
  const ip = w.ipv4 ? new Ipv4Packet() : new Ipv6Packet();
  if (ip.point(frame, w.l3At, frame.length) !== null) return null;
  if (f.ipProtocol === IpProtocol.tcp) return reset(w, ip, link);
  if (w.icmpError) return null;
  const quote = quoteOf(frame, w.l3At, w.ipv6);
  return w.ipv4
    ? icmpv4(link, f.networkDestination, f.networkSource, Icmpv4Type.destinationUnreachable, PROHIBITED.v4, 0, quote)
    : icmpv6(link, f.networkDestination, f.networkSource, Icmpv6Type.destinationUnreachable, PROHIBITED.v6, 0, quote);
}

function reset(w: Walk, ip: Ipv4Packet | Ipv6Packet, link: Link): Uint8Array | null {
  const segment = new TcpSegment();
  const end = ip.payloadAt + ip.payloadLength;
  if (segment.point(ip.buffer, ip.payloadAt, Math.min(end, ip.buffer.length)) !== null || segment.flags & TcpFlag.rst) return null;
  const acked = (segment.flags & TcpFlag.ack) !== 0;
  const length = Math.max(0, end - segment.payloadAt) + (segment.flags & TcpFlag.syn ? 1 : 0) + (segment.flags & TcpFlag.fin ? 1 : 0);
  const repr = {
    sourcePort: segment.destinationPort, destinationPort: segment.sourcePort, window: 0,
    sequence: acked ? segment.acknowledgment : 0, acknowledgment: acked ? 0 : (segment.sequence + length) >>> 0,
    flags: acked ? TcpFlag.rst : TcpFlag.rst | TcpFlag.ack,
  };
  const f = w.fields;
  const ipBytes = w.ipv4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
  const b = new Uint8Array(VNET_HEADER_BYTES + ETHERNET_HEADER_BYTES + ipBytes + TCP_HEADER_BYTES);
  const ipAt = emitEthernet(b, VNET_HEADER_BYTES, { source: link.source, destination: link.destination, ethertype: w.ipv4 ? EtherType.ipv4 : EtherType.ipv6 });
  const tcpAt = w.ipv4
    ? emitIpv4(b, ipAt, { dscp: 0, ecn: 0, identification: 0, dontFragment: true, ttl: DEFAULT_TTL, protocol: IpProtocol.tcp, source: f.networkDestination, destination: f.networkSource, payloadLength: TCP_HEADER_BYTES })
    : emitIpv6(b, ipAt, { trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.tcp, hopLimit: DEFAULT_TTL, source: f.networkDestination, destination: f.networkSource, payloadLength: TCP_HEADER_BYTES });
  emitTcp(b, tcpAt, repr);
  const pseudo = w.ipv4 ? ipv4PseudoSum(b, ipAt, IpProtocol.tcp, TCP_HEADER_BYTES) : ipv6PseudoSum(b, ipAt, IpProtocol.tcp, TCP_HEADER_BYTES);
  new TcpSegment(b, tcpAt, b.length).fillChecksum(pseudo);
  return b;
}
