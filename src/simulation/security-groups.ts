// Security groups in the walk (Neutron's model, stateful): a frame from a member VM passes if a
// rule of its groups allows it out (egress), a frame to a member VM if a rule allows it in
// (ingress); either passes when it belongs to a connection tracked in its tenant's zone, which
// is what lets the replies of allowed connections back in. Decided at flow setup: the flow
// carries the groups' tags (a rule change re-decides exactly their flows) and its
// connection's (its flows end with it). Neighbor discovery and DHCP pass unasked, as a VM
// needs them to have an address at all.
import { ConnTable, CtState, CtStateCode, emitFlowState, FLOW_STATE_BYTES, FLOW_STATE_KEY, KeyFlag, nextTcpState } from '../flow';
import { contains, DhcpPort, formatAddress, ICMPV4_HEADER_BYTES, Icmpv4Type, Icmpv6Type, IpProtocol, IPV6_HEADER_BYTES, Prefix, VNET_HEADER_BYTES } from '../packet';
import type { SecurityGroupDirection } from '../topology';
import { CONNTRACK_SPACE_TAG } from './tags';
import type { VirtualGroup, VirtualPort, VirtualRule } from './virtual-topology';
import type { Walk } from './walk';

const ANY = -1;
/** ICMP echo requests and their replies, tracked as one connection: [request, reply] types. */
const ECHO = [[Icmpv4Type.echoRequest, Icmpv4Type.echoReply], [Icmpv6Type.echoRequest, Icmpv6Type.echoReply]] as const;
const DHCP: readonly number[] = [DhcpPort.server, DhcpPort.client];
const ICMP_ERRORS: readonly number[] = [Icmpv4Type.destinationUnreachable, Icmpv4Type.timeExceeded, Icmpv4Type.parameterProblem];

/** What connection tracking found for a walk, looked up once. */
export interface Tracking {
  zone: [number, number];
  /** The tracked connection, or null for a frame that opens one. */
  found: { slot: number; state: CtStateCode; reply: boolean } | null;
  /** A new connection a rule allowed: tracked once the walk is done. */
  allowed: boolean;
}

export class SecurityGroupStep {
  constructor(private readonly conntrack: () => ConnTable) {}

  /** A frame from a member VM; false (and a drop) when its groups do not let it out. */
  egress(port: VirtualPort, w: Walk): boolean {
    return this.decide(port, 'egress', w.fields.networkDestination, w);
  }

  /** A frame to a member VM; false (the port is not an output) when its groups do not let it in. */
  ingress(port: VirtualPort, w: Walk): boolean {
    return this.decide(port, 'ingress', w.fields.networkSource, w);
  }

  /** After the walk: a new connection some rule allowed is tracked, a known one moves on. A
   *  full table refuses the new one: the flow is dropped (and retried when space frees). */
  commit(w: Walk, now: number): void {
    const t = w.tracking;
    if (!t || w.dryRun || w.outputs === 0) return;
    const f = w.fields;
    const bits = (f.flags & (KeyFlag.tcpSyn | KeyFlag.tcpFin | KeyFlag.tcpRst | KeyFlag.tcpAck)) >>> 4;
    const tcp = f.ipProtocol === IpProtocol.tcp;
    if (t.found) {
      const state = tcp ? nextTcpState(t.found.state, bits, t.found.reply) : t.found.reply ? CtState.replied : t.found.state;
      this.conntrack().update(t.found.slot, state, t.found.reply, now);
      return;
    }
    if (!t.allowed || (tcp && bits & (KeyFlag.tcpRst >>> 4))) return;
    const [sourcePort, destinationPort] = this.ports(w);
    const state = tcp ? nextTcpState(0, bits, false) : CtState.unreplied;
    const slot = this.conntrack().open(t.zone, f.ipProtocol, f.networkSource, f.networkDestination, sourcePort, destinationPort, state, now);
    if (slot < 0) {
      w.tags.add(CONNTRACK_SPACE_TAG);
      return w.refuse('conntrackFull', () => 'the connection table is full: a new connection is refused, established ones go on');
    }
    w.connection = slot;
    // The reply may enter at the host this flow tunnels to: it learns the connection first.
    const remotes = new Set(w.actions.flatMap((a) => (a.type === 'tunnel' ? [a.remote] : [])));
    if (remotes.size === 0) return;
    const frame = new Uint8Array(VNET_HEADER_BYTES + FLOW_STATE_BYTES);
    emitFlowState(frame, VNET_HEADER_BYTES, { zone: t.zone, protocol: f.ipProtocol, source: f.networkSource, destination: f.networkDestination, sourcePort, destinationPort, state });
    for (const remote of remotes) {
      w.note(() => `  flow state of the connection to ${remote}, ahead of its first frame`);
      w.emit.push({ frame, actions: [{ type: 'tunnel', key: FLOW_STATE_KEY, remote }] });
    }
  }

