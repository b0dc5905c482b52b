// The topology's objects as the code sees them: the messages of topology.proto, field names
// in camelCase (protobufjs's convention), one `kind` per message.
import { randomUUID } from 'node:crypto';

export interface Tenant { id: string; tenant: string; name: string; tokenSha256: string }
/** Chains a device's frames pass: inbound when they enter it (a router's pre-routing),
 *  outbound when they leave it (post-routing); empty: none. A port has the same two. */
export interface Filtered { inboundChain: string; outboundChain: string }
export interface Bridge extends Filtered {
  id: string;
  tenant: string;
  name: string;
  vlanAware: boolean;
  subnets: Subnet[];
  /** An external network (the operator's): routers' gateways and floating IPs are on it. */
  external: boolean;
}
/** An IP subnet of a bridge's network, and what its VMs are told about it (DHCP, router advertisements). */
export type Ipv6Mode = 'slaac' | 'dhcpv6-stateless' | 'dhcpv6-stateful';

export interface Subnet {
  cidr: string;
  /** The router's address on it, as DHCP tells VMs (empty: the subnet's first address). */
  gateway: string;
  /** IPv4: the agent of a VM's host answers its DHCP with the port's address. */
  dhcp: boolean;
  /** IPv6 (Neutron's address modes): `slaac`, VMs form their address from the router's
   *  advertisement; `dhcpv6-stateless`, and ask DHCPv6 for DNS; `dhcpv6-stateful`, they ask
   *  DHCPv6 for their address (the port's) too. */
  ipv6Mode: Ipv6Mode;
  dnsServers: string[];
  domain: string;
  /** Static routes for VMs (DHCP option 121). */
  routes: SubnetRoute[];
  /** Addresses for ports created on the bridge without one (empty: the whole subnet). */
  poolStart: string;
  poolEnd: string;
  leaseSeconds: number;
  /** What VMs are told (DHCP option 26); 0: the host's, the underlay's less 50 behind VXLAN. */
  mtu: number;
}
export interface SubnetRoute { destination: string; nextHop: string }
export interface Router extends Filtered {
  id: string;
  tenant: string;
  name: string;
  /** The external network the router's gateway is on (empty: none). */
  externalNetwork: string;
  /** Its gateway port, which the API makes on the external network (read-only). */
  gatewayPort: string;
}
/** An address of an external network mapped one to one to a VM port's address: DNAT in, SNAT out. */
export interface FloatingIp { id: string; tenant: string; network: string; address: string; port: string; portForwards: PortForward[] }
/** An L4 load balancer on a router: what comes to `vip`:`port` (TCP or UDP) from any of the
 *  router's sides goes to one of its members, chosen by `algorithm` among the healthy ones, and
 *  stays with it for the connection's life. */
export interface LoadBalancer {
  id: string; tenant: string; name: string; router: string; vip: string; protocol: 'tcp' | 'udp'; port: number;
  algorithm: LbAlgorithm; members: LbMember[]; monitor: HealthMonitor;
}
export type LbAlgorithm = 'roundRobin' | 'sourceIp' | 'leastConnections';
export interface LbMember { address: string; port: number; weight: number }
/** How members are checked: TCP connect, or HTTP GET of `path` answered with `expectStatus`;
 *  every `intervalSeconds`, each try given `timeoutSeconds`; a member is down after `fall`
 *  failures in a row and up again after `rise` successes. `type` none: every member is up. */
export interface HealthMonitor { type: 'none' | 'tcp' | 'http'; intervalSeconds: number; timeoutSeconds: number; rise: number; fall: number; path: string; expectStatus: number }
/** A member's health as the host that checks it (the host its port is bound on) last wrote it. */
export interface MemberStatus { id: string; tenant: string; loadBalancer: string; address: string; port: number; up: boolean; since: number; transitions: number; host: string }
export const memberStatusId = (loadBalancer: string, address: string, port: number): string => `${loadBalancer}_${address}_${port}`;

/** A block of source NAT's ports on an address of an external network, leased by one host
 *  (MidoNet's model): only that host gives its connections these ports, so that two hosts
 *  never give the same one. The agent leases and gives back; nobody else writes them. */
export interface NatBlock { id: string; tenant: string; network: string; address: string; block: number; host: string }
/** Ports per block, and the first block's first port (below it: the well-known and registered
 *  ports a gateway's own services may use). */
