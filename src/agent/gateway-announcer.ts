// Gratuitous ARP for a gateway's addresses (RFC 5227's announcement): when an external
// network's uplink becomes bound on this host (it started, or took the uplink over from a
// gateway host that died), the routers' gateway addresses and the network's floating IPs are
// announced out of it, so that the outside's switches learn the new way to their MACs and its
// hosts refresh their ARP caches at once, not when their entries go stale.
import type { Transmission } from '../datapath';
import { parseAddress, parseMac } from '../packet';
import { arpRequest } from '../simulation/router-frames';
import type { StatePort, TopologyState } from '../simulation';

export class GatewayAnnouncer {
  /** Uplinks bound here and announced. */
  private announced = new Set<string>();

  /** The announcements of the uplinks bound here since the last call. */
  newlyBound(state: TopologyState): Transmission[] {
    const external = new Set(state.routers.map((r) => r.externalNetwork).filter(Boolean));
    const uplinks = state.ports.filter((p) => external.has(p.device) && !p.peer && p.up && p.datapathPort > 0);
    const out = uplinks.filter((p) => !this.announced.has(p.id)).flatMap((p) => announcements(state, p));
    this.announced = new Set(uplinks.map((p) => p.id));
    return out;
  }
}

function announcements(state: TopologyState, uplink: StatePort): Transmission[] {
  const ports = new Map(state.ports.map((p) => [p.id, p]));
  const routers = state.routers.filter((r) => r.externalNetwork === uplink.device);
  const pairs: [string, string][] = []; // [address, the MAC it is at]
  for (const r of routers) {
    const gateway = ports.get(r.gatewayPort);
    for (const a of gateway?.addresses ?? []) if (!a.includes(':')) pairs.push([a.split('/')[0], gateway!.mac]);
  }
  for (const f of state.floatingIps.filter((f) => f.network === uplink.device)) {
    // At the gateway of the router that reaches the floating IP's port (its bridge links to it).
    const bridge = ports.get(f.port)?.device ?? ports.get(f.portForwards[0]?.port ?? '')?.device;
    const router = routers.find((r) => state.ports.some((p) => p.device === r.id && ports.get(p.peer)?.device === bridge)) ?? routers[0];
    const mac = router && ports.get(router.gatewayPort)?.mac;
    if (mac) pairs.push([f.address, mac]);
  }
  return pairs.map(([address, mac]) => {
    const a = parseAddress(address);
    return { frame: arpRequest(parseMac(mac), a, a), actions: [{ type: 'output' as const, port: uplink.datapathPort }] };
  });
}
