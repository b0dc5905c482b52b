// What makes a topology object valid beyond its JSON shape: references to objects that exist
// and belong to the same tenant, addresses that parse, links that join the right devices, and
// what a deletion must take with it or is refused for.
import { parseIpv4, parseMac } from '../packet';
import { parseAddress, parsePrefix } from '../packet';
import { FlowMatchError, parseFlowMatch } from '../flow';
import { addressFromPool, checkSubnets } from './subnets';
import { checkFloatingIp, externalNetwork, refuseGatewayPort } from './gateways';
import { checkLoadBalancer } from './load-balancers';
import { ADMIN_TENANT, Bridge, Chain, ChainRule, EMPTY, EMPTY_CHAIN_RULE, EMPTY_RULE, Filtered, Kind, KindMap, macFromId, Port, Stored, TopologyStore } from '../topology';
import { COPY_KEYS } from '../datapath/capture';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

/** Another tenant's object is as good as absent: 404 (400 for a field that names it), never
 *  403, and the message does not repeat the id, so no answer carries another tenant's ids. */
export async function owned<K extends Kind>(store: TopologyStore, kind: K, id: string, tenant: string, field?: string): Promise<Stored<K>> {
  const found = id ? await store.get(kind, id) : undefined;
  if (!found || (tenant !== ADMIN_TENANT && found.value.tenant !== tenant)) throw notFound(kind, field);
  return found;
}

export function notFound(kind: Kind, field?: string): ApiError {
  if (field) return new ApiError(400, 'UNKNOWN_REFERENCE', `no ${kind} has the id given in ${field}`, field);
  return new ApiError(404, 'NOT_FOUND', `no ${kind} has this id`);
}

function parses(parse: (text: string) => unknown, text: string, field: string, what: string): void {
  try {
    parse(text);
  } catch {
    throw new ApiError(400, 'INVALID_VALUE', `'${text}' is not ${what}`, field);
  }
}