export const NAT_BLOCK_PORTS = 64;
export const NAT_FIRST_PORT = 1024;
export const NAT_BLOCKS = (65536 - NAT_FIRST_PORT) / NAT_BLOCK_PORTS;
export const natBlockId = (network: string, address: string, block: number): string => `${network}_${address}_${block}`;
/** One external port of a floating IP (one mapped to no port) to a VM's address and port. */
export interface PortForward { protocol: 'tcp' | 'udp'; externalPort: number; port: string; internalPort: number }
export interface Port extends Filtered {
  id: string;
  tenant: string;
  name: string;
  device: string;
  mac: string;
  addresses: string[];
  vlan: number;
  trunk: boolean;
  peer: string;
  adminUp: boolean;
  /** The VNI other hosts' tunnels carry its frames with: given by the API, unique. */
  tunnelKey: number;
  /** A bridge port's VM sends only from its MAC and addresses (and the pairs). */
  portSecurity: boolean;
  allowedAddressPairs: AddressPair[];
  /** Rate limits where it is bound (0: none). */
  qos: PortQos;
  /** Security groups of a bridge port; none: no filtering. */
  securityGroups: string[];
}
export interface PortQos { sendKbps: number; receiveKbps: number; burstKbytes: number; newFlowsPerSecond: number }
/** An address (or prefix) a VM may send from besides its own; with a MAC, from that MAC. */
export interface AddressPair { ipAddress: string; macAddress: string }
export interface Route { id: string; tenant: string; router: string; destination: string; nextHop: string; port: string; weight: number }
export interface Host {
  id: string;
  tenant: string;
  name: string;
  underlayAddress: string;
  /** Hex digest of the host's credential (its agent and libvirt hook call the API with it). */
  tokenSha256: string;
}
export interface PortBinding { id: string; tenant: string; host: string; interface: string; vtepAddress: string; vni: number; standby: StandbyBinding[] }
/** Where a binding moves when its host dies: an uplink's other gateway hosts, in order. */
export interface StandbyBinding { host: string; interface: string }
export interface RouterNeighbor { id: string; tenant: string; router: string; address: string; mac: string }
export interface TunnelZone { id: string; tenant: string; name: string; hosts: string[] }
export interface Station { id: string; tenant: string; bridge: string; vlan: number; mac: string; port: string }
export type MigrationState = 'mirroring' | 'committed' | 'aborted' | 'expired';
export interface Migration {
  id: string;
  tenant: string;
  port: string;
  sourceHost: string;
  destinationHost: string;
  destinationInterface: string;
  state: MigrationState;
  begunAt: number;
  deadline: number;
  guestRunningAt: number;
  endedAt: number;
  reason: string;
  markKey: number;
}
export type MirrorDirection = 'in' | 'out' | 'both';
export type SecurityGroupDirection = 'ingress' | 'egress';
export interface SecurityGroupRule {
  direction: SecurityGroupDirection;
  ethertype: 'IPv4' | 'IPv6';
  protocol: 'any' | 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  portMin: number;
  portMax: number;
  icmpType: number;
  remotePrefix: string;
  remoteGroup: string;
}
export interface SecurityGroup { id: string; tenant: string; name: string; rules: SecurityGroupRule[] }
export type ChainAction = 'accept' | 'drop' | 'reject' | 'jump' | 'return' | 'continue';
export type ConnectionStateCondition = '' | 'new' | 'established' | 'related' | 'invalid';
/** A rule of a chain (MidoNet's model): conditions that all hold, each of them inverted when
 *  named in `invert`, and what to do then. An empty, zero or -1 condition holds for all. */
export interface ChainRule {
  action: ChainAction;
  /** jump: the chain to go through; it returns here at its end or at a `return`. */
  jumpTo: string;
  inPort: string;
  outPort: string;
  inPortGroup: string;
  outPortGroup: string;
  sourceMac: string;
  destinationMac: string;
  ethertype: number;
  sourcePrefix: string;
  destinationPrefix: string;
  protocol: number;
  sourcePortMin: number;
  sourcePortMax: number;
  destinationPortMin: number;
  destinationPortMax: number;
  icmpType: number;
  icmpCode: number;
  connectionState: ConnectionStateCondition;
  invert: ChainCondition[];
}
export const CHAIN_CONDITIONS = [
  'inPort', 'outPort', 'inPortGroup', 'outPortGroup', 'sourceMac', 'destinationMac', 'ethertype', 'sourcePrefix', 'destinationPrefix',
  'protocol', 'sourcePorts', 'destinationPorts', 'icmpType', 'icmpCode', 'connectionState',
] as const;
export type ChainCondition = (typeof CHAIN_CONDITIONS)[number];
export interface Chain { id: string; tenant: string; name: string; rules: ChainRule[] }
/** Ports that chains' rules name together (MidoNet's port groups). */
export interface PortGroup { id: string; tenant: string; name: string; ports: string[] }
export interface Mirror { id: string; tenant: string; name: string; port: string; direction: MirrorDirection; toPort: string; match: string }

