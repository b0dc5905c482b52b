// Port security (anti-spoofing) where a frame enters the topology from a VM: it may carry only
// its port's MAC and addresses, or an allowed address pair's, as Neutron's port security and
// OVN's port_security have it. Also allowed: DHCP discovery from 0.0.0.0, duplicate address
// detection and MLD reports from ::, and the link-local address derived from the port's MAC.
// Refused outright: router advertisements and redirects from a VM (RA guard, RFC 6105).
// Decided at flow setup from the flow key (which carries ARP's sender MAC for this); neighbor
// discovery, whose target and link-layer option are not in the key, is checked frame by frame.
import { ArpOperation, contains, DhcpPort, EtherType, formatAddress, formatMac, Icmpv6Message, Icmpv6Type, IpProtocol, IPV6_HEADER_BYTES, linkLocalOf, NdpOption, parseMac, parsePrefix, Prefix, sameAddress } from '../packet';
import type { AddressPair } from '../topology';
import type { Walk } from './walk';

/** Who a port's VM may be: a MAC and the addresses it may send from with it. */
interface Identity {
  mac: Uint8Array;
  prefixes: Prefix[];
}

/** What a port's VM may send from, made once per topology version. */
export interface PortGuard {
  /** The port's own MAC with its addresses, then each pair's. Empty: any MAC. */
  identities: Identity[];
  /** Whether source addresses are checked: the port has addresses or pairs. */
  checksAddresses: boolean;
}

const ANY_V4 = new Uint8Array(4);
const ANY_V6 = new Uint8Array(16);

/** The guard of a bridge port with port security, or null for a port that sends what it likes. */
export function portGuard(port: { mac: string; addresses: readonly string[]; allowedAddressPairs: readonly AddressPair[]; portSecurity: boolean }): PortGuard | null {
  if (!port.portSecurity) return null;
  const own = port.mac ? parseMac(port.mac) : null;
  const exact = (text: string): Prefix => {
    const { address } = parsePrefix(text);
    return { address, length: address.length * 8 };
  };
  const identities: Identity[] = [];
  const ownPrefixes = port.addresses.map(exact);
  if (own) identities.push({ mac: own, prefixes: [...ownPrefixes, { address: linkLocalOf(own), length: 128 }] });
  for (const pair of port.allowedAddressPairs) {
    const mac = pair.macAddress ? parseMac(pair.macAddress) : own;
    if (!mac) continue; // a pair without a MAC on a port without one: any MAC may send from it, below
    const known = identities.find((i) => sameAddress(i.mac, mac));
    if (known) known.prefixes.push(parsePrefix(pair.ipAddress));
    else identities.push({ mac, prefixes: [parsePrefix(pair.ipAddress)] });
  }
  const checksAddresses = port.addresses.length > 0 || port.allowedAddressPairs.length > 0;
  if (!own) {
    // No MAC declared: any MAC, but still only the declared addresses.
    if (!checksAddresses) return null;
    return { identities: [{ mac: new Uint8Array(0), prefixes: [...ownPrefixes, ...port.allowedAddressPairs.map((p) => parsePrefix(p.ipAddress))] }], checksAddresses };
  }
  return { identities, checksAddresses };
}

export class PortSecurity {
  private readonly message = new Icmpv6Message();

  /** Whether the frame may enter by `port` (whose guard is `guard`); if not, the walk drops it. */
  admits(guard: PortGuard, portName: string, w: Walk): boolean {
    const f = w.fields;
    const identity = this.identityOf(guard, f.sourceMac);
    if (!identity) return this.refuse(w, 'spoofedMac', () => `${portName} sends from ${formatMac(f.sourceMac)}, not its MAC`);
    if (w.ipv6 && f.ipProtocol === IpProtocol.icmpv6 && (f.transportSource === Icmpv6Type.routerAdvertisement || f.transportSource === Icmpv6Type.redirect)) {
      return this.refuse(w, 'routerAdvertisement', () => `${portName} is a VM's port: it sends no router advertisements or redirects`);
    }
    if (f.ethertype === EtherType.arp) return this.arp(guard, identity, portName, w);
    if (!(w.ipv4 || w.ipv6)) return true;
    const source = f.networkSource;
    if (guard.checksAddresses && !identity.prefixes.some((p) => contains(p, source)) && !this.unaddressed(w)) {
      return this.refuse(w, 'spoofedIp', () => `${portName} sends from ${formatAddress(source)}, not its address`);
    }
    const nd = w.ipv6 && f.ipProtocol === IpProtocol.icmpv6 && (f.transportSource === Icmpv6Type.neighborAdvertisement || f.transportSource === Icmpv6Type.neighborSolicitation);
    return !nd || this.neighborDiscovery(guard, identity, portName, w);
  }