/** Checks a new version of an object; fills in what is derived (a router port's MAC). */
export async function checkObject<K extends Kind>(store: TopologyStore, kind: K, value: KindMap[K]): Promise<void> {
  const tenant = value.tenant;
  if (kind === 'bridge' || kind === 'router' || kind === 'port') await checkChainsOf(store, value as unknown as Filtered, tenant);
  switch (kind) {
    case 'port': {
      const port = value as Port;
      const device = (await store.get('bridge', port.device)) ?? (await store.get('router', port.device));
      if (!device || (tenant !== ADMIN_TENANT && device.value.tenant !== tenant)) throw new ApiError(400, 'UNKNOWN_REFERENCE', 'no bridge or router has the id given in device', 'device');
      if (device.kind === 'bridge') await addressFromPool(store, port, device.value as Bridge);
      if (device.kind === 'router') {
        port.mac ||= macFromId(port.id);
        if (port.vlan || port.trunk) throw new ApiError(400, 'INVALID_VALUE', 'a router port has no VLAN: give it to the bridge port it links to', 'vlan');
      }
      if (port.mac) parses(parseMac, port.mac, 'mac', 'a MAC address');
      port.addresses.forEach((a, i) => parses(parsePrefix, a, `addresses/${i}`, 'an address (with a prefix length on a router port), such as 10.0.0.1/24'));
      port.allowedAddressPairs = port.allowedAddressPairs.map((pair, i) => {
        parses(parsePrefix, pair.ipAddress, `allowedAddressPairs/${i}/ipAddress`, 'an address or a prefix, such as 10.0.0.100 or 10.0.0.96/28');
        if (pair.macAddress) parses(parseMac, pair.macAddress, `allowedAddressPairs/${i}/macAddress`, 'a MAC address');
        return { ipAddress: pair.ipAddress, macAddress: pair.macAddress ?? '' };
      });
      port.qos = { ...EMPTY.port.qos, ...port.qos };
      for (const [i, group] of port.securityGroups.entries()) await owned(store, 'securityGroup', group, tenant, `securityGroups/${i}`);
      if (device.kind === 'router' && port.securityGroups.length > 0) throw new ApiError(400, 'INVALID_VALUE', 'security groups are for a bridge port\'s VM', 'securityGroups');
      if (device.kind === 'router' && Object.values(port.qos).some((v) => v > 0)) throw new ApiError(400, 'INVALID_VALUE', 'a router port has no QoS limits: give them to the bridge port of the VM', 'qos');
      if (device.kind === 'router' && port.allowedAddressPairs.length > 0) throw new ApiError(400, 'INVALID_VALUE', 'a router port sends from its own addresses: pairs are for a bridge port\'s VM', 'allowedAddressPairs');
      if (port.peer) {
        if (port.peer === port.id) throw new ApiError(400, 'INVALID_VALUE', 'a port cannot be linked to itself', 'peer');
        const peer = await owned(store, 'port', port.peer, tenant, 'peer');
        if (peer.value.peer && peer.value.peer !== port.id) throw new ApiError(409, 'PEER_LINKED', `port ${port.peer} is already linked to ${peer.value.peer}`, 'peer');
        if (device.kind === 'bridge' && (await store.get('bridge', peer.value.device))) throw new ApiError(400, 'INVALID_VALUE', 'a link joins a bridge to a router, or two routers', 'peer');
        if (await store.get('binding', port.id)) throw new ApiError(409, 'PORT_BOUND', 'a bound port cannot also be linked (unbind it first)', 'peer');
      }
      return;
    }
    case 'route': {
      const route = value as KindMap['route'];
      await owned(store, 'router', route.router, tenant, 'router');
      parses(parsePrefix, route.destination, 'destination', 'a prefix such as 10.1.0.0/16');
      if (route.nextHop) parses(parseAddress, route.nextHop, 'nextHop', 'an IP address');
      if (route.nextHop && parsePrefix(route.nextHop).address.length !== parsePrefix(route.destination).address.length) {
        throw new ApiError(400, 'INVALID_VALUE', 'the next hop is not of the destination\'s address family', 'nextHop');
      }
      if (route.port && (await owned(store, 'port', route.port, tenant, 'port')).value.device !== route.router) {
        throw new ApiError(400, 'INVALID_VALUE', `port ${route.port} is not a port of router ${route.router}`, 'port');
      }
      if (!route.port && !route.nextHop) throw new ApiError(400, 'INVALID_VALUE', 'a route needs a next hop or an output port', 'nextHop');
      return;
    }
    case 'mirror': {
      const mirror = value as KindMap['mirror'];
      await owned(store, 'port', mirror.port, tenant, 'port');
      const to = await owned(store, 'port', mirror.toPort, tenant, 'toPort');
      if (mirror.toPort === mirror.port) throw new ApiError(400, 'INVALID_VALUE', 'a port cannot be mirrored to itself', 'toPort');
      if (!(await store.get('bridge', to.value.device)) || to.value.peer) throw new ApiError(400, 'INVALID_VALUE', 'a mirror goes to a bridge port bound to an interface, not to a router or a link', 'toPort');
      if ((await store.list('mirror')).some((m) => m.value.port === mirror.toPort && m.value.id !== mirror.id)) {
        throw new ApiError(409, 'IN_USE', `port ${mirror.toPort} is mirrored itself: a destination takes no other traffic`, 'toPort');
      }
      if ((await store.list('mirror')).some((m) => m.value.toPort === mirror.port && m.value.id !== mirror.id)) {
        throw new ApiError(409, 'IN_USE', `port ${mirror.port} is a mirror's destination: it carries no traffic of its own`, 'port');
      }
      try {
        parseFlowMatch(mirror.match);
      } catch (error) {
        if (error instanceof FlowMatchError) throw new ApiError(400, 'INVALID_VALUE', error.message, 'match');
        throw error;
      }
      return;
    }
    case 'securityGroup': {
      const group = value as KindMap['securityGroup'];
      // One port is portMin alone, as in Neutron.
      group.rules = group.rules.map((rule) => ({ ...EMPTY_RULE, ...rule, portMax: rule.portMax || rule.portMin || 0 }));
      for (const [i, rule] of group.rules.entries()) {
        const field = `rules/${i}`;
        if (rule.portMax < rule.portMin) throw new ApiError(400, 'INVALID_VALUE', 'portMax is below portMin', `${field}/portMax`);
        if ((rule.portMin || rule.portMax) && rule.protocol !== 'tcp' && rule.protocol !== 'udp') throw new ApiError(400, 'INVALID_VALUE', 'ports are for tcp or udp', `${field}/portMin`);
        if (rule.icmpType >= 0 && rule.protocol !== 'icmp' && rule.protocol !== 'icmpv6') throw new ApiError(400, 'INVALID_VALUE', 'icmpType is for icmp or icmpv6', `${field}/icmpType`);
        if ((rule.protocol === 'icmp' && rule.ethertype !== 'IPv4') || (rule.protocol === 'icmpv6' && rule.ethertype !== 'IPv6')) {
          throw new ApiError(400, 'INVALID_VALUE', `${rule.protocol} goes with ${rule.protocol === 'icmp' ? 'IPv4' : 'IPv6'}`, `${field}/ethertype`);
        }
        if (rule.remotePrefix) {
          parses(parsePrefix, rule.remotePrefix, `${field}/remotePrefix`, 'a prefix such as 10.0.0.0/24');
          if ((parsePrefix(rule.remotePrefix).address.length === 16) !== (rule.ethertype === 'IPv6')) throw new ApiError(400, 'INVALID_VALUE', 'the prefix is not of the rule\'s ethertype', `${field}/remotePrefix`);
        }
        if (rule.remotePrefix && rule.remoteGroup) throw new ApiError(400, 'INVALID_VALUE', 'a rule names a remote prefix or a remote group, not both', `${field}/remoteGroup`);
        if (rule.remoteGroup && rule.remoteGroup !== group.id) await owned(store, 'securityGroup', rule.remoteGroup, tenant, `${field}/remoteGroup`);
      }
      return;
    }
    case 'chain':
      return checkChain(store, value as Chain);
    case 'bridge': {
      const bridge = value as Bridge;
      if (bridge.external && tenant !== ADMIN_TENANT) throw new ApiError(403, 'FORBIDDEN', 'external networks are the operator\'s to make', 'external');
      return checkSubnets(bridge);
    }
    case 'router': {
      const router = value as KindMap['router'];
      if (router.externalNetwork) await externalNetwork(store, router.externalNetwork, 'externalNetwork');
      return;
    }
    case 'floatingIp':
      return checkFloatingIp(store, value as KindMap['floatingIp']);
    case 'loadBalancer':
      return checkLoadBalancer(store, value as KindMap['loadBalancer']);
    case 'portGroup': {
      const group = value as KindMap['portGroup'];
      for (const [i, port] of group.ports.entries()) await owned(store, 'port', port, tenant, `ports/${i}`);
      return;
    }
    case 'tunnelZone': {
      const zone = value as KindMap['tunnelZone'];
      for (const [i, host] of zone.hosts.entries()) {
        if (!(await store.get('host', host))) throw new ApiError(400, 'UNKNOWN_REFERENCE', `no host ${host}`, `hosts/${i}`);
      }
      return;
    }
    case 'binding': {
      const binding = value as KindMap['binding'];
      const port = await owned(store, 'port', binding.id, tenant, 'port');
      if (!(await store.get('bridge', port.value.device))) throw new ApiError(400, 'INVALID_VALUE', 'only a bridge port is bound to an interface (a router port lives in the switch)', 'port');
      if (port.value.peer) throw new ApiError(409, 'PORT_LINKED', `port ${binding.id} is linked to ${port.value.peer}: a linked port is not bound`, 'port');
      // Whoever binds it (the operator, a host), a binding is its port's tenant's to read.
      binding.tenant = port.value.tenant;
      if (!(await store.get('host', binding.host))) throw new ApiError(400, 'UNKNOWN_REFERENCE', `no host ${binding.host}`, 'host');
      if (binding.vtepAddress) {
        parses(parseIpv4, binding.vtepAddress, 'vtepAddress', 'an IPv4 address');
        if (!binding.vni) throw new ApiError(400, 'INVALID_VALUE', 'a VTEP binding needs the VNI its device uses', 'vni');
        if (binding.vni > LAST_PORT_KEY) throw new ApiError(400, 'INVALID_VALUE', `VNIs above ${LAST_PORT_KEY} are the overlay's own (captures, flow state)`, 'vni');
        if (binding.interface) throw new ApiError(400, 'INVALID_VALUE', 'a binding is to an interface or to a VTEP, not both', 'interface');
        if (binding.standby.length > 0) throw new ApiError(400, 'INVALID_VALUE', 'a VTEP binding has no standby: its VTEP is where it is', 'standby');
        return;
      }
      if (!binding.interface) throw new ApiError(400, 'INVALID_VALUE', 'interface is required: the interface on the host, or give vtepAddress and vni', 'interface');
      await refuseIfInterfaceBound(store, binding.host, binding.interface, binding.id);
      const hosts = new Set([binding.host]);
      for (const s of binding.standby) {
        if (hosts.has(s.host)) throw new ApiError(400, 'INVALID_VALUE', `host ${s.host} is named twice: a binding and its standbys are on different hosts`, 'standby');
        hosts.add(s.host);
        if (!(await store.get('host', s.host))) throw new ApiError(400, 'UNKNOWN_REFERENCE', `no host ${s.host}`, 'standby');
        await refuseIfInterfaceBound(store, s.host, s.interface, binding.id);
      }
      return;
    }
  }
}

