// A virtual router in the walk. Routes by longest prefix (connected subnets of its ports,
// then static routes), resolves next hops with ARP (RFC 826) or neighbor discovery (RFC
// 4861) and holds the frame meanwhile, rewrites the MACs and decrements the TTL, answers
// ARP, neighbor solicitations and pings to its own addresses, router solicitations with its
// IPv6 /64 prefixes (SLAAC), and sends ICMP time exceeded and destination unreachable (RFC
// 792, RFC 4443). What it answers itself is not cached.
import {
  ArpOperation, ArpPacket, EtherType, formatMac, Icmpv4Type, Icmpv6Message, Icmpv6Type, IpProtocol,
  IPV6_HEADER_BYTES, linkLocalOf, NdpOption,
} from '../packet';
import { contains, formatAddress, sameAddress } from '../packet';
import {
  advertisementOf, ALL_NODES, arpReply, arpRequest, icmpv4, icmpv6, neighborAdvertisement, neighborSolicitation, quoteOf, routerAdvertisement,
} from './router-frames';
import { FloatingIpStep } from './floating-ips';
import { SourceNatStep } from './source-nat';
import { LoadBalancerStep } from './load-balancer';
import { neighborTag } from './tags';
import { TokenBuckets } from './token-bucket';
import type { TopologyWalker } from './topology-simulation';
import { LinkAddress, VirtualPort, VirtualRouter } from './virtual-topology';
import { Walk } from './walk';

const UNSPECIFIED_V6 = new Uint8Array(16);
const Unreachable = { v4Network: 0, v4Port: 3, v6NoRoute: 0, v6Port: 4 } as const;

/** Linux's defaults for ICMP errors: 1000 a second, 50 at once (per router here). */
const ICMP_ERRORS_PER_SECOND = 1000;
const ICMP_ERROR_BURST = 50;
/** Router solicitations answered per host port: a host sends a few, then one an hour at most. */
const SOLICITATIONS_PER_SECOND = 10;
const SOLICITATION_BURST = 10;

export class RouterStep {
  /** ICMP errors per router; answers to router solicitations per port. */
  private readonly icmpBudgets = new TokenBuckets(ICMP_ERRORS_PER_SECOND, ICMP_ERROR_BURST);
  private readonly solicitationBudgets = new TokenBuckets(SOLICITATIONS_PER_SECOND, SOLICITATION_BURST);
  private readonly floating = new FloatingIpStep();
  private readonly sourceNat: SourceNatStep;
  private readonly loadBalancers: LoadBalancerStep;

  constructor(private readonly walker: TopologyWalker) {
    this.sourceNat = new SourceNatStep(walker.tracking, () => walker.topology.conntrack);
    this.loadBalancers = new LoadBalancerStep(walker, walker.tracking, () => walker.topology.conntrack);
  }

  enter(port: VirtualPort, w: Walk): void {
    const router = this.walker.topology.routers.get(port.device)!;
    w.tags.add(router.tag);
    w.note(() => `router ${router.name}: in on ${port.name}, ${w.describe()}`);
    const toUs = w.destination.every((b, i) => b === port.macBytes[i]);
    if (!toUs && !(w.destination[0] & 1)) return w.drop('notForRouter', () => `${formatMac(w.destination)} is not the router port's MAC`);
    if (w.fields.ethertype === EtherType.arp) return this.arp(router, port, w);
    const type = w.fields.transportSource;
    if (w.ipv6 && w.fields.ipProtocol === IpProtocol.icmpv6 && (type === Icmpv6Type.neighborSolicitation || type === Icmpv6Type.neighborAdvertisement)) {
      return this.neighborDiscovery(router, port, w);
    }
    if (w.ipv6 && w.fields.ipProtocol === IpProtocol.icmpv6 && type === Icmpv6Type.routerSolicitation) return this.solicited(port, w);
    if (!toUs) return w.drop('notForRouter', () => 'multicast and broadcast are not routed');
    if (w.ipv4 || w.ipv6) return this.ip(router, port, w);
    w.drop('notForRouter', () => `ethertype 0x${w.fields.ethertype.toString(16)} is not routed`);
  }

