// The `vswitch` commands on the virtual topology, through the tenant API, in the manner of
// ovs-vsctl and the openstack client: create, list, delete, bind, link, route, mirror, show,
// trace.
import fs from 'node:fs';
import path from 'node:path';
import { Args, choiceFlag, flag, integerFlag } from './args';
import { ControlClient } from './client';
import { CHAIN_COMMANDS, CHAIN_OPTIONS, CHAIN_USAGE, chainCommand, chainsFrom } from './chain-commands';
import { Noun, PATHS, resolve, resolveDevice } from './lookup';
import { describeSubnet, SUBNET_OPTIONS, SUBNET_USAGE, subnetCommand } from './subnet-commands';
import { FLOATING_IP_OPTIONS, FLOATING_IP_USAGE, floatingIpCommand } from './floating-ip-commands';
import { LOAD_BALANCER_OPTIONS, LOAD_BALANCER_USAGE, loadBalancerCommand } from './load-balancer-commands';
import { table } from './table';
import { CreateBody, Shown, ShownMigration, TenantApi } from './tenant-api';

export const DEFAULT_API = process.env.VSWITCH_API ?? '127.0.0.1:8780';
const STATE_DIR = process.env.VSWITCH_STATE_DIR ?? '/var/lib/vswitch';

export const TOPOLOGY_USAGE = `
  tenant create NAME              a tenant; prints its token (once)
  tenant rotate-token TENANT      a new token for TENANT (name or id; a tenant's own token may
                                  rotate itself); the old one stops working at once
  tenant revoke-token TENANT      no token works for TENANT until the operator rotates it
  host list                       the hosts, and whether their agents are alive
  host rotate-token [HOST]        a new credential for HOST's agent and libvirt hook; without
                                  HOST, this host's, written to ${STATE_DIR}/host-token
  host revoke-token HOST          HOST's credential stops working (a lost host, a stolen disk)
  bridge create NAME [--vlan-aware] [--external]        router create NAME
                                  --external: an external network (the operator's), where
                                  routers have gateways and floating IPs come from
  router set ROUTER --gateway EXTERNAL|none   the router's gateway on an external network${SUBNET_USAGE}${FLOATING_IP_USAGE}${LOAD_BALANCER_USAGE}
  bridge|router|tenant|route list             bridge|router|tenant delete NAME|ID
  port create DEVICE [--name N] [--address CIDR]... [--mac MAC] [--vlan N] [--trunk] [--peer PORT]
                    [--allowed-address IP[/LEN][,MAC]]... [--no-port-security]
                    [--send-kbps N] [--receive-kbps N] [--burst-kbytes N] [--new-flows-per-second N]
                    [--security-group GROUP]... [--inbound-chain CHAIN] [--outbound-chain CHAIN]
                                  a port of a bridge or router (DEVICE: name or id);
                                  --peer links it to another device's port; a bridge port's
                                  VM sends only from its --mac and --address (and allowed ones),
                                  at the rates given (QoS: 0 or none, no limit)
  port bind PORT INTERFACE [--host ID] [--standby HOST:INTERFACE,...]
                                  --standby: where it moves, in order, when its host's agent
                                  dies (an uplink's other gateway hosts)
  port unbind PORT                port delete PORT
  route add ROUTER PREFIX [--via ADDRESS] [--port PORT] [--weight N]
  route delete ID
  mirror create PORT --to PORT [--direction in|out|both] [--match FLOW] [--name N]
                                  copies of PORT's frames (FLOW selects them, e.g. icmp or
                                  tcp,tp_dst=80) to a port bound here (SPAN) or on another host
  mirror list                     mirror delete NAME|ID
  security-group create NAME      a group that lets its members' traffic out, nothing in
  security-group list             security-group delete NAME|ID
  security-group rule add GROUP ingress|egress [--protocol tcp|udp|icmp|icmpv6] [--port N[-M]]
                    [--icmp-type N] [--remote-prefix CIDR | --remote-group GROUP] [--ipv6]
                                  lets new connections in or out (their replies come back)
  security-group rule delete GROUP N      the group's Nth rule (security-group list shows them)${CHAIN_USAGE}
  migration begin PORT --to HOST --interface DEV [--timeout SECONDS]
                                  the port's VM moves to HOST, where it will be DEV: the
                                  port is bound there too, and its frames copied there
  migration commit|abort PORT     bound at the destination alone, or at the source again
  migration list
  show                            the whole topology as a tree
  trace --port PORT FLOW          what a frame would do, step by step, without sending it;
                                  FLOW as ovs-appctl ofproto/trace takes it, e.g.
                                  icmp,dl_src=…,dl_dst=…,nw_src=10.0.1.5,nw_dst=10.0.2.5,nw_ttl=64

The tenant API is --api HOST:PORT|https://HOST:PORT|SOCKET ($VSWITCH_API, default ${DEFAULT_API});
over HTTPS, --cacert PEM ($VSWITCH_CACERT) is the CA that signed its certificate (else the
system's). The token is --token ($VSWITCH_TOKEN), or the admin token in ${STATE_DIR}/admin-token.`;

