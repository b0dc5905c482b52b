// The `vswitch` commands on the virtual topology, through the tenant API, in the manner of
// ovs-vsctl and the openstack client: create, list, delete, bind, link, route, mirror, show,
// trace.
import fs from 'node:fs';
import path from 'node:path';
import { Args, flag, integerFlag } from './args';
import { ControlClient } from './client';
import { CHAIN_COMMANDS, CHAIN_OPTIONS, CHAIN_USAGE, chainCommand, chainsFrom } from './chain-commands';
import { ApiObject, PATHS, resolve, resolveDevice } from './lookup';
import { describeSubnet, SUBNET_OPTIONS, SUBNET_USAGE, subnetCommand } from './subnet-commands';
import { FLOATING_IP_OPTIONS, FLOATING_IP_USAGE, floatingIpCommand } from './floating-ip-commands';
import { LOAD_BALANCER_OPTIONS, LOAD_BALANCER_USAGE, loadBalancerCommand } from './load-balancer-commands';
import { table } from './table';

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

export function tenantClient(args: Args): ControlClient {
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
  return new ControlClient(flag(args, 'api') ?? DEFAULT_API, token, ca);
}

export async function topologyCommand(api: ControlClient, local: ControlClient, words: string[], args: Args, print: Print): Promise<number> {
  const [command, sub, ...rest] = words;
  const need = (i: number, what: string) => {
    if (!rest[i]) throw new Error(`vswitch ${command} ${sub} needs ${what}`);
    return rest[i];
  };
  const created = (o: ApiObject, extra = '') => print(o, () => `${command} ${o.name || ''} ${o.id}${extra}`.replace(/ +/g, ' '));
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
  const base = `/v1/${PATHS[command]}`;
  if (sub === 'set' && (command === 'bridge' || command === 'router' || command === 'port')) {
    const id = await resolve(api, command, need(0, `a ${command} (name or id)`));
    const body: Record<string, string> = await chainsFrom(api, args);
    const gateway = flag(args, 'gateway');
    if (gateway !== undefined) body.externalNetwork = gateway === 'none' ? '' : await resolve(api, 'bridge', gateway);
    if (Object.keys(body).length === 0) throw new Error(`vswitch ${command} set needs --inbound-chain or --outbound-chain${command === 'router' ? ' or --gateway' : ''}`);
    const o = await api.request<ApiObject>('PATCH', `${base}/${id}`, body);
    const gatewayText = command === 'router' ? `, gateway ${o.gatewayPort ? `on ${o.externalNetwork as string}` : 'none'}` : '';
    print(o, () => `${command} ${o.name || ''} ${o.id}: inbound chain ${(o.inboundChain as string) || 'none'}, outbound chain ${(o.outboundChain as string) || 'none'}${gatewayText}`.replace(/ +/g, ' '));
    return 0;
  }
  if (sub === 'list') {
    const objects = await api.request<ApiObject[]>('GET', base);
    const [heading, column] = command === 'host' ? ['agent', (o: ApiObject) => (o.alive ? 'alive' : 'down')] : ['tenant', (o: ApiObject) => o.tenant];
    print(objects, () => table(['id', 'name', heading], objects.map((o) => [o.id, o.name ?? (o.destination as string) ?? (o.state as string) ?? '', column(o)])));
    return 0;
  }
  if (sub === 'delete' || (command === 'route' && sub === 'del')) {
    const id = await resolve(api, command, need(0, `a ${command} name or id`));
    await api.request('DELETE', `${base}/${id}`);
    print({ deleted: id }, () => `${command} ${id} deleted`);
    return 0;
  }
  if ((command === 'tenant' || command === 'host') && (sub === 'rotate-token' || sub === 'revoke-token')) {
    const here = command === 'host' && sub === 'rotate-token' && !rest[0];
    const id = here ? fs.readFileSync(path.join(STATE_DIR, 'host-id'), 'utf8').trim() : await resolve(api, command, need(0, `a ${command} name or id`));
    const answer = await api.request<{ id: string; token?: string }>('POST', `${base}/${id}/${sub}`);
    if (here) fs.writeFileSync(path.join(STATE_DIR, 'host-token'), `${answer.token}\n`, { mode: 0o600 });
    const said = here ? `host ${id}: new credential written to ${path.join(STATE_DIR, 'host-token')}` : answer.token ? `${command} ${id}: new token: ${answer.token}` : `${command} ${id}: token revoked`;
    print(here ? { id } : answer, () => said);
    return 0;
  }
  if (command === 'mirror' && sub === 'create') {
    const to = flag(args, 'to');
    if (!to) throw new Error('vswitch mirror create needs --to PORT (where the copies go)');
    const body: Record<string, unknown> = { port: await resolve(api, 'port', need(0, 'the mirrored port (name or id)')), toPort: await resolve(api, 'port', to) };
    for (const option of ['direction', 'match', 'name']) if (flag(args, option)) body[option] = flag(args, option);
    const mirror = await api.request<ApiObject>('POST', base, body);
    print(mirror, () => `mirror ${mirror.id}: ${mirror.direction as string} of ${mirror.port as string} to ${mirror.toPort as string}${mirror.match ? ` (${mirror.match as string})` : ''}`);
    return 0;
  }
  if (command === 'migration' && sub !== 'list') {
    const port = await resolve(api, 'port', need(0, 'the migrating port (name or id)'));
    const describe = (m: ApiObject) => `migration of ${port}: ${m.state as string} (${m.sourceHost as string} -> ${m.destinationHost as string} ${m.destinationInterface as string})${m.reason ? `: ${m.reason as string}` : ''}`;
    if (sub === 'begin') {
      const [to, dev] = [flag(args, 'to'), flag(args, 'interface')];
      if (!to || !dev) throw new Error('vswitch migration begin needs --to HOST and --interface DEV (the VM\'s interface on that host)');
      const body: Record<string, unknown> = { port, destinationHost: to, interface: dev };
      if (integerFlag(args, 'timeout') !== undefined) body.timeoutSeconds = integerFlag(args, 'timeout');
      const m = await api.request<ApiObject>('POST', base, body);
      print(m, () => describe(m));
      return 0;
    }
    if (sub === 'commit' || sub === 'abort') {
      const m = await api.request<ApiObject>('POST', `${base}/${port}/${sub}`);
      print(m, () => describe(m));
      return 0;
    }
  }
  if (command === 'security-group' && sub === 'rule') {
    const [verb, nameOrId] = rest;
    const id = await resolve(api, 'security-group', nameOrId ?? '');
    const group = await api.request<ApiObject & { rules: Record<string, unknown>[] }>('GET', `${base}/${id}`);
    if (verb === 'add') {
      const direction = rest[2];
      if (direction !== 'ingress' && direction !== 'egress') throw new Error('vswitch security-group rule add GROUP needs ingress or egress');
      const [portMin, portMax] = (flag(args, 'port') ?? '').split('-').filter(Boolean).map(Number);
      const rule: Record<string, unknown> = { direction, ethertype: args.flags.has('ipv6') ? 'IPv6' : 'IPv4', protocol: flag(args, 'protocol') ?? 'any' };
      if (portMin !== undefined) Object.assign(rule, { portMin, portMax: portMax ?? portMin });
      if (integerFlag(args, 'icmp-type') !== undefined) rule.icmpType = integerFlag(args, 'icmp-type');
      if (flag(args, 'remote-prefix')) rule.remotePrefix = flag(args, 'remote-prefix');
      if (flag(args, 'remote-group')) rule.remoteGroup = await resolve(api, 'security-group', flag(args, 'remote-group')!);
      group.rules.push(rule);
    } else if (verb === 'delete') {
      const n = Number(rest[2]);
      if (!Number.isInteger(n) || n < 1 || n > group.rules.length) throw new Error(`security group ${nameOrId} has rules 1 to ${group.rules.length}`);
      group.rules.splice(n - 1, 1);
    } else throw new Error('vswitch security-group rule add|delete GROUP ...');
    const changed = await api.request<ApiObject & { rules: Record<string, unknown>[] }>('PATCH', `${base}/${id}`, { rules: group.rules });
    print(changed, () => describeGroup(changed));
    return 0;
  }
  if (command === 'security-group' && sub === 'list') {
    const groups = await api.request<(ApiObject & { rules: Record<string, unknown>[] })[]>('GET', base);
    print(groups, () => groups.map(describeGroup).join('\n') || '(no security groups)');
    return 0;
  }
  if (sub === 'create' && command !== 'port') {
    const body: Record<string, unknown> = { name: need(0, 'a name') };
    if (args.flags.has('vlan-aware')) body.vlanAware = true;
    if (args.flags.has('external')) body.external = true;
    const o = await api.request<ApiObject & { token?: string }>('POST', base, body);
    created(o, o.token ? `\ntoken: ${o.token}` : '');
    return 0;
  }
  if (command === 'port' && sub === 'create') {
    const device = await resolveDevice(api, need(0, 'a bridge or router (name or id)'));
    const body: Record<string, unknown> = { device, addresses: args.flags.get('address') ?? [] };
    for (const [option, field] of [['name', 'name'], ['mac', 'mac']]) if (flag(args, option)) body[field] = flag(args, option);
    if (integerFlag(args, 'vlan') !== undefined) body.vlan = integerFlag(args, 'vlan');
    if (args.flags.has('trunk')) body.trunk = true;
    if (args.flags.has('no-port-security')) body.portSecurity = false;
    const pairs = args.flags.get('allowed-address') ?? [];
    const qos = Object.fromEntries(([['send-kbps', 'sendKbps'], ['receive-kbps', 'receiveKbps'], ['burst-kbytes', 'burstKbytes'], ['new-flows-per-second', 'newFlowsPerSecond']] as const)
      .filter(([option]) => integerFlag(args, option) !== undefined).map(([option, field]) => [field, integerFlag(args, option)]));
    if (Object.keys(qos).length > 0) body.qos = qos;
    if (pairs.length > 0) body.allowedAddressPairs = pairs.map((pair) => ({ ipAddress: pair.split(',')[0], macAddress: pair.split(',')[1] ?? '' }));
    if (flag(args, 'peer')) body.peer = await resolve(api, 'port', flag(args, 'peer')!);
    const groups = args.flags.get('security-group') ?? [];
    if (groups.length > 0) body.securityGroups = await Promise.all(groups.map((g) => resolve(api, 'security-group', g)));
    Object.assign(body, await chainsFrom(api, args));
    created(await api.request<ApiObject>('POST', base, body));
    return 0;
  }
  if (command === 'port' && sub === 'bind') {
    const port = await resolve(api, 'port', need(0, 'a port (name or id)'));
    const standby = flag(args, 'standby')?.split(',').map((s) => {
      const [host, iface] = s.split(':');
      if (!host || !iface) throw new Error(`--standby: '${s}' is not HOST:INTERFACE`);
      return { host, interface: iface };
    });
    const body = { port, interface: need(1, 'an interface name'), ...(flag(args, 'host') ? { host: flag(args, 'host') } : {}), ...(standby ? { standby } : {}) };
    const binding = await api.request<ApiObject>('POST', '/v1/bindings', body);
    const also = (binding.standby as { host: string; interface: string }[] | undefined)?.map((s) => `${s.interface} on ${s.host}`).join(', ');
    print(binding, () => `port ${port} bound to ${binding.interface as string} on host ${binding.host as string}${also ? `; standby: ${also}` : ''}`);
    return 0;
  }
  if (command === 'port' && sub === 'unbind') {
    const port = await resolve(api, 'port', need(0, 'a port (name or id)'));
    await api.request('DELETE', `/v1/bindings/${port}`);
    print({ unbound: port }, () => `port ${port} unbound`);
    return 0;
  }
  if (command === 'route' && sub === 'add') {
    const router = await resolve(api, 'router', need(0, 'a router (name or id)'));
    const body: Record<string, unknown> = { router, destination: need(1, 'a destination prefix') };
    if (flag(args, 'via')) body.nextHop = flag(args, 'via');
    if (flag(args, 'port')) body.port = await resolve(api, 'port', flag(args, 'port')!);
    if (integerFlag(args, 'weight') !== undefined) body.weight = integerFlag(args, 'weight');
    const route = await api.request<ApiObject>('POST', base, body);
    print(route, () => `route ${route.id}: ${route.destination as string}${route.nextHop ? ` via ${route.nextHop as string}` : ''}`);
    return 0;
  }
  throw new Error(`unknown command 'vswitch ${words.slice(0, 2).join(' ')}' (see vswitch --help)`);
}

