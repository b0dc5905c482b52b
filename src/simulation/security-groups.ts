// Security groups (Neutron's model, stateful), built on chains. Each group is a chain of accept
// rules per direction (ingress: to its members; egress: from them). A member port has a chain
// each way: what is not IP passes (ARP: port security guards it), so do neighbor discovery and
// DHCP, which a VM needs to have an address at all; then what belongs to a connection tracked
// in its tenant's zone (the replies of what was allowed the other way, and ICMP errors about
// them); then each of its groups' chains; and what none accepted is dropped. Flows carry the
// tags of the groups that decided them, and of the groups their rules name as remote groups,
// whose members' addresses they match.
import { contains, DhcpPort, EtherType, Icmpv6Type, IpProtocol, Prefix } from '../packet';
import { ChainRule, EMPTY_CHAIN_RULE, SecurityGroup, SecurityGroupDirection, SecurityGroupRule } from '../topology';
import { Condition, virtualChain, VirtualChain, VirtualChainRule, virtualRule } from './chains';
import { securityGroupTag } from './tags';
import type { Walk } from './walk';

const DHCP: readonly number[] = [DhcpPort.server, DhcpPort.client];
const PROTOCOLS: Record<SecurityGroupRule['protocol'], number> = { any: 0, tcp: IpProtocol.tcp, udp: IpProtocol.udp, icmp: IpProtocol.icmp, icmpv6: IpProtocol.icmpv6 };
const DIRECTIONS: readonly SecurityGroupDirection[] = ['ingress', 'egress'];

export type StateGroup = Omit<SecurityGroup, 'tenant'>;

/** A member port's two chains. */
export interface MemberChains {
  egress: VirtualChain;
  ingress: VirtualChain;
}

/** The groups of one topology version as chains; `members` holds each group's members' addresses. */
export class SecurityGroupChains {
  private readonly chains = new Map<string, VirtualChain>();
  private readonly names = new Map<string, string>();

  constructor(groups: readonly StateGroup[], members: ReadonlyMap<string, readonly Prefix[]>) {
    for (const g of groups) this.names.set(g.id, g.name);
    for (const g of groups) {
      for (const direction of DIRECTIONS) {
        const rules = g.rules.flatMap((rule, i) => (rule.direction === direction ? [this.accept(rule, i + 1, members.get(rule.remoteGroup) ?? [])] : []));
        this.chains.set(`${g.id}/${direction}`, virtualChain(`${g.id}/${direction}`, `security group ${g.name}`, securityGroupTag(g.id), 'securityGroup', rules));
      }
    }
  }

  /** The chains of a port in these groups (those that exist), tagged as the port. */
  member(port: { id: string; tag: string }, groups: readonly string[]): MemberChains | null {
    const known = groups.filter((id) => this.names.has(id));
    if (known.length === 0) return null;
    const names = known.map((id) => this.names.get(id)).join(', ');
    const chain = (direction: SecurityGroupDirection) => {
      const rule = (action: ChainRule['action'], text: string, conditions: Condition[], jumpTo: VirtualChain | null = null): VirtualChainRule =>
        ({ ...virtualRule({ ...EMPTY_CHAIN_RULE, action }, 0), text, conditions, jumpTo });
      const rules = [
        rule('accept', 'not IP', [(c) => !(c.w.ipv4 || c.w.ipv6)]),
        rule('accept', 'neighbor discovery, DHCP', [(c) => needed(c.w)]),
        rule('accept', 'ct established', virtualRule({ ...EMPTY_CHAIN_RULE, connectionState: 'established' }, 0).conditions),
        rule('accept', 'ct related', virtualRule({ ...EMPTY_CHAIN_RULE, connectionState: 'related' }, 0).conditions),
        ...known.map((id) => rule('jump', `group ${this.names.get(id)}`, [], this.chains.get(`${id}/${direction}`)!)),
        rule('drop', `no ${direction} rule of ${names} allows it`, []),
      ];
      rules.forEach((r, i) => (r.number = i + 1));
      return virtualChain(`${port.id}/${direction}`, 'security groups', port.tag, 'securityGroup', rules);
    };
    return { egress: chain('egress'), ingress: chain('ingress') };
  }

  /** A group's rule as an accept rule of its chain: the other end is the source of what comes
   *  in, the destination of what goes out; a remote group stands for its members' addresses. */
  private accept(rule: SecurityGroupRule, number: number, remoteMembers: readonly Prefix[]): VirtualChainRule {
    const remote = rule.direction === 'ingress' ? 'sourcePrefix' : 'destinationPrefix';
    const asChain: ChainRule = {
      ...EMPTY_CHAIN_RULE, action: 'accept', ethertype: rule.ethertype === 'IPv6' ? EtherType.ipv6 : EtherType.ipv4, protocol: PROTOCOLS[rule.protocol],
      destinationPortMin: rule.portMin, destinationPortMax: rule.portMax, icmpType: rule.icmpType, [remote]: rule.remotePrefix,
    };
    const virtual = { ...virtualRule(asChain, number), text: this.describe(rule) };
    if (rule.remoteGroup) {
      const address = (w: Walk) => (rule.direction === 'ingress' ? w.fields.networkSource : w.fields.networkDestination);
      virtual.conditions.push((c) => remoteMembers.some((p) => contains(p, address(c.w))));
      virtual.tags = [securityGroupTag(rule.remoteGroup)];
    }
    return virtual;
  }

  private describe(rule: SecurityGroupRule): string {
    const ports = rule.portMin || rule.portMax ? ` ${rule.portMin}${rule.portMax > rule.portMin ? `-${rule.portMax}` : ''}` : '';
    const icmp = rule.icmpType >= 0 ? ` type ${rule.icmpType}` : '';
    const remote = rule.remotePrefix ? ` ${rule.remotePrefix}` : rule.remoteGroup ? ` group ${this.names.get(rule.remoteGroup) ?? '(gone)'}` : '';
    return `${rule.ethertype} ${rule.protocol}${ports}${icmp}${remote}`;
  }
}

function needed(w: Walk): boolean {
  const f = w.fields;
  if (w.ipv6) return f.ipProtocol === IpProtocol.icmpv6 && f.transportSource >= Icmpv6Type.routerSolicitation && f.transportSource <= Icmpv6Type.neighborAdvertisement;
  return f.ipProtocol === IpProtocol.udp && DHCP.includes(f.transportSource) && DHCP.includes(f.transportDestination);
}
