// Security groups in the walk (Neutron's model, stateful): a frame from a member VM passes if a
// rule of its groups allows it out (egress), a frame to a member VM if a rule allows it in
// (ingress); either passes when it belongs to a connection tracked in its tenant's zone, which
// is what lets the replies of allowed connections back in. Decided at flow setup: the flow
// carries the groups' tags (a rule change re-decides exactly their flows) and its
// connection's (its flows end with it). Neighbor discovery and DHCP pass unasked, as a VM
// needs them to have an address at all.
import { contains, DhcpPort, formatAddress, IpProtocol, Prefix, Icmpv6Type } from '../packet';
import type { SecurityGroupDirection } from '../topology';
import type { ConnectionTracking } from './connection-tracking';
import type { VirtualGroup, VirtualPort, VirtualRule } from './virtual-topology';
import type { Walk } from './walk';

const ANY = -1;
const DHCP: readonly number[] = [DhcpPort.server, DhcpPort.client];

export class SecurityGroupStep {
  constructor(private readonly tracking: ConnectionTracking) {}

  /** A frame from a member VM; false (and a drop) when its groups do not let it out. */
  egress(port: VirtualPort, w: Walk): boolean {
    return this.decide(port, 'egress', w.fields.networkDestination, w);
  }

  /** A frame to a member VM; false (the port is not an output) when its groups do not let it in. */
  ingress(port: VirtualPort, w: Walk): boolean {
    return this.decide(port, 'ingress', w.fields.networkSource, w);
  }

  private decide(port: VirtualPort, direction: SecurityGroupDirection, remote: Uint8Array, w: Walk): boolean {
    if (port.groups.length === 0 || !(w.ipv4 || w.ipv6)) return true;
    for (const g of port.groups) w.tags.add(g.tag);
    if (this.needed(w)) {
      w.note(() => `  security groups of ${port.name}: neighbor discovery and DHCP pass`);
      return true;
    }
    const t = this.tracking.track(port.zone, w);
    if (t.state === 'established' || t.state === 'related') {
      w.note(() => `  security groups of ${port.name}: ${direction}, conntrack ${this.tracking.describe(t)}: pass`);
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
    if (direction === 'egress') w.drop('securityGroup', () => `security groups of ${port.name} (${names(port.groups)}): no egress rule allows it (conntrack: ${this.tracking.describe(t)})`);
    else w.note(() => `  security groups of ${port.name} (${names(port.groups)}): no ingress rule allows it (conntrack: ${this.tracking.describe(t)}): not sent there`);
    if (direction === 'ingress') w.denied++;
    return false;
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