export const TOPOLOGY_OPTIONS: Record<string, string[]> = {
  'bridge create': ['vlan-aware', 'external'],
  'port create': ['name', 'address', 'mac', 'vlan', 'trunk', 'peer', 'allowed-address', 'no-port-security', 'send-kbps', 'receive-kbps', 'burst-kbytes', 'new-flows-per-second', 'security-group', 'inbound-chain', 'outbound-chain'],
  ...CHAIN_OPTIONS,
  ...SUBNET_OPTIONS,
  ...Object.fromEntries(['bridge set', 'router set', 'port set'].map((command) => [command, ['inbound-chain', 'outbound-chain', ...(command === 'router set' ? ['gateway'] : [])]])),
  ...FLOATING_IP_OPTIONS,
  ...LOAD_BALANCER_OPTIONS,
  'security-group rule': ['protocol', 'port', 'icmp-type', 'remote-prefix', 'remote-group', 'ipv6'],
  'port bind': ['host', 'standby'],
  'route add': ['via', 'port', 'weight'],
  'mirror create': ['to', 'direction', 'match', 'name'],
  'migration begin': ['to', 'interface', 'timeout'],
  trace: ['port'],
};
export const TOPOLOGY_COMMANDS = new Set(['tenant', 'host', 'bridge', 'router', 'route', 'mirror', 'migration', 'security-group', ...CHAIN_COMMANDS, 'subnet', 'floating-ip', 'lb', 'show', 'trace']);
export const VIRTUAL_PORT_COMMANDS = new Set(['create', 'bind', 'unbind', 'delete', 'set']);

export type Print = (value: unknown, text: () => string) => void;

const DIRECTIONS = ['in', 'out', 'both'] as const;
const RULE_PROTOCOLS = ['any', 'tcp', 'udp', 'icmp', 'icmpv6'] as const;
type SecurityGroupRuleBody = NonNullable<CreateBody<'security-groups'>['rules']>[number];

export function tenantClient(args: Args): TenantApi {
  let token = flag(args, 'token') ?? process.env.VSWITCH_TOKEN;
  if (!token) {
    try {
      token = fs.readFileSync(path.join(STATE_DIR, 'admin-token'), 'utf8').trim();
    } catch {
      token = undefined;
    }
  }
  const cacert = flag(args, 'cacert') ?? process.env.VSWITCH_CACERT;
  let ca: string | undefined;
  if (cacert) {
    try {
      ca = fs.readFileSync(cacert, 'utf8');
    } catch (error) {
      throw new Error(`--cacert: cannot read ${cacert}: ${(error as Error).message}`);
    }
  }
  return new TenantApi(new ControlClient(flag(args, 'api') ?? DEFAULT_API, token, ca));
}

/** Whether `word` is a command's noun for objects of the API. */
const isNoun = (word: string): word is Noun => word in PATHS;