  private decide(port: VirtualPort, direction: SecurityGroupDirection, remote: Uint8Array, w: Walk): boolean {
    if (port.groups.length === 0 || !(w.ipv4 || w.ipv6)) return true;
    for (const g of port.groups) w.tags.add(g.tag);
    if (this.needed(w)) {
      w.note(() => `  security groups of ${port.name}: neighbor discovery and DHCP pass`);
      return true;
    }
    const t = this.track(port, w);
    if (t.found) {
      w.note(() => `  security groups of ${port.name}: ${direction}, conntrack ${this.conntrack().stateName(t.found!.state)}${t.found!.reply ? ' (reply)' : ''}: pass`);
      return true;
    }
    if (this.related(t.zone, w)) {
      w.note(() => `  security groups of ${port.name}: ${direction}, conntrack RELATED (an ICMP error about a tracked connection): pass`);
      return true;
    }
    // For every new flow through a member port: the rules of its direction and protocol only.
    for (let g = 0; g < port.groups.length; g++) {
      const group = port.groups[g];
      const rule = this.firstMatch(group.index[direction].get(w.fields.ipProtocol), remote, w) ?? this.firstMatch(group.index[direction].get(ANY), remote, w);
      if (!rule) continue;
      if (rule.remoteTag) w.tags.add(rule.remoteTag);
      t.allowed = true;
      w.note(() => `  security group ${group.name}: ${direction} rule ${rule.number} (${describe(rule)}) allows a new connection`);
      return true;
    }
    for (const group of port.groups) for (const rule of group.rules) if (rule.remoteTag) w.tags.add(rule.remoteTag);
    if (direction === 'egress') w.drop('securityGroup', () => `security groups of ${port.name} (${names(port.groups)}): no egress rule allows it (conntrack: new)`);
    else w.note(() => `  security groups of ${port.name} (${names(port.groups)}): no ingress rule allows it (conntrack: new): not sent there`);
    if (direction === 'ingress') w.denied++;
    return false;
  }

  /** Whether the frame is an ICMP error (unreachable, time exceeded, too big, parameter
   *  problem) about a tracked connection: its quote of the packet that caused it names the
   *  connection (RFC 792, RFC 4443 2.4). The quote is not in the flow key, so such frames
   *  come to the slow path one by one. */
  private related(zone: readonly [number, number], w: Walk): boolean {
    const f = w.fields;
    const error = w.ipv4 ? f.ipProtocol === IpProtocol.icmp && ICMP_ERRORS.includes(f.transportSource) : f.ipProtocol === IpProtocol.icmpv6 && f.transportSource >= 1 && f.transportSource <= 4;
    if (!error) return false;
    w.cache = false;
    const frame = w.frame;
    if (!frame) return false;
    const quote = (w.ipv4 ? w.l3At + (frame[w.l3At] & 0x0f) * 4 : w.l3At + IPV6_HEADER_BYTES) + ICMPV4_HEADER_BYTES; // ICMPv6's is as long
    const [protocolAt, sourceAt, length, l4At] = w.ipv4 ? [quote + 9, quote + 12, 4, quote + (frame[quote] & 0x0f) * 4] : [quote + 6, quote + 8, 16, quote + IPV6_HEADER_BYTES];
    if (l4At + 4 > frame.length) return false;
    const source = frame.subarray(sourceAt, sourceAt + length);
    const destination = frame.subarray(sourceAt + length, sourceAt + 2 * length);
    return this.conntrack().find(zone, frame[protocolAt], source, destination, (frame[l4At] << 8) | frame[l4At + 1], (frame[l4At + 2] << 8) | frame[l4At + 3]) !== null;
  }