async function checkChainsOf(store: TopologyStore, value: Filtered, tenant: string): Promise<void> {
  if (value.inboundChain) await owned(store, 'chain', value.inboundChain, tenant, 'inboundChain');
  if (value.outboundChain) await owned(store, 'chain', value.outboundChain, tenant, 'outboundChain');
}

const ETHERTYPE_OF_FAMILY = { 4: 0x0800, 16: 0x86dd } as const;
const PORTED = [6, 17]; // tcp, udp
const ICMP = [1, 58];

/** A chain's rules: completed, each condition sensible, what they name the tenant's own, and
 *  no jump that leads back to the chain. */
async function checkChain(store: TopologyStore, chain: Chain): Promise<void> {
  const tenant = chain.tenant;
  chain.rules = chain.rules.map((rule) => ({
    ...EMPTY_CHAIN_RULE, ...rule,
    sourcePortMax: rule.sourcePortMax || rule.sourcePortMin || 0, destinationPortMax: rule.destinationPortMax || rule.destinationPortMin || 0,
  }));
  for (const [i, rule] of chain.rules.entries()) {
    const field = (name: string) => `rules/${i}/${name}`;
    const invalid = (name: string, message: string) => new ApiError(400, 'INVALID_VALUE', message, field(name));
    if ((rule.action === 'jump') !== (rule.jumpTo !== '')) throw invalid('jumpTo', 'a jump names the chain it goes to, and only a jump does');
    if (rule.jumpTo === chain.id) throw invalid('jumpTo', 'a chain cannot jump to itself');
    if (rule.jumpTo) await owned(store, 'chain', rule.jumpTo, tenant, field('jumpTo'));
    for (const name of ['inPort', 'outPort'] as const) if (rule[name]) await owned(store, 'port', rule[name], tenant, field(name));
    for (const name of ['inPortGroup', 'outPortGroup'] as const) if (rule[name]) await owned(store, 'portGroup', rule[name], tenant, field(name));
    for (const name of ['sourceMac', 'destinationMac'] as const) if (rule[name]) parses(parseMac, rule[name], field(name), 'a MAC address');
    for (const name of ['sourcePrefix', 'destinationPrefix'] as const) {
      if (!rule[name]) continue;
      parses(parsePrefix, rule[name], field(name), 'an address or a prefix, such as 10.0.0.0/24 or 2001:db8::/32');
      const family = ETHERTYPE_OF_FAMILY[parsePrefix(rule[name]).address.length as 4 | 16];
      if (rule.ethertype && rule.ethertype !== family) throw invalid(name, 'the prefix is not of the rule\'s ethertype');
    }
    for (const [min, max] of [['sourcePortMin', 'sourcePortMax'], ['destinationPortMin', 'destinationPortMax']] as const) {
      if (rule[max] < rule[min]) throw invalid(max, `${max} is below ${min}`);
      if (rule[min] + rule[max] > 0 && !PORTED.includes(rule.protocol)) throw invalid(min, 'ports are for tcp (6) or udp (17)');
    }
    for (const name of ['icmpType', 'icmpCode'] as const) if (rule[name] >= 0 && !ICMP.includes(rule.protocol)) throw invalid(name, `${name} is for icmp (1) or icmpv6 (58)`);
    const absent = rule.invert.find((condition) => !hasCondition(rule, condition));
    if (absent) throw invalid('invert', `${absent} is inverted, but the rule has no such condition`);
  }
  const chains = new Map((await store.list('chain')).map((c) => [c.value.id, c.value]));
  chains.set(chain.id, chain);
  const jumps = (id: string) => (chains.get(id)?.rules ?? []).filter((r) => r.jumpTo).map((r) => r.jumpTo);
  const seen = new Set<string>();
  const loops = (id: string): boolean => {
    if (id === chain.id) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    return jumps(id).some(loops);
  };
  const at = chain.rules.findIndex((r) => r.jumpTo && loops(r.jumpTo));
  if (at >= 0) throw new ApiError(400, 'INVALID_VALUE', 'the jump leads back to this chain: chains may not loop', `rules/${at}/jumpTo`);
}

