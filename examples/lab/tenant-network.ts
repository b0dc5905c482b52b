// A tenant's network made through the tenant API, as a tenant would: subnets, each a bridge
// with a port for a VM's interface, joined by one router. The operator binds the ports to the
// interfaces (as Nova does in OpenStack): tenants do not bind.
import { ControlClient } from '../../src/cli/client';

export interface Subnet {
  /** The router's addresses on it, with prefix lengths: ['10.0.1.1/24', '2001:db8:1::1/64']. */
  gateway: string[];
  /** Interfaces on this host bound to a port of its bridge. */
  interfaces: string[];
}

export interface TenantNetwork {
  tenant: string;
  api: ControlClient;
  router: string;
  bridges: string[];
  /** Interface name -> its virtual port. */
  ports: Map<string, string>;
}

type Created = { id: string; token?: string };

/** Creates a tenant (with the admin client) and its routed network. */
export async function tenantNetwork(admin: ControlClient, name: string, subnets: Subnet[]): Promise<TenantNetwork> {
  const tenant = await admin.request<Created>('POST', '/v1/tenants', { name });
  const api = new ControlClient(admin.address, tenant.token);
  const router = await api.request<Created>('POST', '/v1/routers', { name: `${name}-router` });
  const network: TenantNetwork = { tenant: tenant.id, api, router: router.id, bridges: [], ports: new Map() };
  for (const [i, subnet] of subnets.entries()) {
    const bridge = await api.request<Created>('POST', '/v1/bridges', { name: `${name}-net${i + 1}` });
    network.bridges.push(bridge.id);
    const routerPort = await api.request<Created>('POST', '/v1/ports', { device: router.id, name: `${name}-r${i + 1}`, addresses: subnet.gateway });
    await api.request('POST', '/v1/ports', { device: bridge.id, name: `${name}-net${i + 1}-uplink`, peer: routerPort.id });
    for (const iface of subnet.interfaces) {
      const port = await api.request<Created>('POST', '/v1/ports', { device: bridge.id, name: `${name}-${iface}` });
      await admin.request('POST', '/v1/bindings', { port: port.id, interface: iface });
      network.ports.set(iface, port.id);
    }
  }
  return network;
}

/** A tenant (made with the admin client) with one bridge: its client and the bridge's id. */
export async function tenantBridge(admin: ControlClient, name: string): Promise<{ api: ControlClient; bridge: string }> {
  const tenant = await admin.request<Created>('POST', '/v1/tenants', { name });
  const api = new ControlClient(admin.address, tenant.token);
  const bridge = await api.request<Created>('POST', '/v1/bridges', { name: `${name}-net` });
  return { api, bridge: bridge.id };
}
