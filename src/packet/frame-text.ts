// A frame written as text in Open vSwitch's flow syntax, for traces: a protocol word (arp, ip,
// ipv6, icmp, icmp6, tcp, tcp6, udp, udp6) and fields such as dl_src=, dl_dst=, dl_vlan=,
// nw_src=, nw_dst=, nw_ttl=, tp_src=, tp_dst=, tcp_flags= (syn|ack, as OVS prints them; syn
// when not given), icmp_type=, icmp_code=, arp_op=, arp_sha=. Checksums are
// left as they fall (an ICMPv6 one is not right): a trace reads headers, not checksums.
import { parseMac } from './address';
import { ArpOperation, emitArp } from './arp';
import { emitEthernet, emitVlanTag, EtherType } from './ethernet';
import { emitIcmpv4, Icmpv4Type } from './icmpv4';
import { Icmpv6Type } from './icmpv6';
import { emitIpv4, IpProtocol } from './ipv4';
import { emitIpv6 } from './ipv6';
import { parseAddress } from './prefix';
import { emitTcp, TcpFlag, TCP_HEADER_BYTES } from './tcp';
import { emitUdp, UDP_HEADER_BYTES } from './udp';

/** Open vSwitch's protocol words: the ethertype, and the IP protocol (0xfd: any). */
export const FLOW_PROTOCOLS: Record<string, { ethertype: number; ip?: number }> = {
  arp: { ethertype: EtherType.arp },
  ip: { ethertype: EtherType.ipv4, ip: 0xfd }, ipv6: { ethertype: EtherType.ipv6, ip: 0xfd },
  icmp: { ethertype: EtherType.ipv4, ip: IpProtocol.icmp }, icmp6: { ethertype: EtherType.ipv6, ip: IpProtocol.icmpv6 },
  tcp: { ethertype: EtherType.ipv4, ip: IpProtocol.tcp }, tcp6: { ethertype: EtherType.ipv6, ip: IpProtocol.tcp },
  udp: { ethertype: EtherType.ipv4, ip: IpProtocol.udp }, udp6: { ethertype: EtherType.ipv6, ip: IpProtocol.udp },
};
const FIELDS = new Set(['dl_src', 'dl_dst', 'dl_vlan', 'nw_src', 'nw_dst', 'nw_ttl', 'tp_src', 'tp_dst', 'tcp_flags', 'icmp_type', 'icmp_code', 'arp_op', 'arp_sha']);

export class FrameTextError extends Error {}

/** Builds the frame a description such as `icmp,dl_src=…,dl_dst=…,nw_src=10.0.1.5,nw_dst=10.0.2.5` stands for. */
export function frameFromText(text: string): Uint8Array {
  const words = text.split(/[\s,]+/).filter(Boolean);
  const protocols = words.filter((w) => FLOW_PROTOCOLS[w]);
  if (protocols.length !== 1) throw new FrameTextError(`give one protocol word of ${Object.keys(FLOW_PROTOCOLS).join(', ')}`);
  const { ethertype, ip } = FLOW_PROTOCOLS[protocols[0]];
  const fields = new Map<string, string>();
  for (const w of words.filter((w) => !FLOW_PROTOCOLS[w])) {
    const [name, value] = w.split('=');
    if (!FIELDS.has(name) || value === undefined) throw new FrameTextError(`'${w}' is not a field=value of ${[...FIELDS].join(', ')}`);
    fields.set(name, value);
  }
  const number = (name: string, fallback: number, most: number) => {
    const value = fields.get(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) > most) throw new FrameTextError(`${name} must be a number from 0 to ${most}`);
    return Number(value);
  };
  const guard = <T>(name: string, parse: (s: string) => T, fallback: string) => {
    try {
      return parse(fields.get(name) ?? fallback);
    } catch (error) {
      throw new FrameTextError(`${name}: ${(error as Error).message}`);
    }
  };
  const tcpFlags = () => {
    const names = (fields.get('tcp_flags') ?? 'syn').split('|');
    const unknown = names.find((n) => !(n in TcpFlag));
    if (unknown !== undefined) throw new FrameTextError(`tcp_flags: '${unknown}' is not one of ${Object.keys(TcpFlag).join(', ')} (join them with |)`);
    return names.reduce((flags, n) => flags | TcpFlag[n as keyof typeof TcpFlag], 0);
  };
  const v6 = ethertype === EtherType.ipv6;
  const source = guard('dl_src', parseMac, '52:54:00:00:00:01');
  const destination = guard('dl_dst', parseMac, 'ff:ff:ff:ff:ff:ff');
  const nwSource = guard('nw_src', parseAddress, v6 ? '2001:db8::1' : '10.0.0.1');
  const nwDestination = guard('nw_dst', parseAddress, v6 ? '2001:db8::2' : '10.0.0.2');
  if (ethertype !== EtherType.arp && (nwSource.length === 16) !== v6) throw new FrameTextError(`nw_src is not an ${v6 ? 'IPv6' : 'IPv4'} address`);
  const b = new Uint8Array(128);
  const vlan = fields.has('dl_vlan') ? number('dl_vlan', 0, 4095) : -1;
  let at = emitEthernet(b, 0, { destination, source, ethertype: vlan >= 0 ? EtherType.vlan : ethertype });
  if (vlan >= 0) at = emitVlanTag(b, at, { pcp: 0, dei: false, vid: vlan, ethertype });
  if (ethertype === EtherType.arp) {
    const oper = number('arp_op', ArpOperation.request, 2);
    const sha = fields.has('arp_sha') ? guard('arp_sha', parseMac, '') : source;
    return b.slice(0, emitArp(b, at, { oper, sha, spa: nwSource, tha: new Uint8Array(6), tpa: nwDestination }));
  }
  const transport = ip === IpProtocol.tcp ? TCP_HEADER_BYTES : ip === IpProtocol.udp ? UDP_HEADER_BYTES : 8;
  const ttl = number('nw_ttl', 64, 255);
  const l4 = v6
    ? emitIpv6(b, at, { trafficClass: 0, flowLabel: 0, nextHeader: ip!, hopLimit: ttl, source: nwSource, destination: nwDestination, payloadLength: transport })
    : emitIpv4(b, at, { dscp: 0, ecn: 0, identification: 0, dontFragment: true, ttl, protocol: ip!, source: nwSource, destination: nwDestination, payloadLength: transport });
  if (ip === IpProtocol.tcp) emitTcp(b, l4, { sourcePort: number('tp_src', 40000, 65535), destinationPort: number('tp_dst', 80, 65535), sequence: 1, acknowledgment: 0, flags: tcpFlags(), window: 65535 });
  else if (ip === IpProtocol.udp) emitUdp(b, l4, { sourcePort: number('tp_src', 40000, 65535), destinationPort: number('tp_dst', 53, 65535), payloadLength: 0 });
  else if (ip === IpProtocol.icmp || ip === IpProtocol.icmpv6) {
    const type = number('icmp_type', v6 ? Icmpv6Type.echoRequest : Icmpv4Type.echoRequest, 255);
    emitIcmpv4(b, l4, { type, code: number('icmp_code', 0, 255), identifier: 1, sequence: 1, payload: new Uint8Array(0) });
  }
  return b.slice(0, l4 + transport);
}