  private arp(router: VirtualRouter, port: VirtualPort, w: Walk): void {
    const op = w.fields.transportSource;
    const sender = w.fields.networkSource;
    const target = w.fields.networkDestination;
    const own = port.prefixes.some((p) => sameAddress(p.address, target)) || this.floating.owns(router, port, target, w) || this.loadBalancers.owns(router, port, target);
    let senderMac = w.source;
    if (w.frame) {
      const arp = new ArpPacket();
      if (arp.point(w.frame, w.l3At, w.frame.length) === null) senderMac = w.frame.slice(arp.shaAt, arp.shaAt + 6);
    }
    const onLink = port.prefixes.some((p) => contains(p, sender));
    // RFC 826: merge the sender when the frame is for us, or when we already know it.
    if (onLink && (own || op === ArpOperation.reply || this.walker.topology.neighbor(router.id, formatAddress(sender)))) this.learn(router, sender, senderMac, w);
    if (!own) return w.drop('notForRouter', () => `ARP for ${formatAddress(target)}, not an address of ${port.name}`);
    w.cache = false;
    if (op !== ArpOperation.request) return w.note(() => `  ARP reply: ${formatAddress(sender)} is at ${formatMac(senderMac)}`);
    w.note(() => `  ARP request for ${formatAddress(target)}: reply ${port.mac}`);
    this.walker.emit(port, arpReply(port.macBytes, target, senderMac, sender), w);
  }

  private neighborDiscovery(router: VirtualRouter, port: VirtualPort, w: Walk): void {
    if (!w.frame) return w.drop('notForRouter', () => 'neighbor discovery needs the frame');
    const message = new Icmpv6Message();
    if (message.point(w.frame, w.l3At + IPV6_HEADER_BYTES, w.frame.length) !== null) return w.drop('malformed', () => 'short neighbor discovery message');
    const target = w.frame.slice(message.targetAt, message.targetAt + 16);
    const solicitation = w.fields.transportSource === Icmpv6Type.neighborSolicitation;
    const option = message.linkLayerOptionAt(solicitation ? NdpOption.sourceLinkLayerAddress : NdpOption.targetLinkLayerAddress);
    const mac = option >= 0 ? w.frame.slice(option, option + 6) : w.source;
    if (!solicitation) {
      if (port.prefixes.some((p) => contains(p, target))) this.learn(router, target, mac, w);
      w.cache = false;
      return w.note(() => `  neighbor advertisement: ${formatAddress(target)} is at ${formatMac(mac)}`);
    }
    if (!port.prefixes.some((p) => sameAddress(p.address, target)) && !sameAddress(linkLocalOf(port.macBytes), target) && !this.loadBalancers.owns(router, port, target)) {
      return w.drop('notForRouter', () => `solicitation for ${formatAddress(target)}, not an address of ${port.name}`);
    }
    w.cache = false;
    const asker = w.fields.networkSource;
    const fromUnspecified = sameAddress(asker, UNSPECIFIED_V6);
    if (!fromUnspecified) this.learn(router, asker, mac, w);
    w.note(() => `  neighbor solicitation for ${formatAddress(target)}: advertise ${port.mac}`);
    this.walker.emit(port, neighborAdvertisement(port.macBytes, target, w.source, fromUnspecified ? ALL_NODES.address : asker), w);
  }

  /** A host's router solicitation (RFC 4861 6.2.6): an advertisement of the port's /64
   *  prefixes, to the host, or to all nodes when it asked from ::. A port with none is silent. */
  private solicited(port: VirtualPort, w: Walk): void {
    const bridge = this.walker.topology.bridges.get(this.walker.topology.ports.get(port.peer)?.device ?? '');
    const advertised = advertisementOf(port.prefixes, bridge?.subnets ?? []);
    if (advertised.prefixes.length === 0) return w.drop('notForRouter', () => `router solicitation: ${port.name} has no IPv6 /64 to advertise`);
    // Past the budget the drop is cached: a flood meets it in the datapath.
    if (!w.dryRun && !this.solicitationBudgets.take(`${port.id}/${formatMac(w.source)}`)) return w.drop('serviceLimited', () => 'router solicitations faster than they are answered');
    w.cache = false;
    const fromUnspecified = sameAddress(w.fields.networkSource, UNSPECIFIED_V6);
    const link = { source: port.macBytes, destination: fromUnspecified ? ALL_NODES.mac : w.source };
    w.note(() => `  router solicitation: advertise ${port.prefixes.filter((p) => p.address.length === 16 && p.length === 64).map((p) => p.text).join(', ')}`);
    const frame = routerAdvertisement(link, linkLocalOf(port.macBytes), fromUnspecified ? ALL_NODES.address : w.fields.networkSource, advertised, this.walker.topology.guestMtu);
    this.walker.emit(port, frame, w, 'routerAdvertisement');
  }

