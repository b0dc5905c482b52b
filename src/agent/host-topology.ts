// The topology as this host's switch needs it: the store's objects, which virtual ports are
// bound to which local interfaces, the ports attached without a binding (they form the host's
// own `local` bridge, as a plain learning switch), each bridge's MAC table, and the neighbors
// the routers resolved. It says which flows a change makes stale, and gives the simulation
// threads a versioned state to walk.
import { ConnTable } from '../flow';
import { formatMac, parseMac } from '../packet';
import type { TunnelMap } from '../datapath';
import { FloatingIp, Kind, KindMap, LoadBalancer, MemberStatus, memberStatusId, Migration, Mirror, NAT_BLOCK_PORTS, NAT_FIRST_PORT, NatBlock, Port, PortBinding, PortQos, Router, RouterNeighbor, Station, Stored, TunnelZone } from '../topology';
import {
  deviceTag, EncodedState, floodTag, encodeState, hostTag, LearnedStation, macClock, MacEntry, macTag, MacTable, Neighbor, neighborTag, PortPlace, securityGroupTag, chainTag, portGroupTag, externalTag, loadBalancerTag, StateLoadBalancer, StatePort, StateSourceNat, TopologyState, vportTag,
} from '../simulation';

/** A change the store told of: an object put (new, or a new version of it), or deleted. */
export type TopologyChange = { type: 'put'; object: Stored } | { type: 'delete'; kind: Kind; id: string };

/** What applying changes did: the tags of the flows they make stale, and whether they touch
 *  what this host attaches, holds or tunnels to (HostTopology.isHere), which the switch then
 *  looks at again. */
export interface AppliedChanges {
  stale: string[];
  here: boolean;
}

/** The bridge of ports attached without a binding. */
export const LOCAL_BRIDGE = 'local';

/** A datapath port as the topology needs to see it. */
export interface DatapathPortView {
  number: number;
  name: string;
  up: boolean;
  vlan?: number;
  /** The virtual port it is bound to, if any. */
  binding?: string;
}

export class HostTopology {
  /** The store's objects, by kind and id. */
  private readonly objects = new Map<Kind, Map<string, Stored>>();
  private readonly indexes = new Map<string, number>();
  /** Indexes given back by ports that went, given out again first; then nextIndex. */
  private readonly freeIndexes: number[] = [];
  /** The device of each port with an index: the one MAC table to clear of it when it goes. */
  private readonly indexDevices = new Map<string, string>();
  private nextIndex = 1;
  /** Bindings to this host, to VTEPs, and those this host is a standby of, by port. */
  private readonly boundHere = new Map<string, PortBinding>();
  private readonly vteps = new Map<string, PortBinding>();
  private readonly standbys = new Map<string, PortBinding>();
  /** Each device's ports, and each security group's. */
  private readonly portsOn = new Map<string, Set<string>>();
  private readonly groupMembers = new Map<string, Set<string>>();
  private readonly macTables = new Map<string, { slot: number; table: MacTable }>();
  private readonly tableBuffers: SharedArrayBuffer[] = [];
  /** Slots of deleted bridges' tables, given to the next bridges. */
  private readonly freeSlots: number[] = [];
  private readonly neighbors = new Map<string, Neighbor>();
  private readonly neighborCounts = new Map<string, number>();
  /** New neighbors refused because their router had MAX_NEIGHBORS_PER_ROUTER. */
  neighborRefusals = 0;
  private version = 0;
  private encoded: EncodedState | null = null;
  private current: TopologyState | null = null;

  /** Connections of every tenant's security groups, shared with the simulation threads and
   *  the datapath workers (which keep the used ones alive). */
  readonly conntrack: ConnTable;
  /** The MTU VMs are told (DHCP) when their subnet says none: the switch sets it from the underlay. */
  guestMtu = 1500;

  constructor(readonly hostId: string, private readonly macTableSize: number, conntrackSize = DEFAULT_CONNTRACK_SIZE) {
    this.tableFor(LOCAL_BRIDGE);
    this.conntrack = new ConnTable(conntrackSize);
  }

