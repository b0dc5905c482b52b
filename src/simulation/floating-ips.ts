// Floating IPs at a router's gateway (1:1 NAT, as Neutron's and MidoNet's): a frame that comes
// in by the gateway to a floating IP has its destination rewritten to the VM's address (DNAT)
// before it is routed; a frame the VM sends out by the gateway leaves from the floating IP
// (SNAT); ICMP errors have the packet they quote translated too, so that path MTU discovery
// and port unreachables reach the socket. The router answers ARP for its floating IPs on the
// external network. Stateless:
// each direction is its own flow, decided at flow setup, and every flow through a gateway
// carries its external network's tag, so a floating IP made, moved or taken away re-decides
// them all.
import { formatAddress, Icmpv4Type, IpProtocol, parseAddress } from '../packet';
import { externalTag } from './tags';
import type { StatePort, VirtualPort, VirtualRouter } from './virtual-topology';
import type { Walk } from './walk';

/** A router's floating IPs both ways: the floating address to the VM's, and back. */
export interface FloatingMaps {
  inbound: Map<string, Uint8Array>;
  outbound: Map<string, Uint8Array>;
}

export class FloatingIpStep {
  /** Whether `target` is a floating IP the router answers ARP for on `port`. */
  owns(router: VirtualRouter, port: VirtualPort, target: Uint8Array, w: Walk): boolean {
    if (port !== router.gateway) return false;
    w.tags.add(externalTag(router.externalNetwork));
    return router.floating.inbound.has(formatAddress(target));
  }

  /** A frame entering by the gateway: to a floating IP, it now goes to the VM's address. */
  inbound(router: VirtualRouter, port: VirtualPort, w: Walk): void {
    if (port !== router.gateway) return;
    w.tags.add(externalTag(router.externalNetwork));
    if (!w.ipv4) return;
    const floating = w.fields.networkDestination;
    const fixed = router.floating.inbound.get(formatAddress(floating));
    if (!fixed) return;
    w.note(() => `  floating IP ${formatAddress(floating)} -> ${formatAddress(fixed)} (DNAT)`);
    w.actions.push({ type: 'set_ipv4', field: 'destination', address: formatAddress(fixed) });
    // An error about what the VM sent quotes it as it left, from the floating IP.
    if (icmpError(w)) w.actions.push({ type: 'set_ipv4', field: 'source', address: formatAddress(fixed), quoted: true });
    w.fields.networkDestination = fixed;
  }

  /** A frame routed out by the gateway: from a VM with a floating IP, it leaves from that. */
  outbound(router: VirtualRouter, out: VirtualPort, w: Walk): void {
    if (out !== router.gateway) return;
    w.tags.add(externalTag(router.externalNetwork));
    if (!w.ipv4) return;
    const fixed = w.fields.networkSource;
    const floating = router.floating.outbound.get(formatAddress(fixed));
    if (!floating) return;
    w.note(() => `  ${formatAddress(fixed)} -> floating IP ${formatAddress(floating)} (SNAT)`);
    w.actions.push({ type: 'set_ipv4', field: 'source', address: formatAddress(floating) });
    // An error the VM sends quotes what came to it, sent to the floating IP.
    if (icmpError(w)) w.actions.push({ type: 'set_ipv4', field: 'destination', address: formatAddress(floating), quoted: true });
    w.fields.networkSource = floating;
  }
}

const ICMP_ERRORS: readonly number[] = [Icmpv4Type.destinationUnreachable, Icmpv4Type.timeExceeded, Icmpv4Type.parameterProblem];

/** Whether the frame is an ICMP error, which quotes the packet it is about (RFC 792). */
function icmpError(w: Walk): boolean {
  return w.fields.ipProtocol === IpProtocol.icmp && ICMP_ERRORS.includes(w.fields.transportSource);
}

/** Each router's floating IPs: a floating IP maps to its port's first IPv4 address, at the
 *  router whose gateway is on its network and which a port of the VM's bridge links to. */
export function floatingMaps(floatingIps: readonly StateFloatingIp[], ports: ReadonlyMap<string, StatePort>, routers: ReadonlyMap<string, VirtualRouter>): void {
  const linked = new Map<string, VirtualRouter[]>(); // bridge -> the routers its ports link to
  for (const p of ports.values()) {
    const router = routers.get(ports.get(p.peer)?.device ?? '');
    if (router) linked.set(p.device, [...(linked.get(p.device) ?? []), router]);
  }
  for (const f of floatingIps) {
    const port = ports.get(f.port);
    const fixed = port?.addresses.find((a) => !a.includes(':'))?.split('/')[0];
    const router = port && linked.get(port.device)?.find((r) => r.externalNetwork === f.network);
    if (!fixed || !router) continue;
    router.floating.inbound.set(f.address, parseAddress(fixed));
    router.floating.outbound.set(fixed, parseAddress(f.address));
  }
}

export interface StateFloatingIp { network: string; address: string; port: string }