  private ip(router: VirtualRouter, port: VirtualPort, w: Walk): void {
    this.floating.inbound(router, port, w);
    this.sourceNat.inbound(router, port, w);
    if (!this.loadBalancers.inbound(router, port, w)) return;
    const destination = w.fields.networkDestination;
    if (router.ports.some((p) => p.prefixes.some((prefix) => sameAddress(prefix.address, destination)))) return this.local(port, w);
    if (w.ttl <= 1) {
      this.icmpError(port, w, w.ipv4 ? Icmpv4Type.timeExceeded : Icmpv6Type.timeExceeded, 0);
      return w.drop('ttlExpired', () => `TTL ${w.ttl}: time exceeded`);
    }
    const route = this.walker.topology.route(router, destination);
    if (!route || !route.port) {
      this.icmpError(port, w, w.ipv4 ? Icmpv4Type.destinationUnreachable : Icmpv6Type.destinationUnreachable, w.ipv4 ? Unreachable.v4Network : Unreachable.v6NoRoute);
      return w.drop('noRoute', () => `no route to ${formatAddress(destination)}: unreachable`);
    }
    const out = route.port;
    const nextHop = route.nextHop ?? destination;
    w.note(() => `  route ${route.text}: next hop ${formatAddress(nextHop)}`);
    if (!out.up) return w.drop('portDown', () => `${out.name} is down`);
    if (!this.floating.outbound(router, out, w) && !this.sourceNat.outbound(router, port, out, w)) return;
    const peer = out.peer ? this.walker.topology.ports.get(out.peer) : undefined;
    let mac: LinkAddress | undefined;
    if (peer?.kind === 'router') mac = { bytes: peer.macBytes, text: peer.mac };
    else {
      const hop = formatAddress(nextHop);
      const entry = this.walker.topology.neighbor(router.id, hop);
      w.tags.add(entry?.tag ?? neighborTag(router.id, hop));
      mac = entry;
    }
    if (!mac) return this.resolve(router, out, nextHop, w);
    w.actions.push({ type: 'set_eth', source: out.mac, destination: mac.text }, { type: 'dec_ttl' });
    w.note(() => `  ${formatAddress(nextHop)} is at ${mac.text}: out ${out.name}, TTL ${w.ttl} -> ${w.ttl - 1}`);
    w.source = out.macBytes;
    w.destination = mac.bytes;
    w.ttl--;
    this.walker.leave(out, w);
  }

  /** Asks for the next hop's MAC; the frame waits for the answer (the agent holds it). */
  private resolve(router: VirtualRouter, out: VirtualPort, nextHop: Uint8Array, w: Walk): void {
    w.cache = false;
    const sameFamily = out.prefixes.filter((p) => p.address.length === nextHop.length);
    const source = sameFamily.find((p) => contains(p, nextHop)) ?? sameFamily[0];
    if (!source) return w.drop('noRoute', () => `${out.name} has no address to ask for ${formatAddress(nextHop)} from`);
    const frame = nextHop.length === 4 ? arpRequest(out.macBytes, source.address, nextHop) : neighborSolicitation(out.macBytes, source.address, nextHop);
    const request = this.walker.emission(out, frame, w);
    if (!w.frame) return w.drop('neighborUnresolved', () => `${formatAddress(nextHop)} is not resolved: it would be asked for`);
    // A copy: the frame may be a view into a whole batch, which must not travel with it.
    w.holds.push({ router: router.id, address: formatAddress(nextHop), frame: w.frame.slice(), inPort: w.fields.inPort, request });
    w.note(() => `  ${formatAddress(nextHop)} is not resolved yet: asked, the frame waits`);
  }

