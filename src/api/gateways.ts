// The way out, as the API keeps it: external networks (the operator's bridges), a router's
// gateway on one (a port pair the API makes: the router's port, with an address of the
// network, linked to a port of the external bridge), and floating IPs, each an address of
// the network for one VM port behind a router whose gateway is there.
import { parsePrefix } from '../packet';
import { ADMIN_TENANT, Bridge, EMPTY, FloatingIp, macFromId, newId, Port, Router, TopologyStore } from '../topology';
import { ApiError, freeTunnelKey, owned } from './rules';
import { firstFree } from './subnets';

/** An external network that `field` names: a bridge the operator made external. */
export async function externalNetwork(store: TopologyStore, id: string, field: string): Promise<Bridge> {
  const bridge = id ? (await store.get('bridge', id))?.value : undefined;
  if (!bridge || !bridge.external) throw new ApiError(400, 'UNKNOWN_REFERENCE', `no external network has the id given in ${field}`, field);
  return bridge;
}

/** An address of the network that no port, gateway or floating IP has; 409 when none is left. */
export async function freeExternalAddress(store: TopologyStore, network: Bridge): Promise<string> {
  const subnet = network.subnets.find((s) => !s.cidr.includes(':'));
  if (!subnet) throw new ApiError(409, 'POOL_EXHAUSTED', 'the external network has no IPv4 subnet yet to give addresses from', 'network');
  const taken = new Set<string>();
  const ports = await store.list('port');
  const onNetwork = new Set(ports.filter((p) => p.value.device === network.id).map((p) => p.value.id));
  for (const p of ports) if (p.value.device === network.id || onNetwork.has(p.value.peer)) for (const a of p.value.addresses) taken.add(a.split('/')[0]);
  for (const f of await store.list('floatingIp')) if (f.value.network === network.id) taken.add(f.value.address);
  const address = firstFree(subnet, taken);
  if (!address) throw new ApiError(409, 'POOL_EXHAUSTED', `every address of the external network's ${subnet.cidr} is taken`, 'network');
  return `${address}/${parsePrefix(subnet.cidr).length}`;
}

/** After a router is written: its gateway follows its external network. The old port pair
 *  goes; a new one is made, the router's port with the next free address of the network. */
export async function syncGateway(store: TopologyStore, before: Router | undefined, after: Router): Promise<void> {
  if (before?.externalNetwork === after.externalNetwork) return;
  if (before?.gatewayPort) {
    const port = await store.get('port', before.gatewayPort);
    if (port?.value.peer) await store.delete('port', port.value.peer);
    await store.delete('port', before.gatewayPort);
  }
  if (!after.externalNetwork) {
    if (after.gatewayPort) await store.put('router', { ...after, gatewayPort: '' });
    return;
  }
  const network = await externalNetwork(store, after.externalNetwork, 'externalNetwork');
  const address = await freeExternalAddress(store, network);
  const [routerSide, networkSide] = [newId(), newId()];
  const port = (id: string, fields: Partial<Port>): Port => ({ ...EMPTY.port, id, portSecurity: false, ...fields } as Port);
  await store.put('port', port(networkSide, { tenant: ADMIN_TENANT, name: `gateway of ${after.name || after.id.slice(0, 8)}`, device: network.id, peer: routerSide, tunnelKey: await freeTunnelKey(store) }));
  await store.put('port', port(routerSide, { tenant: after.tenant, name: 'gateway', device: after.id, addresses: [address], mac: macFromId(routerSide), peer: networkSide, tunnelKey: await freeTunnelKey(store) }));
  await store.put('router', { ...after, gatewayPort: routerSide });
}

/** A floating IP's network is external, its address is given from there, and its port (no
 *  other floating IP's), or the ports it forwards to, are behind a gateway there. */
export async function checkFloatingIp(store: TopologyStore, fip: FloatingIp): Promise<void> {
  const network = await externalNetwork(store, fip.network, 'network');
  if (!fip.address) fip.address = (await freeExternalAddress(store, network)).split('/')[0];
  if (fip.port && fip.portForwards.length > 0) throw new ApiError(400, 'INVALID_VALUE', 'a floating IP maps to one port whole, or forwards some of its ports: not both', 'portForwards');
  // Without connection state, a VM's replies are told apart by address and port alone: a port
  // has a floating IP whole, or is forwarded to, not both.
  const others = (await store.list('floatingIp')).filter((f) => f.value.id !== fip.id).map((f) => f.value);
  if (fip.port) {
    await behindGateway(store, fip, fip.port, 'port');
    const taken = others.find((f) => f.port === fip.port);
    if (taken) throw new ApiError(409, 'IN_USE', `the port has floating IP ${taken.address} already`, 'port');
    if (others.some((f) => f.portForwards.some((p) => p.port === fip.port))) throw new ApiError(409, 'IN_USE', 'a floating IP forwards ports to this port: it takes no floating IP whole', 'port');
  }
  const seen = new Set<string>();
  for (const [i, forward] of fip.portForwards.entries()) {
    await behindGateway(store, fip, forward.port, `portForwards/${i}/port`);
    if (others.some((f) => f.port === forward.port)) throw new ApiError(409, 'IN_USE', 'the port has a floating IP whole: no port is forwarded to it', `portForwards/${i}/port`);
    const key = `${forward.protocol}/${forward.externalPort}`;
    if (seen.has(key)) throw new ApiError(409, 'IN_USE', `${forward.protocol} port ${forward.externalPort} is forwarded twice`, `portForwards/${i}/externalPort`);
    seen.add(key);
  }
}

/** A port a floating IP maps to: the tenant's, a VM's with an IPv4 address, behind a router of
 *  the tenant's whose gateway is on the floating IP's network. */
async function behindGateway(store: TopologyStore, fip: FloatingIp, id: string, field: string): Promise<void> {
  const port = (await owned(store, 'port', id, fip.tenant, field)).value;
  if (!(await store.get('bridge', port.device)) || !port.addresses.some((a) => !a.includes(':'))) {
    throw new ApiError(400, 'INVALID_VALUE', 'a floating IP goes to a VM\'s port with an IPv4 address', field);
  }
  if (!(await routerOf(store, port, fip.network))) throw new ApiError(400, 'INVALID_VALUE', 'no router of the port\'s network has its gateway on this external network', field);
}

/** The router that joins a VM port's bridge to an external network, if one does. */
export async function routerOf(store: TopologyStore, port: Port, network: string): Promise<Router | undefined> {
  const ports = new Map((await store.list('port')).map((p) => [p.value.id, p.value]));
  for (const p of ports.values()) {
    if (p.device !== port.device || !p.peer) continue;
    const router = (await store.get('router', ports.get(p.peer)?.device ?? ''))?.value;
    if (router && router.tenant === port.tenant && router.externalNetwork === network) return router;
  }
  return undefined;
}

/** A gateway port is the router's to make and remove: a tenant changes it through the router. */
export async function refuseGatewayPort(store: TopologyStore, port: Port): Promise<void> {
  const router = (await store.list('router')).find((r) => r.value.gatewayPort === port.id || (port.peer && r.value.gatewayPort === port.peer));
  if (router) throw new ApiError(409, 'GATEWAY_PORT', 'this is a router\'s gateway port: set or unset the router\'s externalNetwork instead');
}
