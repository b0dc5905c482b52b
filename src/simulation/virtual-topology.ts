// The topology as one simulation thread walks it: the agent's state for this host (devices,
// ports and where they are bound here, routes, resolved neighbors), indexed for lookups.
// The state is plain data so that it can cross to the simulation threads; the bridges' MAC
// tables are shared memory beside it.
import { parseAddress, parseMac } from '../packet';
import { ConnTable, FlowMatch, parseFlowMatch } from '../flow';
import { Filtered, macFromId, Mirror, Port, Route, Subnet } from '../topology';
import { DhcpSubnet, dhcpSubnets } from './dhcp-service';
import { FloatingMaps, floatingMaps, StateFloatingIp } from './floating-ips';
import type { SourceNat } from './source-nat';
import { StateLoadBalancer, VirtualLoadBalancer, virtualLoadBalancer } from './load-balancer';
import { StateChain, StatePortGroup, VirtualChain, virtualChains } from './chains';
import { MemberChains, SecurityGroupChains, StateGroup } from './security-groups';
import { MacTable } from './mac-table';
import { PortGuard, portGuard } from './port-security';
import { deviceTag, floodTag, hostTag, MacTags, neighborTag, portTag, vportTag } from './tags';
import { contains, formatAddress, networkOf, parsePrefix, Prefix } from '../packet';

export interface TopologyState {
  /** Grows with every change the agent applies: threads rebuild when it moves. */
  version: number;
  bridges: ({ id: string; name: string; vlanAware: boolean; macTable: number; subnets: Subnet[] } & Filtered)[];
  routers: ({ id: string; name: string; externalNetwork: string; gatewayPort: string; zone: [number, number]; sourceNat: StateSourceNat | null } & Filtered)[];
  ports: StatePort[];
  routes: Omit<Route, 'tenant'>[];
  /** Resolved neighbors (ARP, NDP) of each router. */
  neighbors: { router: string; address: string; mac: string }[];
  mirrors: Omit<Mirror, 'tenant'>[];
  securityGroups: StateGroup[];
  chains: StateChain[];
  portGroups: StatePortGroup[];
  /** The MTU VMs are told when their subnet says 0: 1500, or the underlay's less VXLAN's 50. */
  guestMtu: number;
  floatingIps: StateFloatingIp[];
  loadBalancers: StateLoadBalancer[];
}

/** A router's source NAT on this host: the gateway's IPv4 address, the zone of its external
 *  network, and the ports of the blocks this host leased there, as [first, count] runs. */
export interface StateSourceNat {
  key: string;
  zone: [number, number];
  address: string;
  ports: [number, number][];
}

/** A TopologyState as JSON bytes in shared memory, with the MAC tables it points into: it
 *  crosses to the simulation threads by reference, and each decodes it once per version. */
export interface EncodedState {
  version: number;
  buffer: SharedArrayBuffer;
  length: number;
  macTables: SharedArrayBuffer[];
  conntrack: SharedArrayBuffer;
}

export function encodeState(state: TopologyState, macTables: SharedArrayBuffer[], conntrack: SharedArrayBuffer): EncodedState {
  const bytes = new TextEncoder().encode(JSON.stringify(state));
  const buffer = new SharedArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  return { version: state.version, buffer, length: bytes.length, macTables, conntrack };
}

export function decodeState(encoded: EncodedState): VirtualTopology {
  const bytes = new Uint8Array(encoded.length);
  bytes.set(new Uint8Array(encoded.buffer, 0, encoded.length));
  return new VirtualTopology(JSON.parse(new TextDecoder().decode(bytes)) as TopologyState, encoded.macTables, new ConnTable(encoded.conntrack));
}

/** Where a port's frames are delivered: on this host (a datapath port) or on another. */
export interface PortPlace {
  /** The underlay address of the host it is bound on, when that is another host; else ''. */
  remote: string;
  /** That host's id. */
  remoteHost: string;
  /** The datapath port it is bound to on this host, or 0. */
  datapathPort: number;
}

