// Floating IPs at a router's gateway (1:1 NAT, as Neutron's and MidoNet's), and the ports one
// forwards when it maps to no VM whole (Neutron's port forwarding). A frame that comes in by
// the gateway to a floating IP (or a forwarded port of one) has its destination rewritten to
// the VM's address (and port) before it is routed; a frame the VM sends out by the gateway
// leaves from the floating IP (and the forwarded port). ICMP errors have the packet they quote
// translated too, so that path MTU discovery and port unreachables reach the socket. The
// router answers ARP for its floating IPs on the external network. Stateless: each direction is
// its own flow, decided at flow setup, and every flow through a gateway carries its external
// network's tag, so a floating IP made, moved or taken away re-decides them all.
import { formatAddress, IpProtocol, parseAddress } from '../packet';
import { externalTag } from './tags';
import type { PortForward } from '../topology';
import type { StatePort, VirtualPort, VirtualRouter } from './virtual-topology';
import type { Walk } from './walk';

/** A router's floating IPs both ways: the floating address to the VM's, and back; and its
 *  forwarded ports both ways, by protocol, address and port (`forwardKey`). */
export interface FloatingMaps {
  inbound: Map<string, Uint8Array>;
  outbound: Map<string, Uint8Array>;
  forwardsIn: Map<string, Endpoint>;
  forwardsOut: Map<string, Endpoint>;
  /** Addresses of floating IPs that only forward ports: the router answers ARP for them too. */
  forwarding: Set<string>;
}

export interface Endpoint {
  address: Uint8Array;
  port: number;
}

const forwardKey = (protocol: number, address: string, port: number): string => `${protocol}/${address}/${port}`;

export class FloatingIpStep {
  /** Whether `target` is a floating IP the router answers ARP for on `port`. */
  owns(router: VirtualRouter, port: VirtualPort, target: Uint8Array, w: Walk): boolean {
    if (port !== router.gateway) return false;
    w.tags.add(externalTag(router.externalNetwork));
    const address = formatAddress(target);
    return router.floating.inbound.has(address) || router.floating.forwarding.has(address);
  }

  /** A frame entering by the gateway: to a floating IP, it now goes to the VM's address. */
  inbound(router: VirtualRouter, port: VirtualPort, w: Walk): void {
    if (port !== router.gateway) return;
    w.tags.add(externalTag(router.externalNetwork));
    if (!w.ipv4) return;
    const floating = w.fields.networkDestination;
    const fixed = router.floating.inbound.get(formatAddress(floating));
    if (!fixed) return this.forwardIn(router, w);
    w.note(() => `  floating IP ${formatAddress(floating)} -> ${formatAddress(fixed)} (DNAT)`);
    w.actions.push({ type: 'set_ipv4', field: 'destination', address: formatAddress(fixed) });
    // An error about what the VM sent quotes it as it left, from the floating IP.
    if (w.icmpError) w.actions.push({ type: 'set_ipv4', field: 'source', address: formatAddress(fixed), quoted: true });
    w.fields.networkDestination = fixed;
  }

  /** A frame routed out by the gateway: from a VM with a floating IP, it leaves from that.
   *  Whether it was translated. */
  outbound(router: VirtualRouter, out: VirtualPort, w: Walk): boolean {
    if (out !== router.gateway) return false;
    w.tags.add(externalTag(router.externalNetwork));
    if (!w.ipv4) return false;
    const fixed = w.fields.networkSource;
    const floating = router.floating.outbound.get(formatAddress(fixed));
    if (!floating) return this.forwardOut(router, w); // a port has a floating IP whole or forwarded ports (the API sees to it)
    w.note(() => `  ${formatAddress(fixed)} -> floating IP ${formatAddress(floating)} (SNAT)`);
    w.actions.push({ type: 'set_ipv4', field: 'source', address: formatAddress(floating) });
    // An error the VM sends quotes what came to it, sent to the floating IP.
    if (w.icmpError) w.actions.push({ type: 'set_ipv4', field: 'destination', address: formatAddress(floating), quoted: true });
    w.fields.networkSource = floating;
    return true;
  }

  /** What comes to a forwarded port of a floating IP goes to its VM's address and port. */
  private forwardIn(router: VirtualRouter, w: Walk): void {
    const f = w.fields;
    const [address, port] = [formatAddress(f.networkDestination), f.transportDestination];
    const to = router.floating.forwardsIn.get(forwardKey(f.ipProtocol, address, port));
    if (!to) return;
    w.note(() => `  forwarded port ${address}:${port} -> ${formatAddress(to.address)}:${to.port} (DNAT)`);
    w.rewrite('destination', to.address, to.port);
  }

  /** What a VM sends from a forwarded port leaves from the floating IP's forwarded port. */
  private forwardOut(router: VirtualRouter, w: Walk): boolean {
    const f = w.fields;
    const [address, port] = [formatAddress(f.networkSource), f.transportSource];
    const to = router.floating.forwardsOut.get(forwardKey(f.ipProtocol, address, port));
    if (!to) return false;
    w.note(() => `  ${address}:${port} -> forwarded port ${formatAddress(to.address)}:${to.port} (SNAT)`);
    w.rewrite('source', to.address, to.port);
    return true;
  }
}

/** Each router's floating IPs: a floating IP maps to its port's first IPv4 address, at the
 *  router whose gateway is on its network and which a port of the VM's bridge links to. */
export function floatingMaps(floatingIps: readonly StateFloatingIp[], ports: ReadonlyMap<string, StatePort>, routers: ReadonlyMap<string, VirtualRouter>): void {
  const linked = new Map<string, VirtualRouter[]>(); // bridge -> the routers its ports link to
  for (const p of ports.values()) {
    const router = routers.get(ports.get(p.peer)?.device ?? '');
    if (router) linked.set(p.device, [...(linked.get(p.device) ?? []), router]);
  }
  /** The port's IPv4 address, and the router that joins it to the floating IP's network. */
  const behind = (id: string, network: string): [string, VirtualRouter] | null => {
    const port = ports.get(id);
    const fixed = port?.addresses.find((a) => !a.includes(':'))?.split('/')[0];
    const router = port && linked.get(port.device)?.find((r) => r.externalNetwork === network);
    return fixed && router ? [fixed, router] : null;
  };
  for (const f of floatingIps) {
    const whole = behind(f.port, f.network);
    if (whole) {
      whole[1].floating.inbound.set(f.address, parseAddress(whole[0]));
      whole[1].floating.outbound.set(whole[0], parseAddress(f.address));
    }
    for (const forward of f.portForwards) {
      const to = behind(forward.port, f.network);
      if (!to) continue;
      const protocol = forward.protocol === 'tcp' ? IpProtocol.tcp : IpProtocol.udp;
      to[1].floating.forwardsIn.set(forwardKey(protocol, f.address, forward.externalPort), { address: parseAddress(to[0]), port: forward.internalPort });
      to[1].floating.forwardsOut.set(forwardKey(protocol, to[0], forward.internalPort), { address: parseAddress(f.address), port: forward.externalPort });
      to[1].floating.forwarding.add(f.address);
    }
  }
}

export interface StateFloatingIp { network: string; address: string; port: string; portForwards: PortForward[] }
