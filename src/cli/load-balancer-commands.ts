// `vswitch lb`: L4 load balancers on routers, their members and health monitors, through the
// tenant API. A load balancer is named by its name or id; a member by its address and port.
import { Args, choiceFlag, flag, integerFlag } from './args';
import { resolve } from './lookup';
import { table } from './table';
import type { CreateBody, Shown, TenantApi } from './tenant-api';
import type { Print } from './topology-commands';

export const LOAD_BALANCER_USAGE = `
  lb create NAME --router ROUTER --vip ADDRESS --port N [--protocol tcp|udp]
            [--algorithm round-robin|source-ip|least-connections]
            [--monitor none|tcp|http [--interval S] [--timeout S] [--rise N] [--fall N] [--path P] [--expect STATUS]]
                                  what comes to VIP:N through the router goes to a healthy member
  lb member add LB ADDRESS PORT [--weight N]    lb member set LB ADDRESS PORT --weight N
  lb member remove LB ADDRESS PORT              lb show LB    lb list    lb delete LB`;

export const LOAD_BALANCER_OPTIONS: Record<string, string[]> = {
  'lb create': ['router', 'vip', 'port', 'protocol', 'algorithm', 'monitor', 'interval', 'timeout', 'rise', 'fall', 'path', 'expect'],
  'lb member': ['weight'],
};

type Body = CreateBody<'load-balancers'>;
const ALGORITHMS: Record<string, Body['algorithm']> = { 'round-robin': 'roundRobin', 'source-ip': 'sourceIp', 'least-connections': 'leastConnections' };
const PROTOCOLS = ['tcp', 'udp'] as const;
const MONITORS = ['none', 'tcp', 'http'] as const;

export async function loadBalancerCommand(api: TenantApi, words: string[], args: Args, print: Print): Promise<number> {
  const [, sub, name] = words;
  const said = (lb: Shown<'load-balancers'>) => [
    `load balancer ${lb.name || lb.id} (${lb.id}): ${lb.protocol} ${lb.vip}:${lb.port}, ${lb.algorithm}, monitor ${lb.monitor.type}`,
    ...lb.members.map((m) => `  member ${m.address}:${m.port} weight ${m.weight}: ${m.health}`),
  ].join('\n');
  if (sub === 'create' && name) {
    const [router, vip, port] = [flag(args, 'router'), flag(args, 'vip'), integerFlag(args, 'port')];
    if (!router || !vip || port === undefined) throw new Error('vswitch lb create NAME needs --router ROUTER --vip ADDRESS --port N');
    const algorithm = flag(args, 'algorithm') ?? 'round-robin';
    if (!ALGORITHMS[algorithm]) throw new Error(`--algorithm: '${algorithm}' is not one of ${Object.keys(ALGORITHMS).join(', ')}`);
    const monitor: Body['monitor'] = {
      type: choiceFlag(args, 'monitor', MONITORS) ?? 'none', intervalSeconds: integerFlag(args, 'interval'), timeoutSeconds: integerFlag(args, 'timeout'),
      rise: integerFlag(args, 'rise'), fall: integerFlag(args, 'fall'), path: flag(args, 'path'), expectStatus: integerFlag(args, 'expect'),
    };
    const protocol = choiceFlag(args, 'protocol', PROTOCOLS) ?? 'tcp';
    const made = await api.create('load-balancers', { name, router: await resolve(api, 'router', router), vip, port, protocol, algorithm: ALGORITHMS[algorithm], monitor });
    print(made, () => said(made));
    return 0;
  }
  if (sub === 'list') {
    const all = await api.list('load-balancers');
    print(all, () => table(['name', 'id', 'vip', 'members up'], all.map((l) => [l.name || '-', l.id, `${l.protocol} ${l.vip}:${l.port}`, `${l.members.filter((m) => m.health !== 'down').length}/${l.members.length}`])));
    return 0;
  }
  if ((sub === 'show' || sub === 'delete') && name) {
    const found = await api.get('load-balancers', await resolve(api, 'lb', name));
    if (sub === 'show') {
      print(found, () => said(found));
      return 0;
    }
    await api.delete('load-balancers', found.id);
    print({ deleted: found.id }, () => `load balancer ${found.name || found.id} deleted`);
    return 0;
  }
  if (sub === 'member' && ['add', 'set', 'remove'].includes(name) && words[3]) {
    const found = await api.get('load-balancers', await resolve(api, 'lb', words[3]));
    const [address, portText] = [words[4], words[5]];
    if (!address || !portText || !/^\d+$/.test(portText)) throw new Error(`vswitch lb member ${name} LB ADDRESS PORT`);
    const port = Number(portText);
    const others = found.members.filter((m) => m.address !== address || m.port !== port).map(({ address: a, port: p, weight }) => ({ address: a, port: p, weight }));
    const existing = found.members.find((m) => m.address === address && m.port === port);
    if (name !== 'add' && !existing) throw new Error(`load balancer ${found.name || found.id} has no member ${address}:${port}`);
    const weight = integerFlag(args, 'weight') ?? existing?.weight ?? 1;
    const members = name === 'remove' ? others : [...others, { address, port, weight }];
    const changed = await api.update('load-balancers', found.id, { members });
    print(changed, () => said(changed));
    return 0;
  }
  throw new Error('vswitch lb create|member|show|list|delete ...');
}
