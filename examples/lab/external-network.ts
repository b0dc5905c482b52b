// The way out as an operator and a tenant make it through the API: an "outside" namespace
// (203.0.113.1/24) joined by a veth to the namespace of the gateway host (the switch's end
// named `up0`), the operator's external network `public` bound to it, and a router `r` with its
// gateway there and net1 (10.0.1.0/24) behind it, with a port for each VM interface given.
// With a standby gateway host, the outside is a Linux bridge (one L2 segment, as a rack's
// switch) with a veth to each gateway host, and the uplink's binding names the standby.
import type { ControlClient } from '../../src/cli/client';
import type { Lab } from './namespaces';

export const OUTSIDE_ADDRESS = '203.0.113.1';

export interface GatewayedNetwork {
  outside: string;
  external: string;
  router: string;
  /** The VM interfaces' ports, in the order given. */
  ports: string[];
  uplink: string;
}

/** A second gateway host the uplink moves to when the first one's agent dies. */
export interface StandbyGateway {
  ns: string;
  host: string;
}

/** `vms`: each VM's interface on its host, its address on net1, and the host it is bound on
 *  (the API's own host when not given); `gatewayHost` binds the uplink. */
export async function gatewayedNetwork(
  lab: Lab, api: ControlClient, gatewayNs: string, vms: { iface: string; address: string; host?: string }[], gatewayHost?: string, standby?: StandbyGateway,
): Promise<GatewayedNetwork> {
  const outside = await lab.namespace('out');
  if (standby) {
    await lab.ip(outside, 'link', 'add', 'eth0', 'type', 'bridge');
    await lab.ip(outside, 'link', 'set', 'eth0', 'up');
    for (const [i, ns] of [gatewayNs, standby.ns].entries()) {
      await lab.veth(outside, `gw${i}`, ns, 'up0');
      await lab.ip(outside, 'link', 'set', `gw${i}`, 'master', 'eth0');
    }
  } else await lab.veth(outside, 'eth0', gatewayNs, 'up0');
  await lab.ip(outside, 'addr', 'add', `${OUTSIDE_ADDRESS}/24`, 'dev', 'eth0');
  const made = (path: string, body: object) => api.request<{ id: string }>('POST', path, body).then((o) => o.id);
  const external = await made('/v1/bridges', { name: 'public', external: true, subnets: [{ cidr: '203.0.113.0/24', gateway: OUTSIDE_ADDRESS, dhcp: false }] });
  const uplink = await made('/v1/ports', { device: external, name: 'uplink', portSecurity: false });
  await api.request('POST', '/v1/bindings', {
    port: uplink, interface: 'up0', ...(gatewayHost ? { host: gatewayHost } : {}), ...(standby ? { standby: [{ host: standby.host, interface: 'up0' }] } : {}),
  });
  const router = await made('/v1/routers', { name: 'r', externalNetwork: external });
  const net = await made('/v1/bridges', { name: 'net1' });
  const inside = await made('/v1/ports', { device: router, addresses: ['10.0.1.1/24'] });
  await api.request('POST', '/v1/ports', { device: net, peer: inside });
  const ports: string[] = [];
  for (const vm of vms) {
    const port = await made('/v1/ports', { device: net, name: vm.iface, addresses: [vm.address] });
    await api.request('POST', '/v1/bindings', { port, interface: vm.iface, ...(vm.host ? { host: vm.host } : {}) });
    ports.push(port);
  }
  return { outside, external, router, ports, uplink };
}
