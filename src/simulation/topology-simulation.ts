// The slow path's walk for a flow's first frame, at the ingress host: from the datapath port
// to its virtual port, through bridges and routers, to the datapath ports the frame leaves
// by. The result is the flow (actions and tags) plus what devices did on the side: frames they
// sent, neighbors they learned, frames they hold until a neighbor answers.
import { FlowKeyExtractor, KEY_WORDS } from '../flow';
import { VNET_HEADER_BYTES } from '../packet';
import { BridgeStep } from './bridge';
import { RouterStep } from './router';
import { PortSecurity } from './port-security';
import { ConnectionTracking } from './connection-tracking';
import { ChainStep } from './chains';
import { portTag } from './tags';
import { MirrorEntry, VirtualBridge, VirtualMigratingPlace, VirtualPlace, VirtualPort, VirtualRouter, VirtualTopology } from './virtual-topology';
import { Emission, Service, SimulationResult, Walk, WalkMode } from './walk';
import { predictedFlows } from './predicted-flows';

/** What the devices' steps call back into. */
export interface TopologyWalker {
  readonly topology: VirtualTopology;
  /** Connection tracking, for whatever asks about a frame's connection. */
  readonly tracking: ConnectionTracking;
  /** The MAC tables' clock (macClock) for this walk. */
  readonly now: number;
  /** The frame leaves a device by this port: into its peer, or out of the host. */
  leave(port: VirtualPort, w: Walk): void;
  /** Where a frame a device sends from `from` goes, walked now. */
  emission(from: VirtualPort, frame: Uint8Array, w: Walk): Emission;
  /** The same, sent along with the walk's result (a service's answer says which). */
  emit(from: VirtualPort, frame: Uint8Array, w: Walk, service?: Service): void;
}

export class TopologySimulation implements TopologyWalker {
  now = 0;
  readonly tracking = new ConnectionTracking(() => this.topology.conntrack);
  private readonly bridge = new BridgeStep(this);
  private readonly router = new RouterStep(this);
  private readonly portSecurity = new PortSecurity();
  private readonly chains = new ChainStep(this, this.tracking);
  private readonly extractor = new FlowKeyExtractor();
  private readonly portTags: string[] = [];

  constructor(readonly topology: VirtualTopology) {}

  /** Walks the flow of key[at..]; `frame` (vnet header first) is its first frame, when there is
   *  one. A trace learns nothing and its side effects are only described. */
  simulate(key: Uint32Array, at: number, frame: Uint8Array | null, now: number, mode: WalkMode = 'live'): SimulationResult {
    this.now = now;
    const w = new Walk(key, at, frame, mode);
    const inPort = w.fields.inPort;
    w.tags.add((this.portTags[inPort] ??= portTag(inPort)));
    const port = this.topology.byDatapathPort.get(inPort);
    if (!port) {
      w.drop('unbound', () => `datapath port ${inPort} is bound to no virtual port`);
      return w.result();
    }
    if (port.guard) {
      w.tags.add(port.tag); // the port's MAC and addresses decide: a change to them is a change to this flow
      if (!this.portSecurity.admits(port.guard, port.name, w)) return w.result();
    }
    if (port.security && !this.chains.pass(port.security.egress, port.hooks.fromVm, port, null, w)) return w.result();
    // The guest of a VM migrating away sends here: the destination learns what it has read.
    if (port.migrating?.remote && port.migrating.markKey > 0 && inPort === port.datapathPort) this.markSent(port, port.migrating, w);
    this.enter(port, w);
    this.tracking.commit(w, Date.now());
    const result = w.result();
    result.predicted = predictedFlows(w, key, at, (k) => this.simulate(k, 0, null, now, 'predict'));
    return result;
  }

  /** The frame as it came, to the destination of the VM's move, by the migration's mark key
   *  (see HeldFrames.readAtSource). */
  private markSent(port: VirtualPort, to: VirtualMigratingPlace, w: Walk): void {
    w.tags.add(to.remoteTag);
    w.note(() => `${port.name} migrates to ${to.remote}: a mark there that its guest sent (key ${to.markKey})`);
    w.tunnel(to.markKey, to.remote);
  }

  leave(port: VirtualPort, w: Walk): void {
    w.tags.add(port.tag);
    if (w.ingress && !this.filterOut(port, w.ingress.port, w)) return;
    this.mirror(port.mirrorsOut, w);
    if (port.peer) {
      const peer = this.topology.ports.get(port.peer);
      if (!peer) return w.drop('noOutput', () => `${port.name}'s peer ${port.peer} does not exist`);
      return this.enter(peer, w);
    }
    if (port.security && !this.chains.pass(port.security.ingress, port.hooks.toVm, w.ingress?.port ?? port, port, w)) return;
    if (!this.deliver(port, w, 'out')) w.drop('unbound', () => `${port.name} is ${port.up ? 'not bound on this host' : 'down'}`);
  }