export async function topologyCommand(api: TenantApi, local: ControlClient, words: string[], args: Args, print: Print): Promise<number> {
  const [command, sub, ...rest] = words;
  const need = (i: number, what: string) => {
    if (!rest[i]) throw new Error(`vswitch ${command} ${sub} needs ${what}`);
    return rest[i];
  };
  const created = (o: { id: string; name?: string }, extra = '') => print(o, () => `${command} ${o.name || ''} ${o.id}${extra}`.replace(/ +/g, ' '));
  if (command === 'show') {
    const tree = await show(api);
    print(tree.json, () => tree.text);
    return 0;
  }
  if (command === 'trace') {
    const port = flag(args, 'port');
    if (!port) throw new Error('vswitch trace needs --port PORT (an interface, a port number or a virtual port id)');
    const report = await local.request<{ flow: string; steps: string[]; actions: string; cached: boolean; sends: string[] }>('POST', '/trace', { port, flow: words.slice(1).join(',') });
    print(report, () => [
      `Flow: ${report.flow}`, '', ...report.steps, '',
      `Datapath actions: ${report.actions}${report.cached ? '' : ' (not cached: answered by the slow path)'}`,
      ...report.sends.map((s) => `Sends: ${s}`),
    ].join('\n'));
    return 0;
  }
  if (command === 'subnet') return subnetCommand(api, words, args, print);
  if (command === 'floating-ip') return floatingIpCommand(api, words, args, print);
  if (command === 'lb') return loadBalancerCommand(api, words, args, print);
  if (CHAIN_COMMANDS.has(command)) {
    const done = await chainCommand(api, words, args, print);
    if (done !== null) return done;
  }
  if (command === 'migration') return migrationCommand(api, sub, need, args, print);
  if (!isNoun(command)) throw new Error(`unknown command 'vswitch ${words.slice(0, 2).join(' ')}' (see vswitch --help)`);
  if (sub === 'set' && (command === 'bridge' || command === 'router' || command === 'port')) {
    const id = await resolve(api, command, need(0, `a ${command} (name or id)`));
    const chains = await chainsFrom(api, args);
    const gateway = flag(args, 'gateway');
    if (command === 'router') {
      const body = { ...chains, ...(gateway !== undefined ? { externalNetwork: gateway === 'none' ? '' : await resolve(api, 'bridge', gateway) } : {}) };
      if (Object.keys(body).length === 0) throw new Error('vswitch router set needs --inbound-chain, --outbound-chain or --gateway');
      const o = await api.update('routers', id, body);
      print(o, () => `${describeChains(command, o)}, gateway ${o.gatewayPort ? `on ${o.externalNetwork}` : 'none'}`);
      return 0;
    }
    if (Object.keys(chains).length === 0) throw new Error(`vswitch ${command} set needs --inbound-chain or --outbound-chain`);
    const o = await api.update(PATHS[command], id, chains);
    print(o, () => describeChains(command, o));
    return 0;
  }
  if (sub === 'list' && command !== 'security-group') {
    const objects: { id: string; tenant: string; name?: string; destination?: string; alive?: boolean }[] = await api.list(PATHS[command]);
    const [heading, column] = command === 'host' ? ['agent', (o: (typeof objects)[number]) => (o.alive ? 'alive' : 'down')] : ['tenant', (o: (typeof objects)[number]) => o.tenant];
    print(objects, () => table(['id', 'name', heading], objects.map((o) => [o.id, o.name ?? o.destination ?? '', column(o)])));
    return 0;
  }
  if (sub === 'delete' || (command === 'route' && sub === 'del')) {
    const id = await resolve(api, command, need(0, `a ${command} name or id`));
    await api.delete(PATHS[command], id);
    print({ deleted: id }, () => `${command} ${id} deleted`);
    return 0;
  }
  if ((command === 'tenant' || command === 'host') && (sub === 'rotate-token' || sub === 'revoke-token')) {
    const here = command === 'host' && sub === 'rotate-token' && !rest[0];
    const id = here ? fs.readFileSync(path.join(STATE_DIR, 'host-id'), 'utf8').trim() : await resolve(api, command, need(0, `a ${command} name or id`));
    const answer = await api.credential(PATHS[command], id, sub === 'rotate-token' ? 'rotate' : 'revoke');
    if (here) fs.writeFileSync(path.join(STATE_DIR, 'host-token'), `${answer.token}\n`, { mode: 0o600 });
    const said = here ? `host ${id}: new credential written to ${path.join(STATE_DIR, 'host-token')}` : answer.token ? `${command} ${id}: new token: ${answer.token}` : `${command} ${id}: token revoked`;
    print(here ? { id } : answer, () => said);
    return 0;
  }
  if (command === 'mirror' && sub === 'create') {
    const to = flag(args, 'to');
    if (!to) throw new Error('vswitch mirror create needs --to PORT (where the copies go)');
    const mirror = await api.create('mirrors', {
      port: await resolve(api, 'port', need(0, 'the mirrored port (name or id)')), toPort: await resolve(api, 'port', to),
      direction: choiceFlag(args, 'direction', DIRECTIONS), match: flag(args, 'match'), name: flag(args, 'name'),
    });
    print(mirror, () => `mirror ${mirror.id}: ${mirror.direction} of ${mirror.port} to ${mirror.toPort}${mirror.match ? ` (${mirror.match})` : ''}`);
    return 0;
  }
  if (command === 'security-group' && sub === 'rule') {
    const [verb, nameOrId] = rest;
    const id = await resolve(api, 'security-group', nameOrId ?? '');
    const group = await api.get('security-groups', id);
    const rules: SecurityGroupRuleBody[] = group.rules;
    if (verb === 'add') {
      const direction = rest[2];
      if (direction !== 'ingress' && direction !== 'egress') throw new Error('vswitch security-group rule add GROUP needs ingress or egress');
      const [portMin, portMax] = (flag(args, 'port') ?? '').split('-').filter(Boolean).map(Number);
      const remoteGroup = flag(args, 'remote-group');
      rules.push({
        direction, ethertype: args.flags.has('ipv6') ? 'IPv6' : 'IPv4', protocol: choiceFlag(args, 'protocol', RULE_PROTOCOLS) ?? 'any',
        ...(portMin !== undefined ? { portMin, portMax: portMax ?? portMin } : {}),
        icmpType: integerFlag(args, 'icmp-type'), remotePrefix: flag(args, 'remote-prefix'),
        remoteGroup: remoteGroup === undefined ? undefined : await resolve(api, 'security-group', remoteGroup),
      });
    } else if (verb === 'delete') {
      const n = Number(rest[2]);
      if (!Number.isInteger(n) || n < 1 || n > rules.length) throw new Error(`security group ${nameOrId} has rules 1 to ${rules.length}`);
      rules.splice(n - 1, 1);
    } else throw new Error('vswitch security-group rule add|delete GROUP ...');
    const changed = await api.update('security-groups', id, { rules });
    print(changed, () => describeGroup(changed));
    return 0;
  }
  if (command === 'security-group' && sub === 'list') {
    const groups = await api.list('security-groups');
    print(groups, () => groups.map(describeGroup).join('\n') || '(no security groups)');
    return 0;
  }
  if (sub === 'create' && command !== 'port' && command !== 'route' && command !== 'lb' && command !== 'mirror') {
    const body = { name: need(0, 'a name') };
    const o = command === 'bridge'
      ? await api.create('bridges', { ...body, ...(args.flags.has('vlan-aware') ? { vlanAware: true } : {}), ...(args.flags.has('external') ? { external: true } : {}) })
      : await api.create(PATHS[command], body);
    created(o, o.token ? `\ntoken: ${o.token}` : '');
    return 0;
  }
  if (command === 'port' && sub === 'create') {
    const device = await resolveDevice(api, need(0, 'a bridge or router (name or id)'));
    const body: CreateBody<'ports'> = {
      device, addresses: args.flags.get('address') ?? [], name: flag(args, 'name'), mac: flag(args, 'mac'), vlan: integerFlag(args, 'vlan'),
      ...(args.flags.has('trunk') ? { trunk: true } : {}), ...(args.flags.has('no-port-security') ? { portSecurity: false } : {}),
      ...await chainsFrom(api, args),
    };
    const qos = Object.fromEntries(([['send-kbps', 'sendKbps'], ['receive-kbps', 'receiveKbps'], ['burst-kbytes', 'burstKbytes'], ['new-flows-per-second', 'newFlowsPerSecond']] as const)
      .filter(([option]) => integerFlag(args, option) !== undefined).map(([option, field]) => [field, integerFlag(args, option)]));
    if (Object.keys(qos).length > 0) body.qos = qos;
    const pairs = args.flags.get('allowed-address') ?? [];
    if (pairs.length > 0) body.allowedAddressPairs = pairs.map((pair) => ({ ipAddress: pair.split(',')[0], macAddress: pair.split(',')[1] ?? '' }));
    if (flag(args, 'peer')) body.peer = await resolve(api, 'port', flag(args, 'peer')!);
    const groups = args.flags.get('security-group') ?? [];
    if (groups.length > 0) body.securityGroups = await Promise.all(groups.map((g) => resolve(api, 'security-group', g)));
    created(await api.create('ports', body));
    return 0;
  }
  if (command === 'port' && sub === 'bind') {
    const port = await resolve(api, 'port', need(0, 'a port (name or id)'));
    const standby = flag(args, 'standby')?.split(',').map((s) => {
      const [host, iface] = s.split(':');
      if (!host || !iface) throw new Error(`--standby: '${s}' is not HOST:INTERFACE`);
      return { host, interface: iface };
    });
    const binding = await api.create('bindings', { port, interface: need(1, 'an interface name'), host: flag(args, 'host'), standby });
    const also = binding.standby.map((s) => `${s.interface} on ${s.host}`).join(', ');
    print(binding, () => `port ${port} bound to ${binding.interface} on host ${binding.host}${also ? `; standby: ${also}` : ''}`);
    return 0;
  }
  if (command === 'port' && sub === 'unbind') {
    const port = await resolve(api, 'port', need(0, 'a port (name or id)'));
    await api.delete('bindings', port);
    print({ unbound: port }, () => `port ${port} unbound`);
    return 0;
  }
  if (command === 'route' && sub === 'add') {
    const router = await resolve(api, 'router', need(0, 'a router (name or id)'));
    const port = flag(args, 'port');
    const route = await api.create('routes', {
      router, destination: need(1, 'a destination prefix'), nextHop: flag(args, 'via'),
      port: port === undefined ? undefined : await resolve(api, 'port', port), weight: integerFlag(args, 'weight'),
    });
    print(route, () => `route ${route.id}: ${route.destination}${route.nextHop ? ` via ${route.nextHop}` : ''}`);
    return 0;
  }
  throw new Error(`unknown command 'vswitch ${words.slice(0, 2).join(' ')}' (see vswitch --help)`);
}