  /** For one of the router's own addresses: pings are answered, UDP gets port unreachable. */
  private local(port: VirtualPort, w: Walk): void {
    const echo = w.ipv4 ? Icmpv4Type.echoRequest : Icmpv6Type.echoRequest;
    const icmp = w.ipv4 ? IpProtocol.icmp : IpProtocol.icmpv6;
    if (w.fields.ipProtocol === icmp && w.fields.transportSource === echo) {
      w.cache = false;
      w.note(() => `  echo request to ${formatAddress(w.fields.networkDestination)}: reply`);
      if (!w.frame) return;
      const at = this.transportAt(w);
      const end = this.ipEnd(w);
      if (at < 0 || at + 8 > end) return w.drop('malformed', () => 'short echo request');
      const rest = ((w.frame[at + 4] << 24) | (w.frame[at + 5] << 16) | (w.frame[at + 6] << 8) | w.frame[at + 7]) >>> 0;
      const payload = w.frame.slice(at + 8, end);
      const link = { source: port.macBytes, destination: w.source };
      const { networkDestination: source, networkSource: destination } = w.fields;
      const reply = w.ipv4
        ? icmpv4(link, source, destination, Icmpv4Type.echoReply, 0, rest, payload)
        : icmpv6(link, source, destination, Icmpv6Type.echoReply, 0, rest, payload);
      return this.walker.emit(port, reply, w);
    }
    if (this.loadBalancers.probeReply(w)) return;
    if (w.fields.ipProtocol === IpProtocol.udp) {
      this.icmpError(port, w, w.ipv4 ? Icmpv4Type.destinationUnreachable : Icmpv6Type.destinationUnreachable, w.ipv4 ? Unreachable.v4Port : Unreachable.v6Port);
    }
    w.drop('notForRouter', () => `nothing listens on ${formatAddress(w.fields.networkDestination)}`);
  }

  /** An ICMP error back to the sender, from the ingress port's address; never about an error.
   *  A flow that was answered is not cached, so that each of its frames is answered (each probe
   *  of a traceroute); one over the rate limit is, so that a flood meets a cached drop. */
  private icmpError(port: VirtualPort, w: Walk, type: number, code: number): void {
    const source = port.prefixes.find((p) => p.address.length === w.fields.networkSource.length);
    if (w.icmpError || !source || !w.frame || w.fields.networkDestination[0] >= (w.ipv4 ? 224 : 0xff)) return;
    if (!w.dryRun && !this.icmpBudgets.take(port.device)) return w.note(() => '  ICMP error not sent: over the rate limit');
    w.cache = false;
    w.note(() => `  ICMP ${type}/${code} to ${formatAddress(w.fields.networkSource)}`);
    const link = { source: port.macBytes, destination: w.source };
    const quote = quoteOf(w.frame, w.l3At, w.ipv6);
    const frame = w.ipv4
      ? icmpv4(link, source.address, w.fields.networkSource, type, code, 0, quote)
      : icmpv6(link, source.address, w.fields.networkSource, type, code, 0, quote);
    this.walker.emit(port, frame, w);
  }

  /** A neighbor heard from: learned, moved, or (the same as known) confirmed, which keeps it
   *  from aging out (the agent's shared-neighbors.ts). Only a change makes flows stale. */
  private learn(router: VirtualRouter, address: Uint8Array, mac: Uint8Array, w: Walk): void {
    const text = formatAddress(address);
    const known = this.walker.topology.neighbor(router.id, text);
    w.learned.push({ router: router.id, address: text, mac: formatMac(mac) });
    if (!known || !known.bytes.every((b, i) => b === mac[i])) w.invalidate.add(neighborTag(router.id, text));
  }

  private transportAt(w: Walk): number {
    if (!w.frame) return -1;
    return w.ipv4 ? w.l3At + (w.frame[w.l3At] & 0x0f) * 4 : w.l3At + IPV6_HEADER_BYTES;
  }

  private ipEnd(w: Walk): number {
    const f = w.frame!;
    const length = w.ipv4 ? (f[w.l3At + 2] << 8) | f[w.l3At + 3] : IPV6_HEADER_BYTES + ((f[w.l3At + 4] << 8) | f[w.l3At + 5]);
    return Math.min(f.length, w.l3At + length);
  }
}
