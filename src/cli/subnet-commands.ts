// `vswitch subnet add|delete`: a bridge's IP subnets, which DHCP and router advertisements
// tell its VMs about, through the tenant API.
import { Args, flag, integerFlag } from './args';
import { ControlClient } from './client';
import { ApiObject, resolve } from './lookup';
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

type Bridge = ApiObject & { subnets: Record<string, unknown>[] };

export async function subnetCommand(api: ControlClient, words: string[], args: Args, print: Print): Promise<number> {
  const [, sub, bridgeName, cidr] = words;
  if ((sub !== 'add' && sub !== 'delete') || !bridgeName || !cidr) throw new Error('vswitch subnet add|delete BRIDGE CIDR ...');
  const id = await resolve(api, 'bridge', bridgeName);
  const bridge = await api.request<Bridge>('GET', `/v1/bridges/${id}`);
  let subnets = bridge.subnets;
  if (sub === 'add') {
    const subnet: Record<string, unknown> = { cidr, dnsServers: args.flags.get('dns') ?? [] };
    for (const [option, field] of [['gateway', 'gateway'], ['domain', 'domain']]) if (flag(args, option)) subnet[field] = flag(args, option);
    subnet.routes = (args.flags.get('route') ?? []).map((r) => {
      const [destination, nextHop] = r.split(',');
      if (!nextHop) throw new Error(`--route takes CIDR,VIA, not '${r}'`);
      return { destination, nextHop };
    });
    const pool = flag(args, 'pool');
    if (pool) [subnet.poolStart, subnet.poolEnd] = pool.split('-');
    for (const [option, field] of [['lease-seconds', 'leaseSeconds'], ['mtu', 'mtu']]) if (integerFlag(args, option) !== undefined) subnet[field] = integerFlag(args, option);
    if (args.flags.has('no-dhcp')) subnet.dhcp = false;
    if (flag(args, 'ipv6-mode')) subnet.ipv6Mode = flag(args, 'ipv6-mode');
    subnets = [...subnets, subnet];
  } else {
    subnets = subnets.filter((s) => s.cidr !== cidr);
    if (subnets.length === bridge.subnets.length) throw new Error(`bridge ${bridgeName} has no subnet ${cidr}`);
  }
  const changed = await api.request<Bridge>('PATCH', `/v1/bridges/${id}`, { subnets });
  print(changed, () => [`bridge ${changed.name || ''} (${changed.id})`, ...changed.subnets.map(describeSubnet)].join('\n'));
  return 0;
}

export function describeSubnet(s: Record<string, unknown>): string {
  const parts = [
    `subnet ${s.cidr as string}`, `gateway ${s.gateway as string}`, s.dhcp ? 'dhcp' : '',
    (s.dnsServers as string[]).length ? `dns ${(s.dnsServers as string[]).join(' ')}` : '', s.domain ? `domain ${s.domain as string}` : '',
    s.poolStart ? `pool ${s.poolStart as string}-${s.poolEnd as string}` : '', s.mtu ? `mtu ${s.mtu as number}` : '',
    ...(s.routes as { destination: string; nextHop: string }[]).map((r) => `route ${r.destination} via ${r.nextHop}`),
  ];
  return `    ${parts.filter(Boolean).join(', ')}`;
}