/** The topology as a tree: tenant > bridges and routers > ports (bindings, links) and routes. */
async function show(api: ControlClient): Promise<{ json: unknown; text: string }> {
  const get = (p: string) => api.request<ApiObject[]>('GET', `/v1/${p}`);
  const [tenants, all, routers, ports, routes, bindings, groups, chains, floatingIps, balancers] = await Promise.all(
    ['tenants', 'bridges', 'routers', 'ports', 'routes', 'bindings', 'security-groups', 'chains', 'floating-ips', 'load-balancers'].map(get),
  );
  // External networks stand apart: the operator's, every tenant's way out.
  const externals = all.filter((b) => b.external);
  const bridges = all.filter((b) => !b.external);
  const groupsById = new Map(groups.map((g) => [g.id, g]));
  const chainsById = new Map(chains.map((c) => [c.id, c]));
  const filters = (o: ApiObject, [inbound, outbound]: [string, string]) => [
    o.inboundChain ? `${inbound} chain ${label(chainsById.get(o.inboundChain as string))}` : '',
    o.outboundChain ? `${outbound} chain ${label(chainsById.get(o.outboundChain as string))}` : '',
  ].filter(Boolean);
  const label = (o: ApiObject | undefined) => (o ? `${o.name || o.id.slice(0, 8)}` : '?');
  const byId = new Map([...all, ...routers, ...ports].map((o) => [o.id, o]));
  const lines = externals.map((e) => `external network ${label(e)} (${e.id}): ${(e.subnets as { cidr: string }[]).map((s) => s.cidr).join(', ')}`);
  const owners = [...new Set([...bridges, ...routers].map((d) => d.tenant))];
  for (const owner of owners) {
    lines.push(`tenant ${label(tenants.find((t) => t.id === owner)) === '?' ? owner : label(tenants.find((t) => t.id === owner))} (${owner})`);
    for (const device of [...bridges, ...routers].filter((d) => d.tenant === owner)) {
      const kind = bridges.includes(device) ? 'bridge' : 'router';
      const chained = filters(device, kind === 'router' ? ['pre-routing', 'post-routing'] : ['inbound', 'outbound']);
      if (device.gatewayPort) chained.push(`gateway on ${label(byId.get(device.externalNetwork as string))} ${(byId.get(device.gatewayPort as string)?.addresses as string[] | undefined)?.join(', ') ?? ''}`.trim());
      lines.push(`  ${kind} ${label(device)} (${device.id})${chained.length ? ': ' + chained.join(', ') : ''}`);
      for (const subnet of (device.subnets as Record<string, unknown>[] | undefined) ?? []) lines.push(describeSubnet(subnet));
      for (const port of ports.filter((p) => p.device === device.id)) {
        const binding = bindings.find((b) => b.id === port.id);
        const details = [
          port.mac as string, (port.addresses as string[]).join(', '), port.vlan ? `vlan ${port.vlan as number}` : '', port.trunk ? 'trunk' : '',
          port.peer && port.id !== device.gatewayPort ? `<-> ${label(byId.get(port.peer as string))} of ${label(byId.get(byId.get(port.peer as string)?.device as string))}` : '',
          binding ? `bound to ${binding.interface as string} on host ${(binding.host as string).slice(0, 8)}` : '',
          port.adminUp === false ? 'admin down' : '',
          kind === 'bridge' && port.portSecurity === false ? 'port security off' : '',
          ...((port.securityGroups as string[] | undefined) ?? []).map((g) => `security group ${label(groupsById.get(g))}`),
          ...filters(port, ['inbound', 'outbound']),
          ...floatingIps.filter((f) => f.port === port.id).map((f) => `floating IP ${f.address as string}`),
          ...Object.entries((port.qos as Record<string, number> | undefined) ?? {}).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`),
          ...((port.allowedAddressPairs as { ipAddress: string; macAddress: string }[] | undefined) ?? []).map((p) => `also ${p.ipAddress}${p.macAddress ? ` from ${p.macAddress}` : ''}`),
        ].filter(Boolean);
        lines.push(`    port ${label(port)} (${port.id.slice(0, 8)})${details.length ? ': ' + details.join(', ') : ''}`);
      }
      for (const route of routes.filter((r) => r.router === device.id)) {
        lines.push(`    route ${route.destination as string}${route.nextHop ? ` via ${route.nextHop as string}` : ''}${route.port ? ` dev ${label(byId.get(route.port as string))}` : ''}`);
      }
      for (const lb of balancers.filter((l) => l.router === device.id)) {
        const members = (lb.members as { address: string; port: number; weight: number; health: string }[]).map((m) => `${m.address}:${m.port} (weight ${m.weight}, ${m.health})`);
        lines.push(`    load balancer ${label(lb)} (${lb.id.slice(0, 8)}): ${lb.protocol as string} ${lb.vip as string}:${lb.port as number}, ${lb.algorithm as string} -> ${members.join(', ') || 'no members'}`);
      }
    }
  }
  return { json: { tenants, bridges: all, routers, ports, routes, bindings, securityGroups: groups, chains, floatingIps, loadBalancers: balancers }, text: lines.join('\n') || '(no bridges or routers)' };
}

/** A security group and its rules, numbered as `rule delete` takes them. */
function describeGroup(group: ApiObject & { rules: Record<string, unknown>[] }): string {
  const rules = group.rules.map((r, i) => {
    const ports = r.portMin ? ` port ${r.portMin as number}${r.portMax !== r.portMin ? `-${r.portMax as number}` : ''}` : '';
    const icmp = (r.icmpType as number) >= 0 ? ` type ${r.icmpType as number}` : '';
    const remote = r.remotePrefix ? ` from/to ${r.remotePrefix as string}` : r.remoteGroup ? ` from/to group ${(r.remoteGroup as string).slice(0, 8)}` : '';
    return `  ${i + 1}: ${r.direction as string} ${r.ethertype as string} ${r.protocol as string}${ports}${icmp}${remote}`;
  });
  return [`security group ${group.name || ''} (${group.id})`, ...rules].join('\n');
}