  /** Takes the store's objects as they are now (a snapshot); returns the tags of the flows
   *  this makes stale. */
  setObjects(objects: readonly Stored[]): string[] {
    const changes: TopologyChange[] = objects.map((object) => ({ type: 'put', object }));
    const next = new Set(objects.map((o) => `${o.kind}/${o.value.id}`));
    for (const [kind, ofKind] of this.objects) {
      for (const id of ofKind.keys()) if (!next.has(`${kind}/${id}`)) changes.push({ type: 'delete', kind, id });
    }
    return this.apply(changes).stale;
  }

  /** Applies what the store's watch told, in order: each change costs the work of what it
   *  touches, not of the topology's size. */
  apply(changes: readonly TopologyChange[]): AppliedChanges {
    const tags = new Set<string>();
    const stations: Station[] = [];
    const neighbors: Neighbor[] = [];
    let here = false;
    let applied = 0;
    for (const change of changes) {
      const kind = change.type === 'put' ? change.object.kind : change.kind;
      const id = change.type === 'put' ? change.object.value.id : change.id;
      let ofKind = this.objects.get(kind);
      if (!ofKind) this.objects.set(kind, (ofKind = new Map()));
      const before = ofKind.get(id);
      const after = change.type === 'put' ? change.object : undefined;
      if (after ? before?.version === after.version : !before) continue;
      applied++;
      here ||= this.isHere(before) || this.isHere(after);
      this.tagsOf(before, tags);
      if (after) ofKind.set(id, after);
      else ofKind.delete(id);
      this.tagsOf(after, tags);
      this.follow(before, after, tags, stations, neighbors);
    }
    for (const tag of this.learnNeighbors(neighbors)) tags.add(tag);
    for (const tag of this.learnStations(stations)) tags.add(tag);
    if (applied > 0) this.changed();
    return { stale: [...tags], here };
  }

  /** What an object that came, changed or went takes with it besides its tags: a bridge's MAC
   *  table, a router's neighbors, the stations and neighbors other hosts shared. */
  private follow(before: Stored | undefined, after: Stored | undefined, tags: Set<string>, stations: Station[], neighbors: Neighbor[]): void {
    const object = (after ?? before)!;
    switch (object.kind) {
      case 'binding': {
        const b = after?.value as PortBinding | undefined;
        indexed(this.boundHere, object.value.id, b?.host === this.hostId ? b : undefined);
        indexed(this.vteps, object.value.id, b?.vtepAddress ? b : undefined);
        indexed(this.standbys, object.value.id, b?.standby.some((s) => s.host === this.hostId) ? b : undefined);
        return;
      }
      case 'port': {
        const [was, is] = [before?.value as Port | undefined, after?.value as Port | undefined];
        regrouped(this.portsOn, object.value.id, was ? [was.device] : [], is ? [is.device] : []);
        regrouped(this.groupMembers, object.value.id, was?.securityGroups ?? [], is?.securityGroups ?? []);
        return;
      }
      case 'bridge':
        if (after) this.tableFor(object.value.id);
        else this.freeTable(object.value.id);
        return;
      case 'router':
        if (!after) {
          for (const [key, n] of this.neighbors) if (n.router === object.value.id) this.dropNeighbor(key, n);
        } else if (!before) neighbors.push(...this.list('neighbor').filter((n) => n.router === object.value.id));
        return;
      case 'neighbor':
        if (after) neighbors.push(after.value as RouterNeighbor);
        else this.forgetNeighbor(before!.value as RouterNeighbor, tags);
        return;
      case 'station':
        if (after) stations.push(after.value as Station);
        else this.forgetStation(before!.value as Station);
    }
  }

  /** Whether an object decides what this host attaches, holds or tunnels to: its bindings and
   *  ports bound here, VTEPs, the hosts, tunnel zones and migrations. */
  private isHere(object: Stored | undefined): boolean {
    if (!object) return false;
    switch (object.kind) {
      case 'binding': {
        const b = object.value as PortBinding;
        return b.host === this.hostId || b.vtepAddress !== '' || b.standby.some((s) => s.host === this.hostId);
      }
      case 'port': {
        const b = this.value('binding', object.value.id);
        return b !== undefined && (b.host === this.hostId || b.vtepAddress !== '');
      }
      case 'host':
      case 'tunnelZone':
      case 'migration':
        return true;
      default:
        return false;
    }
  }