function hasCondition(rule: ChainRule, condition: ChainRule['invert'][number]): boolean {
  switch (condition) {
    case 'sourcePorts': return rule.sourcePortMin + rule.sourcePortMax > 0;
    case 'destinationPorts': return rule.destinationPortMin + rule.destinationPortMax > 0;
    case 'icmpType':
    case 'icmpCode': return rule[condition] >= 0;
    default: return Boolean(rule[condition]);
  }
}

/** An interface of a host is bound to one port at most. Only the operator and hosts bind, so
 *  the answer may say which port holds it. */
export async function refuseIfInterfaceBound(store: TopologyStore, host: string, iface: string, exceptPort = ''): Promise<void> {
  const taken = (await store.list('binding')).find((b) => b.value.host === host && b.value.interface === iface && b.value.id !== exceptPort);
  if (taken) throw new ApiError(409, 'INTERFACE_BOUND', `interface ${iface} on host ${host} is bound to port ${taken.value.id}`, 'interface');
}

/** Links are kept on both ends: a port's peer points back at it. */
export async function relink(store: TopologyStore, before: Port | undefined, after: Port | undefined): Promise<void> {
  if (before?.peer && before.peer !== after?.peer) {
    const old = await store.get('port', before.peer);
    if (old?.value.peer === before.id) await store.put('port', { ...old.value, peer: '' });
  }
  if (after?.peer && after.peer !== before?.peer) {
    const peer = await store.get('port', after.peer);
    if (peer) await store.put('port', { ...peer.value, peer: after.id });
  }
}