/** The command's Nth word after its subcommand, or an error that says what it needs. */
type Need = (i: number, what: string) => string;

/** `migration begin|commit|abort PORT`, `migration list`. */
async function migrationCommand(api: TenantApi, sub: string | undefined, need: Need, args: Args, print: Print): Promise<number> {
  const describe = (m: ShownMigration) => `migration of ${m.port}: ${m.state} (${m.sourceHost} -> ${m.destinationHost} ${m.destinationInterface})${m.reason ? `: ${m.reason}` : ''}`;
  if (sub === 'list') {
    const all = await api.migrations();
    print(all, () => table(['port', 'state', 'from', 'to'], all.map((m) => [m.port, m.state, m.sourceHost, `${m.destinationHost} ${m.destinationInterface}`])));
    return 0;
  }
  const port = await resolve(api, 'port', need(0, 'the migrating port (name or id)'));
  let m: ShownMigration;
  if (sub === 'begin') {
    const [to, dev] = [flag(args, 'to'), flag(args, 'interface')];
    if (!to || !dev) throw new Error('vswitch migration begin needs --to HOST and --interface DEV (the VM\'s interface on that host)');
    m = await api.beginMigration({ port, destinationHost: to, interface: dev, timeoutSeconds: integerFlag(args, 'timeout') });
  } else if (sub === 'commit' || sub === 'abort') {
    m = await api.endMigration(port, sub);
  } else throw new Error('vswitch migration begin|commit|abort PORT, or migration list');
  print(m, () => describe(m));
  return 0;
}

