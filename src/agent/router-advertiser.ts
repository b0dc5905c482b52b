// Unsolicited router advertisements (RFC 4861 6.2.4): now and then each router port with IPv6
// /64 prefixes advertises them to the VMs of its bridge. Each host advertises to the VMs bound
// on it alone, so that none gets one per host. Hosts also solicit, which the walk answers;
// these reach a VM that solicited before its port was bound, or whose solicitations back off
// (Linux's reach an hour apart).
import { Transmission } from '../datapath';
import { linkLocalOf, parseMac, parsePrefix } from '../packet';
import { advertisementOf, ALL_NODES, routerAdvertisement } from '../simulation/router-frames';
import type { TopologyState } from '../simulation';

/** The advertisements of a version of the state: one per router port with /64s, to the datapath
 *  ports of its bridge's VMs bound on this host (untagged: access ports, or a trunk's VLAN 0). */
export function routerAdvertisements(state: TopologyState): Transmission[] {
  const out: Transmission[] = [];
  const byId = new Map(state.ports.map((p) => [p.id, p]));
  for (const routerPort of state.ports) {
    const peer = byId.get(routerPort.peer);
    if (!peer || !routerPort.mac || !state.routers.some((r) => r.id === routerPort.device)) continue;
    const advertised = advertisementOf(routerPort.addresses.map(parsePrefix), state.bridges.find((b) => b.id === peer.device)?.subnets ?? []);
    const vms = state.ports.filter((p) => p.device === peer.device && !p.peer && p.up && p.datapathPort > 0 && p.vlan === 0);
    if (advertised.prefixes.length === 0 || vms.length === 0) continue;
    const mac = parseMac(routerPort.mac);
    const frame = routerAdvertisement({ source: mac, destination: ALL_NODES.mac }, linkLocalOf(mac), ALL_NODES.address, advertised, state.guestMtu);
    out.push({ frame, actions: vms.map((p) => ({ type: 'output' as const, port: p.datapathPort })) });
  }
  return out;
}
