// `vswitch subnet add|delete`: a bridge's IP subnets, which DHCP and router advertisements
// tell its VMs about, through the tenant API.
import type { Subnet } from '../topology';
import { Args, choiceFlag, flag, integerFlag } from './args';
import { resolve } from './lookup';
import type { CreateBody, TenantApi } from './tenant-api';
import type { Print } from './topology-commands';

export const SUBNET_USAGE = `
  subnet add BRIDGE CIDR [--gateway IP] [--dns IP]... [--domain NAME] [--route CIDR,VIA]...
                    [--pool FIRST-LAST] [--lease-seconds N] [--mtu N] [--no-dhcp]
                    [--ipv6-mode slaac|dhcpv6-stateless|dhcpv6-stateful]
                                  an IP subnet of BRIDGE's network: on IPv4, each VM's host
                                  answers its DHCP with its port's address (a port made without
                                  one gets the pool's next); on IPv6, routers advertise it (SLAAC)
  subnet delete BRIDGE CIDR`;

export const SUBNET_OPTIONS: Record<string, string[]> = { 'subnet add': ['gateway', 'dns', 'domain', 'route', 'pool', 'lease-seconds', 'mtu', 'no-dhcp', 'ipv6-mode'] };
export const SUBNET_BOOLEANS = ['no-dhcp'];

type SubnetBody = NonNullable<CreateBody<'bridges'>['subnets']>[number];
const IPV6_MODES = ['slaac', 'dhcpv6-stateless', 'dhcpv6-stateful'] as const;

export async function subnetCommand(api: TenantApi, words: string[], args: Args, print: Print): Promise<number> {
  const [, sub, bridgeName, cidr] = words;
  if ((sub !== 'add' && sub !== 'delete') || !bridgeName || !cidr) throw new Error('vswitch subnet add|delete BRIDGE CIDR ...');
  const id = await resolve(api, 'bridge', bridgeName);
  const bridge = await api.get('bridges', id);
  let subnets: SubnetBody[] = bridge.subnets;
  if (sub === 'add') {
    const [poolStart, poolEnd] = flag(args, 'pool')?.split('-') ?? [];
    const subnet: SubnetBody = {
      cidr, dnsServers: args.flags.get('dns') ?? [], gateway: flag(args, 'gateway'), domain: flag(args, 'domain'), poolStart, poolEnd,
      routes: (args.flags.get('route') ?? []).map((r) => {
        const [destination, nextHop] = r.split(',');
        if (!nextHop) throw new Error(`--route takes CIDR,VIA, not '${r}'`);
        return { destination, nextHop };
      }),
      leaseSeconds: integerFlag(args, 'lease-seconds'), mtu: integerFlag(args, 'mtu'), ipv6Mode: choiceFlag(args, 'ipv6-mode', IPV6_MODES),
      ...(args.flags.has('no-dhcp') ? { dhcp: false } : {}),
    };
    subnets = [...subnets, subnet];
  } else {
    subnets = subnets.filter((s) => s.cidr !== cidr);
    if (subnets.length === bridge.subnets.length) throw new Error(`bridge ${bridgeName} has no subnet ${cidr}`);
  }
  const changed = await api.update('bridges', id, { subnets });
  print(changed, () => [`bridge ${changed.name || ''} (${changed.id})`, ...changed.subnets.map(describeSubnet)].join('\n'));
  return 0;
}

export function describeSubnet(s: Subnet): string {
  const parts = [
    `subnet ${s.cidr}`, `gateway ${s.gateway}`, s.dhcp ? 'dhcp' : '',
    s.dnsServers.length ? `dns ${s.dnsServers.join(' ')}` : '', s.domain ? `domain ${s.domain}` : '',
    s.poolStart ? `pool ${s.poolStart}-${s.poolEnd}` : '', s.mtu ? `mtu ${s.mtu}` : '',
    ...s.routes.map((r) => `route ${r.destination} via ${r.nextHop}`),
  ];
  return `    ${parts.filter(Boolean).join(', ')}`;
}