/** A port as the walk needs it: the model's fields, and where it stands on this host. */
export interface StatePort extends PortPlace, Pick<Port, 'id' | 'name' | 'device' | 'mac' | 'addresses' | 'vlan' | 'trunk' | 'peer' | 'tunnelKey' | 'portSecurity' | 'allowedAddressPairs' | 'securityGroups' | 'inboundChain' | 'outboundChain'> {
  /** Its tenant's connection tracking zone (two words of the tenant's id). */
  zone: [number, number];
  /** The underlay addresses of the other hosts its binding moves to when its host dies (an
   *  uplink's standby gateway hosts): they learn the connections that leave by it too. */
  standbyRemotes: string[];
  /** Administratively up, and its interface up when it is bound here. */
  up: boolean;
  /** A small number that stays the port's while it exists: what the MAC tables hold. */
  index: number;
  /** While its VM migrates: the other end of the move, which gets a copy of every frame to the
   *  port (and whose frames enter as the port's); else null. */
  migrating: MigratingPlace | null;
}

export interface MigratingPlace extends PortPlace {
  /** The key on which the source host tells the destination what the guest sent (its marks). */
  markKey: number;
}

export interface VirtualPlace extends PortPlace {
  /** port:N of its datapath port, or ''; host:ID of its remote host, or ''. */
  datapathTag: string;
  remoteTag: string;
}

export type VirtualMigratingPlace = VirtualPlace & Pick<MigratingPlace, 'markKey'>;

export interface VirtualPort extends Omit<StatePort, 'migrating'>, VirtualPlace {
  /** Its tag (vport:ID), made once. */
  tag: string;
  migrating: VirtualMigratingPlace | null;
  macBytes: Uint8Array;
  prefixes: (Prefix & { text: string })[];
  kind: 'bridge' | 'router';
  /** Mirrors of what enters the topology by it (from its interface or its peer), and of what leaves by it. */
  mirrorsIn: MirrorEntry[];
  mirrorsOut: MirrorEntry[];
  /** A mirror's destination: it takes only copies (no floods, no learning, nothing from it). */
  mirrorDestination: boolean;
  /** What a bridge port's VM may send from; null: anything (no port security). */
  guard: PortGuard | null;
  /** The chains of its security groups, from its VM and to it; null: no groups, no filtering. */
  security: MemberChains | null;
  /** The chains of what enters its device by it, and of what leaves by it. */
  inbound: VirtualChain | null;
  outbound: VirtualChain | null;
  /** Where its chains are, for traces. */
  hooks: ChainHooks & { fromVm: string; toVm: string };
}

/** A device's chains: of what enters it, and of what leaves it. */
export interface ChainsOf {
  inbound: VirtualChain | null;
  outbound: VirtualChain | null;
  hooks: ChainHooks;
}

/** Where chains are, in traces' words: "port vm1 inbound", "router r1 post-routing". */
export interface ChainHooks {
  inbound: string;
  outbound: string;
}

export interface MirrorEntry {
  name: string;
  to: VirtualPort;
  /** Null: every frame. */
  match: FlowMatch | null;
}

/** A MAC in both forms: the walk compares bytes and writes actions with text. */
export interface LinkAddress {
  bytes: Uint8Array;
  text: string;
}

/** A resolved neighbor: its MAC and the tag of the flows that used it. */
export interface NeighborEntry extends LinkAddress {
  tag: string;
}

export interface VirtualBridge extends ChainsOf {
  id: string;
  /** Its subnets as the store has them (what its routers advertise, how DHCPv6 answers). */
  subnets: Subnet[];
  /** Its IPv4 subnets that answer DHCP, and the MAC the answers come from. */
  dhcp: DhcpSubnet[];
  serviceMac: Uint8Array;
  name: string;
  tag: string;
  floodTag: string;
  macTags: MacTags;
  vlanAware: boolean;
  macs: MacTable;
  ports: VirtualPort[];
}

export interface RouteEntry {
  id: string;
  prefix: Prefix;
  nextHop: Uint8Array | null;
  port: VirtualPort | null;
  weight: number;
  text: string;
}

export interface VirtualRouter extends ChainsOf {
  id: string;
  /** Its gateway port on an external network, and that network; null, '': none. */
  gateway: VirtualPort | null;
  externalNetwork: string;
  floating: FloatingMaps;
  /** Its tenant's connection tracking zone. */
  zone: [number, number];
  /** What its gateway translates connections to, here; null: no gateway, or no address. */
  sourceNat: SourceNat | null;
  loadBalancers: VirtualLoadBalancer[];
  name: string;
  tag: string;
  ports: VirtualPort[];
  /** Longest prefix first, then lowest weight: the first match is the route. */
  routes: RouteEntry[];
}

