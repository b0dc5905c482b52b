// DHCPv6 answered in the switch, as DHCP is (dhcp-service.ts): a VM's message to the servers'
// port, entering a bridge with an IPv6 subnet in a DHCPv6 mode that holds its port's address,
// is answered by the walk at the VM's own host. Stateful: the port's address in an IA_NA, with
// DNS servers and the domain. Stateless: DNS servers and the domain only (the address comes
// from the router's advertisement). From the bridge's service MAC and its link-local address,
// to the client's.
import {
  contains, Dhcpv6Option, Dhcpv6Port, Dhcpv6Type, dnsName, emitDhcpv6, emitEthernet, emitIpv6, emitUdp, EtherType, ETHERNET_HEADER_BYTES, formatAddress,
  IpProtocol, IPV6_HEADER_BYTES, ipv6PseudoSum, linkLocalOf, parseAddress, parseDhcpv6, parsePrefix, UDP_HEADER_BYTES, UdpDatagram, VNET_HEADER_BYTES,
} from '../packet';
import { TokenBuckets } from './token-bucket';
import type { TopologyWalker } from './topology-simulation';
import type { VirtualBridge, VirtualPort } from './virtual-topology';
import type { Walk } from './walk';

/** As DHCP: a client sends a handful a minute. */
const PER_SECOND = 20;
const BURST = 20;
const HOP_LIMIT = 255;
/** DUID-LL (RFC 8415 11.4): type 3, hardware type 1 (Ethernet), then the MAC. */
const DUID_LL = [0, 3, 0, 1];
const NAMES = ['', 'SOLICIT', 'ADVERTISE', 'REQUEST', 'CONFIRM', 'RENEW', 'REBIND', 'REPLY', 'RELEASE', 'DECLINE', '', 'INFORMATION-REQUEST'];

export class Dhcpv6Service {
  private readonly budgets = new TokenBuckets(PER_SECOND, BURST);

  constructor(private readonly walker: TopologyWalker) {}

  /** Whether the frame was a VM's DHCPv6 message this bridge answers; if so the walk is done. */
  answers(bridge: VirtualBridge, port: VirtualPort, w: Walk): boolean {
    const f = w.fields;
    if (!w.ipv6 || f.ipProtocol !== IpProtocol.udp || f.transportSource !== Dhcpv6Port.client || f.transportDestination !== Dhcpv6Port.server || port.peer) return false;
    const subnet = bridge.subnets.find((s) => s.ipv6Mode !== 'slaac' && s.cidr.includes(':'));
    const prefix = subnet && parsePrefix(subnet.cidr);
    const address = prefix && port.prefixes.find((p) => p.address.length === 16 && contains(prefix, p.address));
    if (!subnet || !address) return false;
    if (!w.dryRun && !this.budgets.take(port.id)) {
      w.drop('serviceLimited', () => `${port.name} sends DHCPv6 faster than ${PER_SECOND} a second`);
      return true;
    }
    w.cache = false;
    const frame = w.frame;
    const udp = new UdpDatagram();
    const message = frame && udp.point(frame, w.l3At + IPV6_HEADER_BYTES, frame.length) === null ? parseDhcpv6(frame, udp.payloadAt, udp.offset + udp.length) : null;
    if (!message) {
      if (frame) w.drop('malformed', () => 'a malformed DHCPv6 message');
      return true;
    }
    const stateful = subnet.ipv6Mode === 'dhcpv6-stateful';
    const type = message.type;
    const answered = type === Dhcpv6Type.solicit ? (message.options.has(Dhcpv6Option.rapidCommit) ? Dhcpv6Type.reply : Dhcpv6Type.advertise)
      : [Dhcpv6Type.request, Dhcpv6Type.renew, Dhcpv6Type.rebind, Dhcpv6Type.confirm, Dhcpv6Type.informationRequest, Dhcpv6Type.release].includes(type as 3) ? Dhcpv6Type.reply
      : 0;
    if (!answered) {
      w.note(() => `  DHCPv6 ${NAMES[type] || `type ${type}`} from ${port.name}: taken in`);
      return true;
    }
    const options: [number, Uint8Array][] = [[Dhcpv6Option.serverId, Uint8Array.from([...DUID_LL, ...bridge.serviceMac])]];
    const client = message.options.get(Dhcpv6Option.clientId);
    if (client) options.push([Dhcpv6Option.clientId, client]);
    if (type === Dhcpv6Type.solicit && answered === Dhcpv6Type.reply) options.push([Dhcpv6Option.rapidCommit, new Uint8Array(0)]);
    const ia = message.options.get(Dhcpv6Option.iaNa);
    const giving = stateful && ia && ia.length >= 12 && type !== Dhcpv6Type.informationRequest && type !== Dhcpv6Type.release;
    if (giving) options.push([Dhcpv6Option.iaNa, iaNa(ia.subarray(0, 4), address.address, subnet.leaseSeconds)]);
    const dns = subnet.dnsServers.filter((d) => d.includes(':')).map(parseAddress);
    if (dns.length > 0) options.push([Dhcpv6Option.dnsServers, Uint8Array.from(dns.flatMap((a) => [...a]))]);
    if (subnet.domain) options.push([Dhcpv6Option.domainList, dnsName(subnet.domain)]);
    w.note(() => `  DHCPv6 ${NAMES[type]} from ${port.name}: ${NAMES[answered]}${giving ? ` ${formatAddress(address.address)}` : ''}`);
    const reply = emitDhcpv6(answered, message.transaction, options);
    this.walker.emit(port, this.frame(bridge, w, reply), w, 'dhcp');
    return true;
  }

  /** The reply: from the bridge's service MAC and link-local address to the client's. */
  private frame(bridge: VirtualBridge, w: Walk, message: Uint8Array): Uint8Array {
    const b = new Uint8Array(VNET_HEADER_BYTES + ETHERNET_HEADER_BYTES + IPV6_HEADER_BYTES + UDP_HEADER_BYTES + message.length);
    const ipAt = emitEthernet(b, VNET_HEADER_BYTES, { destination: w.source, source: bridge.serviceMac, ethertype: EtherType.ipv6 });
    const udpAt = emitIpv6(b, ipAt, {
      trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.udp, hopLimit: HOP_LIMIT, source: linkLocalOf(bridge.serviceMac), destination: w.fields.networkSource,
      payloadLength: UDP_HEADER_BYTES + message.length,
    });
    const at = emitUdp(b, udpAt, { sourcePort: Dhcpv6Port.server, destinationPort: Dhcpv6Port.client, payloadLength: message.length });
    b.set(message, at);
    new UdpDatagram(b, udpAt, b.length).fillChecksum(ipv6PseudoSum(b, ipAt, IpProtocol.udp, UDP_HEADER_BYTES + message.length));
    return b;
  }
}

/** An IA_NA (RFC 8415 21.4) with one address: renewal at half the lifetime, rebinding at 4/5. */
function iaNa(iaid: Uint8Array, address: Uint8Array, lifetime: number): Uint8Array {
  const word = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const iaAddress = [...address, ...word(lifetime), ...word(lifetime)];
  return Uint8Array.from([...iaid, ...word(Math.floor(lifetime / 2)), ...word(Math.floor((lifetime * 4) / 5)), Dhcpv6Option.iaAddress >>> 8, Dhcpv6Option.iaAddress & 0xff, 0, iaAddress.length, ...iaAddress]);
}