  private value<K extends Kind>(kind: K, id: string): KindMap[K] | undefined {
    return this.objects.get(kind)?.get(id)?.value as KindMap[K] | undefined;
  }

  private has(kind: Kind, id: string): boolean {
    return this.objects.get(kind)?.has(id) ?? false;
  }

  /** Interfaces bound to a virtual port on this host: interface name -> port id. The
   *  destination of a migration is bound here too while it lasts. */
  bindingsHere(): Map<string, string> {
    const here = new Map<string, string>();
    for (const b of this.boundHere.values()) if (b.interface && this.has('port', b.id)) here.set(b.interface, b.id);
    for (const m of this.migrating()) if (m.destinationHost === this.hostId && this.has('port', m.port)) here.set(m.destinationInterface, m.port);
    return here;
  }

  /** The tenant a virtual port belongs to, or undefined when there is no such port. */
  tenantOf(port: string): string | undefined {
    return this.value('port', port)?.tenant;
  }

  /** A virtual port's QoS limits, or undefined when there is no such port. */
  qosOf(port: string): PortQos | undefined {
    return this.value('port', port)?.qos;
  }

  /** Ports whose VM is arriving here and has not run here yet: their frames are held. */
  arrivingHere(): Migration[] {
    return this.migrating().filter((m) => m.destinationHost === this.hostId && m.guestRunningAt === 0);
  }

  /** Migrations in progress. */
  migrating(): Migration[] {
    return this.list('migration').filter((m) => m.state === 'mirroring');
  }

  /** What the tunnel needs: which local datapath port each tunnel key delivers to, and the
   *  underlay addresses of the other hosts (datagrams from anywhere else are dropped). */
  tunnelMap(ports: readonly DatapathPortView[]): Omit<TunnelMap, 'peers'> & { peers: string[] } {
    const state = this.state(ports).ports;
    const delivery: [number, number][] = state.filter((p) => p.datapathPort > 0 && p.tunnelKey > 0 && !p.remote).map((p) => [p.tunnelKey, p.datapathPort]);
    // A VM arriving here gets the copies other hosts send it by its port's key, and the marks
    // of what it sent at the source by its migration's key.
    const marks: [number, number][] = [];
    for (const p of state) {
      if (!p.migrating || p.migrating.datapathPort === 0) continue;
      delivery.push([p.tunnelKey, p.migrating.datapathPort]);
      if (p.migrating.markKey > 0) marks.push([p.migrating.markKey, p.migrating.datapathPort]);
    }
    const ingress: [number, number][] = state.filter((p) => p.datapathPort > 0 && p.remote).map((p) => [p.tunnelKey, p.datapathPort]);
    const hosts = this.list('host').filter((h) => h.id !== this.hostId && h.underlayAddress && this.tunnelsTo(h.id)).map((h) => h.underlayAddress);
    const vteps = [...this.vteps.values()].map((b) => b.vtepAddress);
    return { delivery, ingress, marks, peers: [...hosts, ...vteps] };
  }

  /** Whether this host tunnels to `host`: they share a tunnel zone, or there is no zone at all. */
  private tunnelsTo(host: string): boolean {
    const zones = this.list('tunnelZone');
    return zones.length === 0 || zones.some((z) => z.hosts.includes(this.hostId) && z.hosts.includes(host));
  }

  /** Neighbors the routers resolved; returns the tags of the flows that waited on them. A
   *  router that has MAX_NEIGHBORS_PER_ROUTER takes no new one (a VM without port security
   *  answering for a whole address range), counted in neighborRefusals. */
  learnNeighbors(learned: readonly Neighbor[]): string[] {
    const tags: string[] = [];
    for (const n of learned) {
      if (!this.has('router', n.router)) continue;
      const key = `${n.router}/${n.address}`;
      const known = this.neighbors.get(key);
      if (known?.mac === n.mac) continue;
      if (!known) {
        const count = this.neighborCounts.get(n.router) ?? 0;
        if (count >= MAX_NEIGHBORS_PER_ROUTER) {
          this.neighborRefusals++;
          continue;
        }
        this.neighborCounts.set(n.router, count + 1);
      }
      this.neighbors.set(key, n);
      tags.push(neighborTag(n.router, n.address));
    }
    if (tags.length > 0) this.changed();
    return tags;
  }