export class VirtualTopology {
  readonly version: number;
  readonly ports = new Map<string, VirtualPort>();
  readonly byIndex: VirtualPort[] = [];
  readonly byDatapathPort = new Map<number, VirtualPort>();
  readonly bridges = new Map<string, VirtualBridge>();
  readonly routers = new Map<string, VirtualRouter>();
  readonly chains: ReadonlyMap<string, VirtualChain>;
  /** What VMs are told their MTU is (DHCP, router advertisements) when their subnet says none. */
  readonly guestMtu: number;
  private readonly neighbors = new Map<string, NeighborEntry>();

  constructor(state: TopologyState, macTables: readonly SharedArrayBuffer[], readonly conntrack: ConnTable) {
    this.version = state.version;
    this.guestMtu = state.guestMtu;
    this.chains = virtualChains(state.chains, state.portGroups);
    const chainsOf = (f: Filtered, what: string, [into, out] = ['inbound', 'outbound']): ChainsOf => ({
      inbound: this.chains.get(f.inboundChain) ?? null, outbound: this.chains.get(f.outboundChain) ?? null, hooks: { inbound: `${what} ${into}`, outbound: `${what} ${out}` },
    });
    for (const b of state.bridges) {
      this.bridges.set(b.id, {
        id: b.id, name: b.name, tag: deviceTag(b.id), floodTag: floodTag(b.id), subnets: b.subnets, dhcp: dhcpSubnets(b.subnets, state.guestMtu), serviceMac: parseMac(macFromId(b.id)), macTags: new MacTags(b.id), vlanAware: b.vlanAware, macs: new MacTable(macTables[b.macTable]), ports: [], ...chainsOf(b, `bridge ${b.name}`),
      });
    }
    for (const r of state.routers) {
      this.routers.set(r.id, {
        id: r.id, name: r.name, tag: deviceTag(r.id), ports: [], routes: [], gateway: null, externalNetwork: r.externalNetwork, zone: r.zone,
        sourceNat: r.sourceNat ? { ...r.sourceNat, address: parseAddress(r.sourceNat.address) } : null,
        loadBalancers: state.loadBalancers.filter((l) => l.router === r.id).map(virtualLoadBalancer),
        floating: { inbound: new Map(), outbound: new Map(), forwardsIn: new Map(), forwardsOut: new Map(), forwarding: new Set() },
        ...chainsOf(r, `router ${r.name}`, ['pre-routing', 'post-routing']),
      });
    }
    // Rules that name a group as their remote group match its members' addresses.
    const members = new Map<string, Prefix[]>();
    for (const p of state.ports) {
      for (const group of p.securityGroups) members.set(group, [...(members.get(group) ?? []), ...p.addresses.map((text) => hostPrefix(parsePrefix(text).address))]);
    }
    const securityGroups = new SecurityGroupChains(state.securityGroups, members);
    for (const p of state.ports) {
      const bridge = this.bridges.get(p.device);
      const router = this.routers.get(p.device);
      if (!bridge && !router) continue;
      const chains = chainsOf(p, `port ${p.name}`);
      const port: VirtualPort = {
        ...p, ...place(p), kind: bridge ? 'bridge' : 'router', tag: vportTag(p.id), migrating: p.migrating ? { ...place(p.migrating), markKey: p.migrating.markKey } : null,
        macBytes: p.mac ? parseMac(p.mac) : new Uint8Array(6),
        prefixes: p.addresses.map((text) => ({ ...parsePrefix(text), text })),
        mirrorsIn: [], mirrorsOut: [], mirrorDestination: false,
        guard: bridge ? portGuard(p) : null,
        security: null,
        ...chains,
        hooks: { ...chains.hooks, fromVm: `port ${p.name}, from its VM`, toVm: `port ${p.name}, to its VM` },
      };
      if (bridge) port.security = securityGroups.member(port, p.securityGroups);
      this.ports.set(p.id, port);
      this.byIndex[port.index] = port;
      if (p.datapathPort > 0) this.byDatapathPort.set(p.datapathPort, port);
      if (p.migrating && p.migrating.datapathPort > 0) this.byDatapathPort.set(p.migrating.datapathPort, port);
      (bridge ?? router)!.ports.push(port);
    }
    for (const m of state.mirrors) {
      const port = this.ports.get(m.port);
      const to = this.ports.get(m.toPort);
      if (!port || !to) continue;
      const entry = { name: m.name, to, match: m.match ? matchOrNothing(m.match) : null };
      if (m.direction !== 'out') port.mirrorsIn.push(entry);
      if (m.direction !== 'in') port.mirrorsOut.push(entry);
      to.mirrorDestination = true;
    }
    for (const r of state.routers) this.routers.get(r.id)!.gateway = this.ports.get(r.gatewayPort) ?? null;
    floatingMaps(state.floatingIps, new Map(state.ports.map((p) => [p.id, p])), this.routers);
    for (const router of this.routers.values()) {
      for (const port of router.ports) {
        for (const p of port.prefixes) router.routes.push({ id: `connected:${port.id}`, prefix: p, nextHop: null, port, weight: 0, text: `${maskedText(p)} dev ${port.name}` });
      }
    }
    // A router with a gateway sends what it has no other route for to its external subnets'
    // gateways, as Neutron's does: a tenant's own default route comes first.
    for (const r of state.routers) {
      const router = this.routers.get(r.id)!;
      const gateway = router.gateway;
      for (const subnet of state.bridges.find((b) => b.id === r.externalNetwork)?.subnets ?? []) {
        if (!gateway || !subnet.gateway) continue;
        const nextHop = parseAddress(subnet.gateway);
        router.routes.push({
          id: `gateway:${gateway.id}`, prefix: { address: new Uint8Array(nextHop.length), length: 0 }, nextHop, port: gateway, weight: GATEWAY_ROUTE_WEIGHT,
          text: `default via ${subnet.gateway} dev ${gateway.name}`,
        });
      }
    }
    for (const r of state.routes) {
      const router = this.routers.get(r.router);
      if (!router) continue;
      const prefix = parsePrefix(r.destination);
      const nextHop = r.nextHop ? parsePrefix(r.nextHop).address : null;
      const port = (r.port ? this.ports.get(r.port) : undefined) ?? (nextHop ? connectedPort(router, nextHop) : undefined);
      router.routes.push({
        id: r.id, prefix, nextHop, port: port ?? null, weight: r.weight,
        text: `${r.destination}${r.nextHop ? ` via ${r.nextHop}` : ''}${port ? ` dev ${port.name}` : ''}`,
      });
    }
    for (const router of this.routers.values()) router.routes.sort((a, b) => b.prefix.length - a.prefix.length || a.weight - b.weight);
    for (const n of state.neighbors) {
      this.neighbors.set(neighborKey(n.router, n.address), { bytes: parseMac(n.mac), text: n.mac, tag: neighborTag(n.router, n.address) });
    }
  }