  /** Looked up once per walk: the connection is the same wherever the frame goes. */
  private track(port: VirtualPort, w: Walk): Tracking {
    if (w.tracking) return w.tracking;
    const f = w.fields;
    const [sourcePort, destinationPort] = this.ports(w);
    const found = this.conntrack().find(port.zone, f.ipProtocol, f.networkSource, f.networkDestination, sourcePort, destinationPort);
    if (found) w.connection = found.slot;
    w.tracking = { zone: port.zone, found, allowed: false };
    return w.tracking;
  }

  /** The ports of the tuple: L4 ports; for ICMP echo the request's type as the source port of
   *  a request and the destination port of a reply, so that a reply is found as the other
   *  way of its request, and a request the other way is not. */
  private ports(w: Walk): [number, number] {
    const f = w.fields;
    if (f.ipProtocol !== IpProtocol.icmp && f.ipProtocol !== IpProtocol.icmpv6) return [f.transportSource, f.transportDestination];
    for (const [request, reply] of ECHO) {
      if (f.transportSource === request) return [request, 0];
      if (f.transportSource === reply) return [0, request];
    }
    return [0x100 + f.transportSource, 0x100 + f.transportSource];
  }

  private firstMatch(rules: readonly VirtualRule[] | undefined, remote: Uint8Array, w: Walk): VirtualRule | undefined {
    if (!rules) return undefined;
    for (let i = 0; i < rules.length; i++) if (this.matches(rules[i], remote, w)) return rules[i];
    return undefined;
  }

  /** Whether a rule of the frame's direction and protocol (or any) matches it. */
  private matches(rule: VirtualRule, remote: Uint8Array, w: Walk): boolean {
    const f = w.fields;
    if ((rule.ethertype === 'IPv6') !== w.ipv6) return false;
    if ((rule.portMin || rule.portMax) && (f.transportDestination < rule.portMin || f.transportDestination > (rule.portMax || rule.portMin))) return false;
    if (rule.icmpType >= 0 && f.transportSource !== rule.icmpType) return false;
    if (rule.remote === null) return true;
    const prefixes: Prefix[] = 'members' in rule.remote ? rule.remote.members : [rule.remote];
    return prefixes.some((p) => contains(p, remote));
  }

  private needed(w: Walk): boolean {
    const f = w.fields;
    if (w.ipv6) return f.ipProtocol === IpProtocol.icmpv6 && f.transportSource >= Icmpv6Type.routerSolicitation && f.transportSource <= Icmpv6Type.neighborAdvertisement;
    return f.ipProtocol === IpProtocol.udp && DHCP.includes(f.transportSource) && DHCP.includes(f.transportDestination);
  }
}

function names(groups: readonly VirtualGroup[]): string {
  return groups.map((g) => g.name).join(', ');
}

function describe(rule: VirtualRule): string {
  const ports = rule.portMin || rule.portMax ? ` ${rule.portMin}${rule.portMax > rule.portMin ? `-${rule.portMax}` : ''}` : '';
  const icmp = rule.icmpType >= 0 ? ` type ${rule.icmpType}` : '';
  const remote = rule.remote === null ? '' : 'members' in rule.remote ? ` group ${rule.remote.name}` : ` ${formatAddress(rule.remote.address)}/${rule.remote.length}`;
  return `${rule.ethertype} ${rule.protocol}${ports}${icmp}${remote}`;
}