  /** Stations other hosts' bridges learned: put in this host's tables, as if learned here. */
  private learnStations(stations: readonly Station[]): string[] {
    const tags: string[] = [];
    for (const s of stations) {
      const table = this.macTables.get(s.bridge)?.table;
      if (!table || !this.has('port', s.port)) continue;
      const mac = parseMac(s.mac);
      const learned = table.learn(s.vlan, mac, 0, this.indexOf(s.port, s.bridge), macClock());
      if (learned === 'new' || learned === 'moved') tags.push(macTag(s.bridge, s.vlan, mac));
    }
    return tags;
  }

  /** A neighbor its host aged out: gone here too, if it still has the same MAC; the flows to it
   *  resolve it again. */
  private forgetNeighbor(n: RouterNeighbor, tags: Set<string>): void {
    const key = `${n.router}/${n.address}`;
    if (this.neighbors.get(key)?.mac !== n.mac) return;
    this.dropNeighbor(key, n);
    tags.add(neighborTag(n.router, n.address));
  }

  /** A station its owner aged out: gone from this host's table too, if still where it was. */
  private forgetStation(s: Station): void {
    this.macTables.get(s.bridge)?.table.forget(s.vlan, parseMac(s.mac), this.indexOf(s.port, s.bridge));
  }

  /** Of `entries` just aged out of `bridge`'s table, the stations on ports bound here: this
   *  host learned them, and says in the store that they are gone. */
  stationsAgedHere(bridge: string, entries: readonly MacEntry[]): LearnedStation[] {
    const here = new Set(this.bindingsHere().values());
    const ports = new Map([...this.indexes].filter(([id]) => here.has(id)).map(([id, index]) => [index, id]));
    return entries.flatMap((e) => {
      const port = ports.get(e.port);
      return port ? [{ bridge, vlan: e.vlan, mac: formatMac(e.mac), port }] : [];
    });
  }

  private dropNeighbor(key: string, n: Neighbor): void {
    if (!this.neighbors.delete(key)) return;
    const left = (this.neighborCounts.get(n.router) ?? 1) - 1;
    if (left > 0) this.neighborCounts.set(n.router, left);
    else this.neighborCounts.delete(n.router);
  }

  /** Whether the routers here know `n` as it is (learned, not refused for the bound). */
  knowsNeighbor(n: Neighbor): boolean {
    return this.neighbors.get(`${n.router}/${n.address}`)?.mac === n.mac;
  }

  neighborList(): Neighbor[] {
    return [...this.neighbors.values()];
  }

  /** The MAC table of a bridge (the local one included) and the tables' shared buffers. */
  macTable(bridge: string): MacTable | undefined {
    return this.macTables.get(bridge)?.table;
  }

  allMacTables(): { bridge: string; table: MacTable }[] {
    return [...this.macTables].map(([bridge, { table }]) => ({ bridge, table }));
  }

  /** The virtual port a datapath port stands for: bound, or on the local bridge. */
  virtualPortOf(port: DatapathPortView): { id: string; index: number; bridge?: string } {
    const id = port.binding ?? localPortId(port.name);
    const device = port.binding ? this.value('port', port.binding)?.device : LOCAL_BRIDGE;
    return { id, index: this.indexOf(id, device), bridge: device && this.macTables.has(device) ? device : undefined };
  }

  /** A station whose flows the datapath used keeps its place in its bridge's MAC table (the
   *  VLAN it was learned on: an access port's, a trunk's tag, or 0 on a bridge that is not
   *  VLAN-aware). */
  refreshStation(port: DatapathPortView, vlanTci: number, mac: Uint8Array, ports: readonly DatapathPortView[]): void {
    const { id, index, bridge } = this.virtualPortOf(port);
    if (!bridge) return;
    const state = this.state(ports);
    const p = state.ports.find((x) => x.id === id);
    const vlanAware = state.bridges.find((b) => b.id === bridge)?.vlanAware ?? false;
    const vlan = !p || !vlanAware ? 0 : p.trunk ? vlanTci & 0x0fff : p.vlan;
    this.macTables.get(bridge)!.table.refresh(vlan, mac, 0, index, macClock());
  }