  /** The MAC a router resolved for an address (as text, formatAddress's form). */
  neighbor(router: string, address: string): NeighborEntry | undefined {
    return this.neighbors.get(neighborKey(router, address));
  }

  /** The router's route for `address`, or undefined. */
  route(router: VirtualRouter, address: Uint8Array): RouteEntry | undefined {
    return router.routes.find((r) => contains(r.prefix, address));
  }
}

/** Above any weight a tenant's route may have (the API takes 0 to 65535). */
const GATEWAY_ROUTE_WEIGHT = 65536;

function place(p: PortPlace): VirtualPlace {
  return {
    remote: p.remote, remoteHost: p.remoteHost, datapathPort: p.datapathPort,
    datapathTag: p.datapathPort > 0 ? portTag(p.datapathPort) : '', remoteTag: p.remoteHost ? hostTag(p.remoteHost) : '',
  };
}

/** The API checks a mirror's match; one that does not parse (written around it) copies nothing. */
function matchOrNothing(text: string): FlowMatch {
  try {
    return parseFlowMatch(text);
  } catch {
    return () => false;
  }
}

function connectedPort(router: VirtualRouter, address: Uint8Array): VirtualPort | undefined {
  return router.ports.find((p) => p.prefixes.some((prefix) => contains(prefix, address)));
}

function maskedText(p: Prefix): string {
  return `${formatAddress(networkOf(p))}/${p.length}`;
}

const neighborKey = (router: string, address: string): string => `${router}/${address}`;

function hostPrefix(address: Uint8Array): Prefix {
  return { address, length: address.length * 8 };
}