export interface KindMap {
  tenant: Tenant;
  bridge: Bridge;
  router: Router;
  port: Port;
  route: Route;
  host: Host;
  binding: PortBinding;
  neighbor: RouterNeighbor;
  station: Station;
  tunnelZone: TunnelZone;
  mirror: Mirror;
  migration: Migration;
  securityGroup: SecurityGroup;
  chain: Chain;
  portGroup: PortGroup;
  floatingIp: FloatingIp;
  natBlock: NatBlock;
  loadBalancer: LoadBalancer;
  memberStatus: MemberStatus;
}
export type Kind = keyof KindMap;
export const KINDS: readonly Kind[] = ['tenant', 'bridge', 'router', 'port', 'route', 'host', 'binding', 'neighbor', 'station', 'tunnelZone', 'mirror', 'migration', 'securityGroup', 'chain', 'portGroup', 'floatingIp', 'natBlock', 'loadBalancer', 'memberStatus'];

/** Objects no tenant owns (hosts) belong to this tenant id: only an admin sees them. */
export const ADMIN_TENANT = 'admin';

/** Every field of a kind, with its empty value: what an object is completed with. */
export const EMPTY: { [K in Kind]: Omit<KindMap[K], 'id' | 'tenant'> } = {
  tenant: { name: '', tokenSha256: '' },
  bridge: { name: '', vlanAware: false, inboundChain: '', outboundChain: '', subnets: [], external: false },
  router: { name: '', inboundChain: '', outboundChain: '', externalNetwork: '', gatewayPort: '' },
  port: { name: '', device: '', mac: '', addresses: [], vlan: 0, trunk: false, peer: '', adminUp: true, tunnelKey: 0, portSecurity: true, allowedAddressPairs: [],
    qos: { sendKbps: 0, receiveKbps: 0, burstKbytes: 0, newFlowsPerSecond: 0 }, securityGroups: [], inboundChain: '', outboundChain: '',
  },
  route: { router: '', destination: '', nextHop: '', port: '', weight: 100 },
  host: { name: '', underlayAddress: '', tokenSha256: '' },
  binding: { host: '', interface: '', vtepAddress: '', vni: 0, standby: [] },
  neighbor: { router: '', address: '', mac: '' },
  station: { bridge: '', vlan: 0, mac: '', port: '' },
  tunnelZone: { name: '', hosts: [] },
  mirror: { name: '', port: '', direction: 'both', toPort: '', match: '' },
  securityGroup: { name: '', rules: [] },
  chain: { name: '', rules: [] },
  portGroup: { name: '', ports: [] },
  floatingIp: { network: '', address: '', port: '', portForwards: [] },
  natBlock: { network: '', address: '', block: 0, host: '' },
  loadBalancer: {
    name: '', router: '', vip: '', protocol: 'tcp', port: 0, algorithm: 'roundRobin', members: [],
    monitor: { type: 'none', intervalSeconds: 5, timeoutSeconds: 2, rise: 2, fall: 3, path: '/', expectStatus: 200 },
  },
  memberStatus: { loadBalancer: '', address: '', port: 0, up: false, since: 0, transitions: 0, host: '' },
  migration: {
    port: '', sourceHost: '', destinationHost: '', destinationInterface: '', state: 'mirroring', begunAt: 0, deadline: 0, guestRunningAt: 0, endedAt: 0, reason: '', markKey: 0,
  },
};

/** The id of a router's neighbor entry: one per router and address. */
export const neighborId = (router: string, address: string): string => `${router}_${address}`;
/** The id of a station: one per bridge, VLAN and MAC. */
export const stationId = (bridge: string, vlan: number, mac: string): string => `${bridge}_${vlan}_${mac}`;

/** A stored object: its kind, its fields, and the store revision that last wrote it. */
export interface Stored<K extends Kind = Kind> {
  kind: K;
  version: number;
  value: KindMap[K];
}

export const newId = (): string => randomUUID();

/** A locally administered unicast MAC for a router port, from its id (stable across restarts). */
export function macFromId(id: string): string {
  const hex = id.replace(/-/g, '');
  const bytes = [0x02, ...[0, 2, 4, 6, 8].map((i) => parseInt(hex.slice(i, i + 2), 16) || 0)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A security group rule with every field: what a rule is completed with. */
export const EMPTY_RULE: SecurityGroupRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'any', portMin: 0, portMax: 0, icmpType: -1, remotePrefix: '', remoteGroup: '' };

/** A chain rule with every field: what a rule is completed with. */
export const EMPTY_CHAIN_RULE: ChainRule = {
  action: 'accept', jumpTo: '', inPort: '', outPort: '', inPortGroup: '', outPortGroup: '', sourceMac: '', destinationMac: '', ethertype: 0,
  sourcePrefix: '', destinationPrefix: '', protocol: 0, sourcePortMin: 0, sourcePortMax: 0, destinationPortMin: 0, destinationPortMax: 0,
  icmpType: -1, icmpCode: -1, connectionState: '', invert: [],
};

/** A subnet with every field: what a subnet is completed with. */
export const EMPTY_SUBNET: Subnet = { cidr: '', gateway: '', dhcp: true, ipv6Mode: 'slaac', dnsServers: [], domain: '', routes: [], poolStart: '', poolEnd: '', leaseSeconds: 86400, mtu: 0 };