  /** Something the state depends on changed (ports attached, links up or down). */
  changed(): void {
    this.version++;
    this.encoded = null;
    this.current = null;
  }

  state(ports: readonly DatapathPortView[]): TopologyState {
    if (this.current) return this.current;
    const boundHere = new Map(ports.filter((p) => p.binding).map((p) => [p.binding!, p]));
    const migrations = new Map(this.migrating().map((m) => [m.port, m]));
    const statePorts: StatePort[] = this.portsInReach(ports).map((p) => {
      const local = boundHere.get(p.id);
      const binding = this.value('binding', p.id);
      const index = this.indexOf(p.id, p.device);
      if (binding?.vtepAddress) {
        // A VTEP's port: frames to it go to the VTEP in its VNI; its frames enter the topology
        // on the host it sends to, through a datapath port number that has no interface.
        const terminated = binding.host === this.hostId;
        return {
          id: p.id, name: p.name || p.id.slice(0, 8), device: p.device, mac: p.mac, addresses: p.addresses, vlan: p.vlan, trunk: p.trunk,
          portSecurity: false, allowedAddressPairs: [], // a gateway to a physical network: many MACs behind it
          securityGroups: [], inboundChain: p.inboundChain, outboundChain: p.outboundChain, zone: zoneOf(p.tenant),
          peer: p.peer, up: p.adminUp, datapathPort: terminated ? vtepPortNumber(index) : 0, index,
          tunnelKey: binding.vni, remote: binding.vtepAddress, remoteHost: '', migrating: null, standbyRemotes: [],
        };
      }
      // While its VM migrates here, the local interface is the arriving end; the binding's host the other.
      // A commit moves the binding before it ends the migration: from then on, one end.
      const moving = binding ? migrations.get(p.id) : undefined;
      const migration = moving?.destinationHost !== binding?.host ? moving : undefined;
      const arriving = migration?.destinationHost === this.hostId;
      const here = binding ? binding.host === this.hostId : local !== undefined;
      const primary = here && !arriving ? local : undefined;
      return {
        id: p.id, name: p.name || p.id.slice(0, 8), device: p.device, mac: p.mac, addresses: p.addresses, vlan: p.vlan, trunk: p.trunk,
        portSecurity: p.portSecurity, allowedAddressPairs: p.allowedAddressPairs, securityGroups: p.securityGroups, zone: zoneOf(p.tenant),
        inboundChain: p.inboundChain, outboundChain: p.outboundChain,
        peer: p.peer, up: p.adminUp && (primary ? primary.up : true), index, tunnelKey: p.tunnelKey,
        standbyRemotes: (binding?.standby ?? []).map((s) => this.placeOn(s.host).remote).filter(Boolean),
        ...(here ? { datapathPort: primary?.number ?? 0, remote: '', remoteHost: '' } : this.placeOn(binding?.host)),
        migrating: migration ? { ...(arriving ? { datapathPort: local?.up ? local.number : 0, remote: '', remoteHost: '' } : this.placeOn(migration.destinationHost)), markKey: migration.markKey } : null,
      };
    });
    for (const p of ports.filter((p) => !p.binding)) {
      const id = localPortId(p.name);
      statePorts.push({
        id, name: p.name, device: LOCAL_BRIDGE, mac: '', addresses: [], vlan: p.vlan ?? 0, trunk: p.vlan === undefined, portSecurity: false, allowedAddressPairs: [], securityGroups: [], inboundChain: '', outboundChain: '', zone: [0, 0],
        peer: '', up: p.up, datapathPort: p.number, index: this.indexOf(id, LOCAL_BRIDGE), tunnelKey: 0, remote: '', remoteHost: '', migrating: null, standbyRemotes: [],
      });
    }
    const live = new Set(statePorts.map((p) => p.id));
    for (const [id, index] of this.indexes) {
      if (live.has(id)) continue;
      this.indexes.delete(id);
      this.freeIndexes.push(index);
      const device = this.indexDevices.get(id);
      this.indexDevices.delete(id);
      for (const [bridge, { table }] of this.macTables) if (device === undefined || bridge === device) table.flushPort(index);
    }
    this.current = {
      version: this.version,
      bridges: [
        { id: LOCAL_BRIDGE, name: LOCAL_BRIDGE, vlanAware: true, macTable: this.macTables.get(LOCAL_BRIDGE)!.slot, inboundChain: '', outboundChain: '', subnets: [] },
        ...this.list('bridge').map((b) => ({
          id: b.id, name: b.name || b.id.slice(0, 8), vlanAware: b.vlanAware, macTable: this.macTables.get(b.id)!.slot, inboundChain: b.inboundChain, outboundChain: b.outboundChain,
          subnets: b.subnets,
        })),
      ],
      routers: this.list('router').map((r) => ({
        id: r.id, name: r.name || r.id.slice(0, 8), inboundChain: r.inboundChain, outboundChain: r.outboundChain, externalNetwork: r.externalNetwork, gatewayPort: r.gatewayPort,
        zone: zoneOf(r.tenant), sourceNat: this.sourceNatOf(r),
      })),
      ports: statePorts,
      routes: this.list('route'),
      neighbors: this.neighborList(),
      mirrors: this.list('mirror').map(({ id, name, port, direction, toPort, match }) => ({ id, name: name || id.slice(0, 8), port, direction, toPort, match })),
      securityGroups: this.list('securityGroup').map(({ id, name, rules }) => ({ id, name: name || id.slice(0, 8), rules })),
      chains: this.list('chain').map(({ id, name, rules }) => ({ id, name: name || id.slice(0, 8), rules })),
      portGroups: this.list('portGroup').map(({ id, ports }) => ({ id, ports })),
      guestMtu: this.guestMtu,
      floatingIps: this.list('floatingIp').map(({ network, address, port, portForwards }) => ({ network, address, port, portForwards })),
      loadBalancers: this.loadBalancers(),
    };
    return this.current;
  }

