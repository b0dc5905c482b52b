// A virtual bridge in the walk: learn where the source lives, then forward to the port that
// knows the destination, or flood within the bridge. A VLAN-aware bridge has access ports
// (one VLAN, untagged) and trunks (every VLAN tagged, VLAN 0 untagged); a bridge that is not
// VLAN-aware carries tags as data. Router ports' MACs are known without learning.
import type { TopologyWalker } from './topology-simulation';
import { TABLE_SPACE_TAG } from './tags';
import { VirtualBridge, VirtualPort } from './virtual-topology';
import { Walk } from './walk';
import { formatMac } from '../packet';
import { DhcpService } from './dhcp-service';
import { Dhcpv6Service } from './dhcpv6-service';

export class BridgeStep {
  private readonly dhcp: DhcpService;
  private readonly dhcpv6: Dhcpv6Service;

  constructor(private readonly walker: TopologyWalker) {
    this.dhcp = new DhcpService(walker);
    this.dhcpv6 = new Dhcpv6Service(walker);
  }

  enter(port: VirtualPort, w: Walk): void {
    const bridge = this.walker.topology.bridges.get(port.device)!;
    w.tags.add(bridge.tag);
    let vlan = 0;
    if (bridge.vlanAware) {
      if (port.trunk) vlan = w.tagged ? w.fields.vlanTci & 0x0fff : 0;
      else if (w.tagged) return w.drop('vlanMismatch', () => `tagged frame on access port ${port.name}`);
      else vlan = port.vlan;
    }
    w.note(() => `bridge ${bridge.name}: in on ${port.name}${vlan ? ` vlan ${vlan}` : ''}, ${w.describe()}`);
    if (w.source[0] & 1) return w.drop('sourceIsMulticast', () => 'the source MAC is multicast');

    // A trace looks without learning.
    const learned = w.dryRun ? 'refreshed' : bridge.macs.learn(vlan, w.source, 0, port.index, this.walker.now);
    if (learned === 'new' || learned === 'moved') {
      w.invalidate.add(bridge.macTags.get(vlan, w.source));
      if (!port.peer) w.stations.push({ bridge: bridge.id, vlan, mac: formatMac(w.source), port: port.id });
    }
    if (learned === 'refused') w.tags.add(TABLE_SPACE_TAG);
    if (bridge.dhcp.length > 0 && this.dhcp.answers(bridge, port, w)) return;
    if (this.dhcpv6.answers(bridge, port, w)) return;

    if (w.destination[0] & 1) {
      w.note(() => '  destination is multicast: flood');
      return this.flood(bridge, port, vlan, w);
    }
    w.tags.add(bridge.macTags.get(vlan, w.destination));
    const target = this.routerPortWith(bridge, w.destination) ?? this.walker.topology.byIndex[bridge.macs.lookup(vlan, w.destination)];
    if (!target || target.device !== bridge.id) {
      w.note(() => `  ${formatMac(w.destination)} unknown: flood`);
      return this.flood(bridge, port, vlan, w);
    }
    if (target === port) return w.drop('noOutput', () => `${formatMac(w.destination)} is on the ingress port`);
    w.note(() => `  ${formatMac(w.destination)} is on ${target.name}`);
    this.exit(bridge, [target], vlan, w);
  }

  private flood(bridge: VirtualBridge, from: VirtualPort, vlan: number, w: Walk): void {
    w.tags.add(bridge.floodTag);
    this.exit(bridge, bridge.ports.filter((p) => p !== from && p.up && !p.mirrorDestination && (!bridge.vlanAware || p.trunk || p.vlan === vlan)), vlan, w);
  }

  /** The bridge's port linked to the router port that owns `mac`. */
  private routerPortWith(bridge: VirtualBridge, mac: Uint8Array): VirtualPort | undefined {
    return bridge.ports.find((p) => {
      const peer = p.peer ? this.walker.topology.ports.get(p.peer) : undefined;
      return peer?.kind === 'router' && peer.macBytes.every((b, i) => b === mac[i]);
    });
  }

  /** Ports that take the frame as it is first, then one tag change and the rest; links to
   *  routers last, each from the frame as the bridge has it, untagged. */
  private exit(bridge: VirtualBridge, ports: VirtualPort[], vlan: number, w: Walk): void {
    if (ports.length === 0) return w.drop('noOutput', () => 'no port to flood to');
    const wantsTag = (p: VirtualPort) => bridge.vlanAware && p.trunk && vlan !== 0;
    const exterior = ports.filter((p) => !p.peer);
    const asIs = exterior.filter((p) => wantsTag(p) === w.tagged);
    const changed = exterior.filter((p) => wantsTag(p) !== w.tagged);
    for (const p of asIs) this.walker.leave(p, w);
    if (changed.length > 0) {
      w.actions.push(w.tagged ? { type: 'pop_vlan' } : { type: 'push_vlan', vid: vlan });
      w.tagged = !w.tagged;
      for (const p of changed) this.walker.leave(p, w);
    }
    for (const p of ports.filter((p) => p.peer)) {
      const restore = w.save();
      if (w.tagged && bridge.vlanAware) {
        w.actions.push({ type: 'pop_vlan' });
        w.tagged = false;
      }
      this.walker.leave(p, w);
      restore();
    }
  }
}