  /** Out of the topology by a port bound here or on another host; false when it is neither.
   *  A port whose VM migrates is delivered at both ends of the move. */
  private deliver(port: VirtualPort, w: Walk, what: string): boolean {
    if (!port.up) return false;
    const delivered = this.deliverAt(port, port, w, what);
    const copied = port.migrating !== null && this.deliverAt(port, port.migrating, w, `${what} (migrating: also)`);
    return delivered || copied;
  }

  private deliverAt(port: VirtualPort, place: VirtualPlace, w: Walk, what: string): boolean {
    for (const remote of port.standbyRemotes) w.alsoTell.add(remote);
    if (place.remote) {
      // Simulated here, delivered there: the key tells the other host (or a VTEP) which port.
      if (place.remoteTag) w.tags.add(place.remoteTag);
      w.note(() => `${what} ${port.name}: tunnel to ${place.remote}, key ${port.tunnelKey}`);
      w.tunnel(port.tunnelKey, place.remote);
      return true;
    }
    if (place.datapathPort > 0) {
      w.tags.add(place.datapathTag);
      w.note(() => `${what} ${port.name} (datapath port ${place.datapathPort})`);
      w.output(place.datapathPort);
      return true;
    }
    return false;
  }

  /** A copy of the frame as it is here for each mirror that selects it: an action in the flow,
   *  before whatever the walk does to the frame next. */
  private mirror(mirrors: readonly MirrorEntry[], w: Walk): void {
    for (const m of mirrors) {
      if (m.match && !m.match(w.fields)) continue;
      w.tags.add(m.to.tag);
      if (!this.deliver(m.to, w, `mirror ${m.name}: copy to`)) w.note(() => `mirror ${m.name}: ${m.to.name} is not bound or down, no copy`);
    }
  }

  emission(from: VirtualPort, frame: Uint8Array, w: Walk): Emission {
    const key = new Uint32Array(KEY_WORDS);
    this.extractor.extract(frame, VNET_HEADER_BYTES, frame.length, 0, key, 0);
    const sent = new Walk(key, 0, frame, w.mode);
    sent.hops = w.hops;
    sent.fromDevice = true;
    this.leave(from, sent);
    for (const tag of sent.invalidate) w.invalidate.add(tag);
    for (const line of sent.trace) w.note(() => `  sends: ${line.trim()}`);
    return { frame, actions: sent.result().actions };
  }

  emit(from: VirtualPort, frame: Uint8Array, w: Walk, service?: Service): void {
    w.emit.push({ ...this.emission(from, frame, w), ...(service ? { service } : {}) });
  }

  private enter(port: VirtualPort, w: Walk): void {
    w.tags.add(port.tag);
    if (!port.up) return w.drop('portDown', () => `${port.name} is down`);
    if (port.mirrorDestination) return w.drop('mirrorDestination', () => `${port.name} is a mirror's destination: it sends nothing`);
    this.mirror(port.mirrorsIn, w);
    if (!w.enterDevice()) return;
    const outer = w.ingress;
    w.ingress = { port, source: w.source, destination: w.destination };
    if (this.filterIn(port, w)) {
      if (port.kind === 'bridge') this.bridge.enter(port, w);
      else this.router.enter(port, w);
    }
    w.ingress = outer;
    w.hops--;
  }

  /** The chains of what enters a device by `port`: the port's, then the device's. */
  private filterIn(port: VirtualPort, w: Walk): boolean {
    const device = this.device(port);
    if (!port.inbound && !device.inbound) return true;
    return this.chains.pass(port.inbound, port.hooks.inbound, port, null, w) && this.chains.pass(device.inbound, device.hooks.inbound, port, null, w);
  }

  /** The chains of what leaves a device by `port`: the device's, then the port's. */
  private filterOut(port: VirtualPort, from: VirtualPort, w: Walk): boolean {
    const device = this.device(port);
    if (!port.outbound && !device.outbound) return true;
    return this.chains.pass(device.outbound, device.hooks.outbound, from, port, w) && this.chains.pass(port.outbound, port.hooks.outbound, from, port, w);
  }

  private device(port: VirtualPort): VirtualBridge | VirtualRouter {
    return (this.topology.bridges.get(port.device) ?? this.topology.routers.get(port.device))!;
  }
}