  /** The ports a walk on this host can meet: those of the devices its own ports lead to, link
   *  by link (OVN's local datapaths), the members of the security groups their rules name as
   *  remote groups (their addresses are what the rules match), and mirrors' ends. The rest of
   *  the topology, however large, is not in the state the simulation threads rebuild. */
  private portsInReach(ports: readonly DatapathPortView[]): Port[] {
    const devices = new Set<string>([LOCAL_BRIDGE]);
    const start = (portId: string) => {
      const device = this.value('port', portId)?.device;
      if (device) devices.add(device);
    };
    for (const p of ports) if (p.binding) start(p.binding);
    for (const id of this.boundHere.keys()) start(id);
    for (const m of this.migrating()) if (m.destinationHost === this.hostId || m.sourceHost === this.hostId) start(m.port);
    for (const device of devices) {
      for (const id of this.portsOn.get(device) ?? []) {
        const peer = this.value('port', id)!.peer;
        if (peer) start(peer);
      }
    }
    const reached = new Set<string>();
    for (const device of devices) for (const id of this.portsOn.get(device) ?? []) reached.add(id);
    for (const m of this.list('mirror')) if (reached.has(m.port) || reached.has(m.toPort)) reached.add(m.port).add(m.toPort);
    const groups = new Set<string>();
    for (const id of reached) for (const g of this.value('port', id)?.securityGroups ?? []) groups.add(g);
    const remote = new Set<string>();
    for (const g of groups) for (const rule of this.value('securityGroup', g)?.rules ?? []) if (rule.remoteGroup) remote.add(rule.remoteGroup);
    for (const g of remote) for (const id of this.groupMembers.get(g) ?? []) reached.add(id);
    return [...reached].flatMap((id) => this.value('port', id) ?? []); // a mirror may name a port gone
  }

  /** The addresses whose source NAT this host gives ports on: the gateways of routers that a
   *  VM bound here sits behind (a port of theirs links to its bridge). */
  sourceNatWanted(): { network: string; address: string }[] {
    const bridges = new Set([...this.boundHere.keys()].map((id) => this.value('port', id)?.device));
    const behind = new Set<string>();
    for (const bridge of bridges) {
      for (const id of (bridge && this.portsOn.get(bridge)) || []) {
        const p = this.value('port', id)!;
        const peer = p.peer ? this.value('port', p.peer) : undefined;
        if (peer) behind.add(peer.device);
      }
    }
    return this.list('router').filter((r) => behind.has(r.id)).flatMap((r) => {
      const address = this.gatewayAddress(r);
      return address ? [{ network: r.externalNetwork, address }] : [];
    });
  }

