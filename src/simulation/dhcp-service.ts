// DHCP answered in the switch (as OVN and MidoNet do): a VM's DHCP message to the servers'
// port, entering a bridge with an IPv4 DHCP subnet that holds its port's address, is answered
// by the walk at the VM's own host, with the port's address and the subnet's options; it goes
// nowhere else (no server process, no broadcast across the overlay). A VM whose port has no
// address there is not answered, and its message floods as any broadcast does.
import {
  concatBytes, contains, DHCP_BROADCAST_FLAG, DhcpMessage, DhcpMessageType, DhcpOption, DhcpPort, dhcpReplyLength, emitDhcpReply, emitEthernet, emitIpv4, emitUdp,
  EtherType, ETHERNET_HEADER_BYTES, formatAddress, IpProtocol, IPV4_HEADER_BYTES, ipv4PseudoSum, maskOf, parseAddress, parsePrefix, Prefix, UDP_HEADER_BYTES,
  UdpDatagram, VNET_HEADER_BYTES,
} from '../packet';
import type { Subnet } from '../topology';
import { TokenBuckets } from './token-bucket';
import type { TopologyWalker } from './topology-simulation';
import type { VirtualBridge, VirtualPort } from './virtual-topology';
import type { Walk } from './walk';

const BROADCAST_IPV4 = Uint8Array.from([255, 255, 255, 255]);
const ZERO_IPV4 = new Uint8Array(4);
const REPLY_TTL = 64;
/** DHCP messages a port's VM gets answered: a client sends a handful a minute. */
const DHCP_PER_SECOND = 20;
const DHCP_BURST = 20;

/** A subnet as the DHCP service answers on it: its options made once per topology version. */
export interface DhcpSubnet {
  prefix: Prefix;
  gateway: Uint8Array;
  /** The subnet's options, in the order they are written (not the message type or lease). */
  options: [number, Uint8Array][];
  leaseSeconds: number;
}

/** The IPv4 DHCP subnets of a bridge; `guestMtu` is what VMs are told when a subnet says 0. */
export function dhcpSubnets(subnets: readonly Subnet[], guestMtu: number): DhcpSubnet[] {
  return subnets.filter((s) => s.dhcp && !s.cidr.includes(':')).map((s) => {
    const prefix = parsePrefix(s.cidr);
    const gateway = parseAddress(s.gateway);
    const routes = s.routes.map((r) => ({ ...parsePrefix(r.destination), via: parseAddress(r.nextHop) }));
    const options: [number, Uint8Array][] = [
      [DhcpOption.serverId, gateway], [DhcpOption.subnetMask, maskOf(prefix)], [DhcpOption.router, gateway],
      [DhcpOption.interfaceMtu, uint16(s.mtu || guestMtu)],
    ];
    if (s.dnsServers.length > 0) options.push([DhcpOption.dnsServers, concatBytes(s.dnsServers.map(parseAddress))]);
    if (s.domain) options.push([DhcpOption.domainName, new TextEncoder().encode(s.domain)]);
    // RFC 3442: a client that takes option 121 ignores option 3, so the default route goes in too.
    if (routes.length > 0) options.push([DhcpOption.classlessRoutes, concatBytes([...routes, { address: ZERO_IPV4, length: 0, via: gateway }].map(classlessRoute))]);
    return { prefix, gateway, options, leaseSeconds: s.leaseSeconds };
  });
}

export class DhcpService {
  private readonly budgets = new TokenBuckets(DHCP_PER_SECOND, DHCP_BURST);

  constructor(private readonly walker: TopologyWalker) {}