/** A bridge's, router's or port's chains, as `set` leaves them. */
function describeChains(noun: string, o: { id: string; name: string; inboundChain: string; outboundChain: string }): string {
  return `${noun} ${o.name} ${o.id}: inbound chain ${o.inboundChain || 'none'}, outbound chain ${o.outboundChain || 'none'}`.replace(/ +/g, ' ');
}

/** The topology as a tree: tenant > bridges and routers > ports (bindings, links) and routes. */
async function show(api: TenantApi): Promise<{ json: unknown; text: string }> {
  const [tenants, all, routers, ports, routes, bindings, groups, chains, floatingIps, balancers] = await Promise.all([
    api.list('tenants'), api.list('bridges'), api.list('routers'), api.list('ports'), api.list('routes'), api.list('bindings'),
    api.list('security-groups'), api.list('chains'), api.list('floating-ips'), api.list('load-balancers'),
  ]);
  // External networks stand apart: the operator's, every tenant's way out.
  const externals = all.filter((b) => b.external);
  const bridges = all.filter((b) => !b.external);
  const groupsById = new Map(groups.map((g) => [g.id, g]));
  const chainsById = new Map(chains.map((c) => [c.id, c]));
  const filters = (o: { inboundChain: string; outboundChain: string }, [inbound, outbound]: [string, string]) => [
    o.inboundChain ? `${inbound} chain ${label(chainsById.get(o.inboundChain))}` : '',
    o.outboundChain ? `${outbound} chain ${label(chainsById.get(o.outboundChain))}` : '',
  ].filter(Boolean);
  const label = (o: { id: string; name: string } | undefined) => (o ? `${o.name || o.id.slice(0, 8)}` : '?');
  const devicesById = new Map<string, { id: string; name: string }>([...all, ...routers].map((o) => [o.id, o]));
  const portsById = new Map(ports.map((p) => [p.id, p]));
  const lines = externals.map((e) => `external network ${label(e)} (${e.id}): ${e.subnets.map((s) => s.cidr).join(', ')}`);
  const owners = [...new Set([...bridges, ...routers].map((d) => d.tenant))];
  for (const owner of owners) {
    const tenant = tenants.find((t) => t.id === owner);
    lines.push(`tenant ${tenant ? label(tenant) : owner} (${owner})`);
    const devices: ({ kind: 'bridge'; device: Shown<'bridges'> } | { kind: 'router'; device: Shown<'routers'> })[] = [
      ...bridges.filter((d) => d.tenant === owner).map((device) => ({ kind: 'bridge' as const, device })),
      ...routers.filter((d) => d.tenant === owner).map((device) => ({ kind: 'router' as const, device })),
    ];
    for (const { kind, device } of devices) {
      const chained = filters(device, kind === 'router' ? ['pre-routing', 'post-routing'] : ['inbound', 'outbound']);
      const gatewayPort = kind === 'router' ? device.gatewayPort : '';
      if (kind === 'router' && gatewayPort) chained.push(`gateway on ${label(devicesById.get(device.externalNetwork))} ${portsById.get(gatewayPort)?.addresses.join(', ') ?? ''}`.trim());
      lines.push(`  ${kind} ${label(device)} (${device.id})${chained.length ? ': ' + chained.join(', ') : ''}`);
      if (kind === 'bridge') for (const subnet of device.subnets) lines.push(describeSubnet(subnet));
      for (const port of ports.filter((p) => p.device === device.id)) {
        const binding = bindings.find((b) => b.id === port.id);
        const peer = portsById.get(port.peer);
        const details = [
          port.mac, port.addresses.join(', '), port.vlan ? `vlan ${port.vlan}` : '', port.trunk ? 'trunk' : '',
          port.peer && port.id !== gatewayPort ? `<-> ${label(peer)} of ${label(devicesById.get(peer?.device ?? ''))}` : '',
          binding ? `bound to ${binding.interface} on host ${binding.host.slice(0, 8)}` : '',
          port.adminUp === false ? 'admin down' : '',
          kind === 'bridge' && port.portSecurity === false ? 'port security off' : '',
          ...port.securityGroups.map((g) => `security group ${label(groupsById.get(g))}`),
          ...filters(port, ['inbound', 'outbound']),
          ...floatingIps.filter((f) => f.port === port.id).map((f) => `floating IP ${f.address}`),
          ...Object.entries(port.qos).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`),
          ...port.allowedAddressPairs.map((p) => `also ${p.ipAddress}${p.macAddress ? ` from ${p.macAddress}` : ''}`),
        ].filter(Boolean);
        lines.push(`    port ${label(port)} (${port.id.slice(0, 8)})${details.length ? ': ' + details.join(', ') : ''}`);
      }
      for (const route of routes.filter((r) => r.router === device.id)) {
        lines.push(`    route ${route.destination}${route.nextHop ? ` via ${route.nextHop}` : ''}${route.port ? ` dev ${label(portsById.get(route.port))}` : ''}`);
      }
      for (const lb of balancers.filter((l) => l.router === device.id)) {
        const members = lb.members.map((m) => `${m.address}:${m.port} (weight ${m.weight}, ${m.health})`);
        lines.push(`    load balancer ${label(lb)} (${lb.id.slice(0, 8)}): ${lb.protocol} ${lb.vip}:${lb.port}, ${lb.algorithm} -> ${members.join(', ') || 'no members'}`);
      }
    }
  }
  return { json: { tenants, bridges: all, routers, ports, routes, bindings, securityGroups: groups, chains, floatingIps, loadBalancers: balancers }, text: lines.join('\n') || '(no bridges or routers)' };
}

/** A security group and its rules, numbered as `rule delete` takes them. */
function describeGroup(group: Shown<'security-groups'>): string {
  const rules = group.rules.map((r, i) => {
    const ports = r.portMin ? ` port ${r.portMin}${r.portMax !== r.portMin ? `-${r.portMax}` : ''}` : '';
    const icmp = r.icmpType >= 0 ? ` type ${r.icmpType}` : '';
    const remote = r.remotePrefix ? ` from/to ${r.remotePrefix}` : r.remoteGroup ? ` from/to group ${r.remoteGroup.slice(0, 8)}` : '';
    return `  ${i + 1}: ${r.direction} ${r.ethertype} ${r.protocol}${ports}${icmp}${remote}`;
  });
  return [`security group ${group.name || ''} (${group.id})`, ...rules].join('\n');
}