  /** The load balancers as the store has them. */
  loadBalancerObjects(): LoadBalancer[] {
    return this.list('loadBalancer');
  }

  /** Load balancers with their members' health: a member is up unless its checks say it is
   *  down (a new member takes connections before its first check, as HAProxy's do). */
  private loadBalancers(): StateLoadBalancer[] {
    const statuses = new Map(this.list('memberStatus').map((s) => [s.id, s]));
    return this.list('loadBalancer').map(({ id, router, vip, protocol, port, algorithm, members, monitor }) => ({
      id, router, vip, protocol, port, algorithm,
      members: members.map((m) => ({ ...m, up: monitor.type === 'none' || (statuses.get(memberStatusId(id, m.address, m.port))?.up ?? true) })),
    }));
  }

  /** Bindings that move here when their host dies (this host is among their standbys). */
  standbyHere(): PortBinding[] {
    return [...this.standbys.values()];
  }

  /** Every leased block of source NAT ports, of every host. */
  natBlocks(): NatBlock[] {
    return this.list('natBlock');
  }

  private sourceNatOf(r: Router): StateSourceNat | null {
    const address = this.gatewayAddress(r);
    if (!address) return null;
    const ports: [number, number][] = this.natBlocks()
      .filter((b) => b.host === this.hostId && b.network === r.externalNetwork && b.address === address)
      .map((b) => [NAT_FIRST_PORT + b.block * NAT_BLOCK_PORTS, NAT_BLOCK_PORTS]);
    return { key: `${r.externalNetwork}/${address}`, zone: zoneOf(r.externalNetwork), address, ports: ports.sort((a, b) => a[0] - b[0]) };
  }

  /** The IPv4 address of a router's gateway port, or ''. */
  private gatewayAddress(r: Router): string {
    if (!r.externalNetwork || !r.gatewayPort) return '';
    const gateway = this.value('port', r.gatewayPort);
    return gateway?.addresses.find((a) => !a.includes(':'))?.split('/')[0] ?? '';
  }

  /** The underlay address of the other host a virtual port is bound on, when this host
   *  tunnels to it; '' when it is bound here, nowhere, or on a host out of reach. */
  boundElsewhere(port: string): string {
    const binding = this.value('binding', port);
    return binding && !binding.vtepAddress ? this.placeOn(binding.host).remote : '';
  }

  /** A port bound on another host: reached through its tunnel, when this host tunnels to it. */
  private placeOn(host: string | undefined): PortPlace {
    const there = host && host !== this.hostId && this.tunnelsTo(host) ? this.value('host', host) : undefined;
    return { datapathPort: 0, remote: there?.underlayAddress ?? '', remoteHost: there?.id ?? '' };
  }

  /** The state for the simulation threads, encoded once per version. */
  encode(ports: readonly DatapathPortView[]): EncodedState {
    this.encoded ??= encodeState(this.state(ports), this.tableBuffers, this.conntrack.buffer);
    return this.encoded;
  }

  private list<K extends Kind>(kind: K): Stored<K>['value'][] {
    const out: Stored<K>['value'][] = [];
    for (const o of this.objects.get(kind)?.values() ?? []) out.push(o.value as Stored<K>['value']);
    return out;
  }