  /** Whether the frame was a VM's DHCP message this bridge answers (or takes in, as a
   *  release); if so the walk is done with it. */
  answers(bridge: VirtualBridge, port: VirtualPort, w: Walk): boolean {
    const f = w.fields;
    if (!w.ipv4 || f.ipProtocol !== IpProtocol.udp || f.transportSource !== DhcpPort.client || f.transportDestination !== DhcpPort.server || port.peer) return false;
    const address = port.prefixes.find((p) => p.address.length === 4);
    const subnet = address && bridge.dhcp.find((s) => contains(s.prefix, address.address));
    if (!address || !subnet) return false;
    // Each message is answered, so none is cached; past its port's budget, the drop is, so
    // that a VM flooding DHCP meets it in the datapath and leaves the slow path to the others.
    if (!w.dryRun && !this.budgets.take(port.id)) {
      w.drop('serviceLimited', () => `${port.name} sends DHCP faster than ${DHCP_PER_SECOND} a second`);
      return true;
    }
    w.cache = false;
    const message = this.message(w);
    if (!message) {
      w.note(() => `  DHCP for ${port.name}: ${w.frame ? 'a malformed message' : 'answered with its address'}`);
      if (w.frame) w.drop('malformed', () => 'a malformed DHCP message');
      return true;
    }
    const type = message.messageType;
    const requested = message.option(DhcpOption.requestedAddress);
    const asked = requested && requested.length === 4 ? requested : message.buffer.subarray(message.clientAddressAt, message.clientAddressAt + 4);
    const reply =
      type === DhcpMessageType.discover ? DhcpMessageType.offer
      : type === DhcpMessageType.request ? (asked.every((b) => b === 0) || asked.every((b, k) => b === address.address[k]) ? DhcpMessageType.ack : DhcpMessageType.nak)
      : type === DhcpMessageType.inform ? DhcpMessageType.ack
      : 0;
    const what = ['', 'DISCOVER', 'OFFER', 'REQUEST', 'DECLINE', 'ACK', 'NAK', 'RELEASE', 'INFORM'][type] ?? `type ${type}`;
    if (!reply) {
      w.note(() => `  DHCP ${what} from ${port.name}: taken in`);
      return true;
    }
    w.note(() => `  DHCP ${what} from ${port.name}: ${reply === DhcpMessageType.nak ? 'NAK' : `${reply === DhcpMessageType.offer ? 'OFFER' : 'ACK'} ${formatAddress(address.address)}`}`);
    this.walker.emit(port, this.reply(bridge, subnet, message, reply, type === DhcpMessageType.inform ? null : address.address), w, 'dhcp');
    return true;
  }

  private message(w: Walk): DhcpMessage | null {
    const frame = w.frame;
    if (!frame) return null;
    const udp = new UdpDatagram();
    const udpAt = w.l3At + (frame[w.l3At] & 0x0f) * 4;
    if (udp.point(frame, udpAt, frame.length) !== null) return null;
    const message = new DhcpMessage();
    return message.point(frame, udp.payloadAt, udp.offset + udp.length) === null ? message : null;
  }

  /** The answer: to the client's MAC, to the broadcast address (a client without an address
   *  takes it so), from the gateway as the server. */
  private reply(bridge: VirtualBridge, subnet: DhcpSubnet, request: DhcpMessage, type: number, address: Uint8Array | null): Uint8Array {
    const lease = address ? [[DhcpOption.leaseTime, uint32(subnet.leaseSeconds)], [DhcpOption.renewalTime, uint32(subnet.leaseSeconds / 2)], [DhcpOption.rebindingTime, uint32((subnet.leaseSeconds * 7) / 8)]] as [number, Uint8Array][] : [];
    const options: [number, Uint8Array][] = type === DhcpMessageType.nak
      ? [[DhcpOption.messageType, Uint8Array.of(type)], [DhcpOption.serverId, subnet.gateway]]
      : [[DhcpOption.messageType, Uint8Array.of(type)], ...subnet.options, ...lease];
    const clientMac = request.buffer.slice(request.clientMacAt, request.clientMacAt + 6);
    const repr = {
      xid: request.xid, flags: request.flags & DHCP_BROADCAST_FLAG, clientAddress: request.buffer.slice(request.clientAddressAt, request.clientAddressAt + 4),
      yourAddress: type === DhcpMessageType.nak ? ZERO_IPV4 : (address ?? ZERO_IPV4), serverAddress: subnet.gateway, clientMac, options,
    };
    const dhcpBytes = dhcpReplyLength(repr);
    const b = new Uint8Array(VNET_HEADER_BYTES + ETHERNET_HEADER_BYTES + IPV4_HEADER_BYTES + UDP_HEADER_BYTES + dhcpBytes);
    const ipAt = emitEthernet(b, VNET_HEADER_BYTES, { destination: clientMac, source: bridge.serviceMac, ethertype: EtherType.ipv4 });
    const udpAt = emitIpv4(b, ipAt, {
      dscp: 0, ecn: 0, identification: 0, dontFragment: false, ttl: REPLY_TTL, protocol: IpProtocol.udp,
      source: subnet.gateway, destination: BROADCAST_IPV4, payloadLength: UDP_HEADER_BYTES + dhcpBytes,
    });
    const dhcpAt = emitUdp(b, udpAt, { sourcePort: DhcpPort.server, destinationPort: DhcpPort.client, payloadLength: dhcpBytes });
    emitDhcpReply(b, dhcpAt, repr);
    new UdpDatagram(b, udpAt, b.length).fillChecksum(ipv4PseudoSum(b, ipAt, IpProtocol.udp, UDP_HEADER_BYTES + dhcpBytes));
    return b;
  }
}

/** RFC 3442: the prefix length, the significant bytes of the destination, the router. */
function classlessRoute(r: Prefix & { via: Uint8Array }): Uint8Array {
  return concatBytes([Uint8Array.of(r.length), r.address.subarray(0, Math.ceil(r.length / 8)), r.via]);
}


function uint16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff);
}

function uint32(n: number): Uint8Array {
  const v = Math.floor(n) >>> 0;
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