/** Refuses a deletion that would leave dangling references; deletes what belongs to the object. */
export async function deleteDependents(store: TopologyStore, kind: Kind, id: string): Promise<void> {
  if (kind === 'router' && (await store.get('router', id))?.value.gatewayPort) throw new ApiError(409, 'HAS_GATEWAY', `router ${id} has a gateway: unset its externalNetwork first`);
  if (kind === 'bridge' && (await store.list('floatingIp')).some((f) => f.value.network === id)) throw new ApiError(409, 'IN_USE', `external network ${id} still has floating IPs`);
  if (kind === 'router' && (await store.list('loadBalancer')).some((l) => l.value.router === id)) throw new ApiError(409, 'IN_USE', `router ${id} has load balancers: delete them first`);
  // A load balancer's members' health goes with it.
  if (kind === 'loadBalancer') for (const s of await store.list('memberStatus')) if (s.value.loadBalancer === id) await store.delete('memberStatus', s.value.id);
  if (kind === 'bridge' || kind === 'router') {
    if ((await store.list('port')).some((p) => p.value.device === id)) throw new ApiError(409, 'HAS_PORTS', `${kind} ${id} still has ports: delete them first`);
    for (const r of await store.list('route')) if (r.value.router === id) await store.delete('route', r.value.id);
    for (const n of await store.list('neighbor')) if (n.value.router === id) await store.delete('neighbor', n.value.id);
  }
  if (kind === 'port') {
    const route = (await store.list('route')).find((r) => r.value.port === id);
    if (route) throw new ApiError(409, 'IN_USE', `route ${route.value.id} goes out of port ${id}: delete it first`);
    const naming = (await store.list('chain')).find((c) => c.value.rules.some((r) => r.inPort === id || r.outPort === id));
    if (naming) throw new ApiError(409, 'IN_USE', `a rule of chain ${naming.value.id} names port ${id}: change it first`);
    const port = await store.get('port', id);
    if (port) await refuseGatewayPort(store, port.value);
    await relink(store, port?.value, undefined);
    for (const f of await store.list('floatingIp')) {
      if (f.value.port === id || f.value.portForwards.some((p) => p.port === id)) {
        await store.put('floatingIp', { ...f.value, port: f.value.port === id ? '' : f.value.port, portForwards: f.value.portForwards.filter((p) => p.port !== id) });
      }
    }
    await store.delete('binding', id);
    await store.delete('migration', id);
    // As in OVS, a mirror goes with its port or its destination.
    for (const m of await store.list('mirror')) if (m.value.port === id || m.value.toPort === id) await store.delete('mirror', m.value.id);
    for (const g of await store.list('portGroup')) if (g.value.ports.includes(id)) await store.put('portGroup', { ...g.value, ports: g.value.ports.filter((p) => p !== id) });
  }
  if (kind === 'binding') {
    const migration = await store.get('migration', id);
    if (migration?.value.state === 'mirroring') await store.put('migration', { ...migration.value, state: 'aborted', endedAt: Date.now(), reason: 'the port was unbound' }, migration.version);
  }
  if (kind === 'securityGroup') {
    const member = (await store.list('port')).find((p) => p.value.securityGroups.includes(id));
    if (member) throw new ApiError(409, 'IN_USE', `port ${member.value.id} is a member of security group ${id}: take it out first`);
    const naming = (await store.list('securityGroup')).find((g) => g.value.id !== id && g.value.rules.some((r) => r.remoteGroup === id));
    if (naming) throw new ApiError(409, 'IN_USE', `a rule of security group ${naming.value.id} names ${id} as its remote group`);
  }
  if (kind === 'chain') {
    for (const k of ['bridge', 'router', 'port'] as const) {
      const user = (await store.list(k)).find((o) => o.value.inboundChain === id || o.value.outboundChain === id);
      if (user) throw new ApiError(409, 'IN_USE', `${k} ${user.value.id} filters with chain ${id}: take it off first`);
    }
    const jumping = (await store.list('chain')).find((c) => c.value.rules.some((r) => r.jumpTo === id));
    if (jumping) throw new ApiError(409, 'IN_USE', `a rule of chain ${jumping.value.id} jumps to chain ${id}`);
  }
  if (kind === 'portGroup') {
    const naming = (await store.list('chain')).find((c) => c.value.rules.some((r) => r.inPortGroup === id || r.outPortGroup === id));
    if (naming) throw new ApiError(409, 'IN_USE', `a rule of chain ${naming.value.id} names port group ${id}`);
  }
  if (kind === 'tenant') {
    for (const k of ['bridge', 'router', 'securityGroup', 'chain', 'portGroup', 'floatingIp', 'loadBalancer'] as const) {
      if ((await store.list(k)).some((o) => o.value.tenant === id)) throw new ApiError(409, 'HAS_OBJECTS', `tenant ${id} still owns ${k}s: delete them first`);
    }
  }
  if (kind === 'host' && (await store.list('binding')).some((b) => b.value.host === id)) {
    throw new ApiError(409, 'HAS_BINDINGS', `host ${id} still has port bindings: unbind them first`);
  }
}

/** A tunnel key (a 24-bit VNI, not 0) that no port, VTEP binding or migration has yet. */
/** The tunnel keys ports and VTEPs may have: those above are the overlay's own (capture
 *  copies and requests, flow state records), which a receiving datapath takes for those. */
export const LAST_PORT_KEY = COPY_KEYS.first - 1;

export async function freeTunnelKey(store: TopologyStore): Promise<number> {
  const taken = new Set([
    ...(await store.list('port')).map((p) => p.value.tunnelKey),
    ...(await store.list('binding')).map((b) => b.value.vni),
    ...(await store.list('migration')).map((m) => m.value.markKey),
  ]);
  for (;;) {
    const key = 1 + Math.floor(Math.random() * LAST_PORT_KEY);
    if (!taken.has(key)) return key;
  }
}