  /** A frame from a host that has no address yet: DHCP discovery, DAD, MLD reports. */
  private unaddressed(w: Walk): boolean {
    const f = w.fields;
    if (w.ipv4) return sameAddress(f.networkSource, ANY_V4) && f.ipProtocol === IpProtocol.udp && f.transportSource === DhcpPort.client && f.transportDestination === DhcpPort.server;
    return sameAddress(f.networkSource, ANY_V6) && f.ipProtocol === IpProtocol.icmpv6
      && (f.transportSource === Icmpv6Type.neighborSolicitation || f.transportSource === Icmpv6Type.listenerReport);
  }

  private arp(guard: PortGuard, identity: Identity, portName: string, w: Walk): boolean {
    const f = w.fields;
    if (identity.mac.length > 0 && !sameAddress(f.arpSourceMac, f.sourceMac)) {
      return this.refuse(w, 'spoofedArp', () => `${portName} sends ARP for ${formatMac(f.arpSourceMac)}, not its MAC`);
    }
    if (!guard.checksAddresses) return true;
    const probe = f.transportSource === ArpOperation.request && sameAddress(f.networkSource, ANY_V4); // RFC 5227
    if (probe || identity.prefixes.some((p) => contains(p, f.networkSource))) return true;
    return this.refuse(w, 'spoofedArp', () => `${portName} sends ARP as ${formatAddress(f.networkSource)}, not its address`);
  }

  /** A solicitation or advertisement names an address and a MAC beside its source: both must
   *  be the VM's. Neither is in the flow key, so every such frame comes to the slow path. */
  private neighborDiscovery(guard: PortGuard, identity: Identity, portName: string, w: Walk): boolean {
    w.cache = false;
    const frame = w.frame;
    if (!frame) {
      w.note(() => `  port security: a trace has no ${portName} neighbor discovery target to check`);
      return true;
    }
    if (frame[w.l3At + 6] !== IpProtocol.icmpv6 || this.message.point(frame, w.l3At + IPV6_HEADER_BYTES, frame.length) !== null) {
      return this.refuse(w, 'spoofedNeighbor', () => 'neighbor discovery behind extension headers, or cut short');
    }
    const advertisement = this.message.type === Icmpv6Type.neighborAdvertisement;
    const option = this.message.linkLayerOptionAt(advertisement ? NdpOption.targetLinkLayerAddress : NdpOption.sourceLinkLayerAddress);
    if (option >= 0 && identity.mac.length > 0 && !sameAddress(frame.subarray(option, option + 6), identity.mac)) {
      return this.refuse(w, 'spoofedNeighbor', () => `${portName} names ${formatMac(frame.subarray(option, option + 6))} in neighbor discovery, not its MAC`);
    }
    const target = frame.subarray(this.message.targetAt, this.message.targetAt + 16);
    if (advertisement && guard.checksAddresses && !identity.prefixes.some((p) => contains(p, target))) {
      return this.refuse(w, 'spoofedNeighbor', () => `${portName} advertises ${formatAddress(target)}, not its address`);
    }
    return true;
  }

  private identityOf(guard: PortGuard, mac: Uint8Array): Identity | undefined {
    return guard.identities.find((i) => i.mac.length === 0 || sameAddress(i.mac, mac));
  }

  private refuse(w: Walk, reason: 'spoofedMac' | 'spoofedIp' | 'spoofedArp' | 'spoofedNeighbor' | 'routerAdvertisement', why: () => string): false {
    w.drop(reason, () => `port security: ${why()}`);
    return false;
  }
}