  /** What flows a version of an object touched: its device, its port, its link's other end. */
  private tagsOf(object: Stored | undefined, tags: Set<string>): void {
    if (!object) return;
    const v = object.value as { id: string; device?: string; router?: string; peer?: string };
    switch (object.kind) {
      case 'bridge':
      case 'router':
        tags.add(deviceTag(v.id));
        return;
      case 'port':
      case 'binding': {
        const port = object.kind === 'port' ? v : this.value('port', v.id);
        tags.add(vportTag(v.id));
        if (port?.device) tags.add(this.portsTagOf(port.device));
        if (port?.peer) tags.add(vportTag(port.peer));
        // Its groups' members changed (rules that name them as remote groups see other addresses).
        for (const group of (port as Partial<Port> | undefined)?.securityGroups ?? []) tags.add(securityGroupTag(group));
        return;
      }
      case 'route':
        tags.add(deviceTag(v.router!));
        return;
      case 'securityGroup':
        tags.add(securityGroupTag(v.id));
        return;
      case 'chain':
        tags.add(chainTag(v.id));
        return;
      case 'portGroup':
        tags.add(portGroupTag(v.id));
        return;
      case 'floatingIp':
        tags.add(externalTag((object.value as FloatingIp).network));
        return;
      case 'loadBalancer':
        tags.add(loadBalancerTag(v.id));
        return;
      case 'memberStatus':
        tags.add(loadBalancerTag((object.value as MemberStatus).loadBalancer));
        return;
      case 'host':
        tags.add(hostTag(v.id));
        return;
      case 'tunnelZone':
        for (const host of (object.value as TunnelZone).hosts) tags.add(hostTag(host));
        return;
      case 'migration': {
        const m = object.value as Migration;
        tags.add(vportTag(m.port));
        tags.add(hostTag(m.destinationHost));
        return;
      }
      case 'mirror': {
        // The mirrored port's flows gain or lose a copy; the destination's bridge floods anew.
        const mirror = object.value as Mirror;
        const to = this.value('port', mirror.toPort);
        tags.add(vportTag(mirror.port));
        tags.add(vportTag(mirror.toPort));
        if (to?.device) tags.add(this.portsTagOf(to.device));
      }
    }
  }

  /** What a port that comes, goes or changes on a device makes stale: a bridge's floods (the
   *  flows to known stations carry their ports' tags), a router's every flow (its connected
   *  routes). */
  private portsTagOf(device: string): string {
    return this.has('bridge', device) || device === LOCAL_BRIDGE ? floodTag(device) : deviceTag(device);
  }

  private freeTable(bridge: string): void {
    const known = this.macTables.get(bridge);
    if (!known || bridge === LOCAL_BRIDGE) return;
    this.macTables.delete(bridge);
    this.freeSlots.push(known.slot);
  }

  private tableFor(bridge: string): void {
    if (this.macTables.has(bridge)) return;
    const table = new MacTable(this.macTableSize);
    const slot = this.freeSlots.pop() ?? this.tableBuffers.length;
    this.tableBuffers[slot] = table.buffer;
    this.macTables.set(bridge, { slot, table });
  }

  private indexOf(id: string, device: string | undefined): number {
    let index = this.indexes.get(id);
    if (index === undefined) this.indexes.set(id, (index = this.freeIndexes.pop() ?? this.nextIndex++));
    if (device !== undefined) this.indexDevices.set(id, device);
    return index;
  }
}

const localPortId = (name: string): string => `${LOCAL_BRIDGE}:${name}`;

/** An index entry set, or taken out when there is no value. */
function indexed<V>(index: Map<string, V>, id: string, value: V | undefined): void {
  if (value === undefined) index.delete(id);
  else index.set(id, value);
}

/** `id` moved from the groups `from` to the groups `to` of an index of sets. */
function regrouped(index: Map<string, Set<string>>, id: string, from: readonly string[], to: readonly string[]): void {
  for (const key of from) if (!to.includes(key)) index.get(key)?.delete(id);
  for (const key of to) {
    const members = index.get(key);
    if (members) members.add(id);
    else index.set(key, new Set([id]));
  }
}

/** Datapath port numbers of VTEPs' ports (no interface behind them) sit above the ports'. */
export const VTEP_PORT_BASE = 512;
const vtepPortNumber = (index: number): number => VTEP_PORT_BASE + (index % VTEP_PORT_BASE);

/** Neighbors a router keeps at most (Linux's neigh gc_thresh3 is 1,024 per table by default). */
export const MAX_NEIGHBORS_PER_ROUTER = 4096;

/** Connections tracked at once on a host by default (nf_conntrack_max is of this order). */
export const DEFAULT_CONNTRACK_SIZE = 65536;

/** A tenant's connection tracking zone: 64 bits of its id, the same on every host. */
export function zoneOf(tenant: string): [number, number] {
  const hex = tenant.replace(/-/g, '');
  return [parseInt(hex.slice(0, 8), 16) | 0, parseInt(hex.slice(8, 16), 16) | 0];
}
