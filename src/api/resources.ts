// The tenant API's resources: for each, the kind it stores, the JSON schema of what a client
// may write, and which roles may read and write it. Routes and the OpenAPI document are both
// made from this table.
import { CHAIN_CONDITIONS, Kind, KindMap, LbMember } from '../topology';
import { EVERYONE, HOSTS_TOO, OPERATOR, Role, TENANTS_TOO } from './callers';
import { ObjectOf } from './schema-type';

const name = { type: 'string', maxLength: 64 } as const;
const id = { type: 'string', pattern: '^[0-9a-fA-F-]{36}$' } as const;
const optionalId = { type: 'string', pattern: '^([0-9a-fA-F-]{36})?$' } as const;
const mac = { type: 'string', pattern: '^([0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5})?$' } as const;
const l4Port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
/** The chains a device or port's frames pass, as it enters and as it leaves. */
const chains = {
  inboundChain: { ...optionalId, description: 'a chain for what enters (a router: pre-routing; a port: what enters its device by it)' },
  outboundChain: { ...optionalId, description: 'a chain for what leaves (a router: post-routing; a port: what leaves its device by it)' },
} as const;

const address = { type: 'string', maxLength: 50 } as const;
/** A port's QoS limit (0: none). */
const rate = { type: 'integer', minimum: 0, maximum: 100_000_000 } as const;
/** A bridge's IP subnets: what DHCP and router advertisements tell its VMs. */
const subnets = {
  type: 'array', maxItems: 8, description: 'the network\'s IP subnets; on an IPv4 one with dhcp, each VM\'s host answers its DHCP with its port\'s address',
  items: {
    type: 'object', additionalProperties: false, required: ['cidr'],
    properties: {
      cidr: address, gateway: address, dhcp: { type: 'boolean' },
      ipv6Mode: { type: 'string', enum: ['slaac', 'dhcpv6-stateless', 'dhcpv6-stateful'], description: 'IPv6: how VMs get their address and DNS (router advertisements, and DHCPv6 answered at their host)' },
      dnsServers: { type: 'array', maxItems: 8, items: address },
      domain: { type: 'string', pattern: '^([A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63})*)?$', maxLength: 200 },
      routes: {
        type: 'array', maxItems: 16,
        items: { type: 'object', additionalProperties: false, required: ['destination', 'nextHop'], properties: { destination: address, nextHop: address } },
      },
      poolStart: address, poolEnd: address,
      leaseSeconds: { type: 'integer', minimum: 60, maximum: 31_536_000 },
      mtu: { type: 'integer', minimum: 0, maximum: 9000, description: '0: the host\'s (1500, or the underlay\'s less 50 behind VXLAN)' },
    },
  },
} as const;

export interface Resource {
  path: string;
  kind: Kind;
  /** Who may list and get these (each sees only what `visibleTo` lets it). */
  readers: readonly Role[];
  /** Who may create, change or delete these. */
  writers: readonly Role[];
  properties: Readonly<Record<string, object>>;
  required: readonly string[];
  /** Fields fixed at creation. */
  immutable: readonly string[];
}

export const RESOURCES = [
  {
    path: 'tenants', kind: 'tenant', readers: TENANTS_TOO, writers: OPERATOR, properties: { name }, required: ['name'], immutable: [],
  },
  {
    path: 'bridges', kind: 'bridge', readers: TENANTS_TOO, writers: TENANTS_TOO, properties: { name, vlanAware: { type: 'boolean' }, ...chains, subnets, external: { type: 'boolean', description: 'an external network (the operator\'s): routers\' gateways and floating IPs are on it' } }, required: [], immutable: [],
  },
  {
    path: 'routers', kind: 'router', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: { name, ...chains, externalNetwork: { ...optionalId, description: 'the external network for its gateway: the API makes the gateway port, with an address of the network (empty: none)' } }, required: [], immutable: [],
  },
  {
    path: 'ports', kind: 'port', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: {
      name, device: id, mac, ...chains,
      addresses: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 50 } },
      vlan: { type: 'integer', minimum: 0, maximum: 4094 },
      trunk: { type: 'boolean' },
      peer: optionalId,
      adminUp: { type: 'boolean' },
      portSecurity: { type: 'boolean', description: 'a bridge port\'s VM sends only from its mac and addresses (default true)' },
      qos: {
        type: 'object', additionalProperties: false, description: 'rate limits where the port is bound; 0: none',
        properties: { sendKbps: rate, receiveKbps: rate, burstKbytes: rate, newFlowsPerSecond: rate },
      },
      securityGroups: { type: 'array', maxItems: 16, items: id, description: 'a bridge port\'s security groups; none: no filtering' },
      allowedAddressPairs: {
        type: 'array', maxItems: 16,
        items: {
          type: 'object', additionalProperties: false, required: ['ipAddress'],
          properties: { ipAddress: { type: 'string', maxLength: 50 }, macAddress: mac },
        },
      },
    },
    required: ['device'], immutable: ['device'],
  },
  {
    path: 'routes', kind: 'route', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: {
      router: id, destination: { type: 'string', maxLength: 50 }, nextHop: { type: 'string', maxLength: 50 }, port: optionalId,
      weight: { type: 'integer', minimum: 0, maximum: 65535 },
    },
    required: ['router', 'destination'], immutable: ['router'],
  },
  {
    path: 'bindings', kind: 'binding', readers: EVERYONE, writers: HOSTS_TOO,
    properties: {
      port: id, host: { type: 'string', maxLength: 64 }, interface: { type: 'string', pattern: '^([A-Za-z0-9_.:-]{1,15})?$' },
      vtepAddress: { type: 'string', maxLength: 15 }, vni: { type: 'integer', minimum: 1, maximum: 16777215 },
      standby: {
        type: 'array', maxItems: 4, description: 'where the binding moves, in order, when its host\'s agent dies: the first live one takes it over (an uplink\'s other gateway hosts)',
        items: {
          type: 'object', additionalProperties: false, required: ['host', 'interface'],
          properties: { host: { type: 'string', maxLength: 64 }, interface: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,15}$' } },
        },
      },
    },
    required: ['port'], immutable: ['port'],
  },
  {
    path: 'mirrors', kind: 'mirror', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: { name, port: id, toPort: id, direction: { type: 'string', enum: ['in', 'out', 'both'] }, match: { type: 'string', maxLength: 256 } },
    required: ['port', 'toPort'], immutable: [],
  },
  {
    path: 'security-groups', kind: 'securityGroup', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: {
      name,
      rules: {
        type: 'array', maxItems: 200, description: 'allow rules; without rules given, a new group allows all egress (as Neutron\'s)',
        items: {
          type: 'object', additionalProperties: false, required: ['direction'],
          properties: {
            direction: { type: 'string', enum: ['ingress', 'egress'] },
            ethertype: { type: 'string', enum: ['IPv4', 'IPv6'] },
            protocol: { type: 'string', enum: ['any', 'tcp', 'udp', 'icmp', 'icmpv6'] },
            portMin: { type: 'integer', minimum: 0, maximum: 65535 },
            portMax: { type: 'integer', minimum: 0, maximum: 65535 },
            icmpType: { type: 'integer', minimum: -1, maximum: 255 },
            remotePrefix: { type: 'string', maxLength: 50 },
            remoteGroup: optionalId,
          },
        },
      },
    },
    required: [], immutable: [],
  },
  {
    path: 'chains', kind: 'chain', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: {
      name,
      rules: {
        type: 'array', maxItems: 1000, description: 'in order: the first rule whose conditions all hold decides; a chain that runs out of rules accepts',
        items: {
          type: 'object', additionalProperties: false, required: ['action'],
          properties: {
            action: { type: 'string', enum: ['accept', 'drop', 'reject', 'jump', 'return', 'continue'], description: 'reject: a TCP reset, or ICMP administratively prohibited' },
            jumpTo: optionalId,
            inPort: optionalId, outPort: optionalId, inPortGroup: optionalId, outPortGroup: optionalId,
            sourceMac: mac, destinationMac: mac,
            ethertype: { type: 'integer', minimum: 0, maximum: 65535 },
            sourcePrefix: { type: 'string', maxLength: 50 }, destinationPrefix: { type: 'string', maxLength: 50 },
            protocol: { type: 'integer', minimum: 0, maximum: 255 },
            sourcePortMin: l4Port, sourcePortMax: l4Port, destinationPortMin: l4Port, destinationPortMax: l4Port,
            icmpType: { type: 'integer', minimum: -1, maximum: 255 }, icmpCode: { type: 'integer', minimum: -1, maximum: 255 },
            connectionState: { type: 'string', enum: ['', 'new', 'established', 'related', 'invalid'] },
            invert: { type: 'array', maxItems: CHAIN_CONDITIONS.length, uniqueItems: true, items: { type: 'string', enum: CHAIN_CONDITIONS } },
          },
        },
      },
    },
    required: [], immutable: [],
  },
  {
    path: 'load-balancers', kind: 'loadBalancer', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: {
      name, router: id, vip: { ...address, description: 'the address the router answers for, in one of its ports\' networks (IPv4 or IPv6)' },
      protocol: { type: 'string', enum: ['tcp', 'udp'] }, port: { type: 'integer', minimum: 1, maximum: 65535 },
      algorithm: { type: 'string', enum: ['roundRobin', 'sourceIp', 'leastConnections'] },
      members: {
        type: 'array', maxItems: 64,
        items: {
          type: 'object', additionalProperties: false, required: ['address', 'port'],
          properties: { address, port: { type: 'integer', minimum: 1, maximum: 65535 }, weight: { type: 'integer', minimum: 1, maximum: 256 } },
        },
      },
      monitor: {
        type: 'object', additionalProperties: false, required: ['type'],
        properties: {
          type: { type: 'string', enum: ['none', 'tcp', 'http'] },
          intervalSeconds: { type: 'integer', minimum: 1, maximum: 3600 }, timeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
          rise: { type: 'integer', minimum: 1, maximum: 10 }, fall: { type: 'integer', minimum: 1, maximum: 10 },
          path: { type: 'string', pattern: '^/[!-~]{0,200}$' }, expectStatus: { type: 'integer', minimum: 100, maximum: 599 },
        },
      },
    },
    required: ['router', 'vip', 'port'], immutable: ['router'],
  },
  {
    path: 'floating-ips', kind: 'floatingIp', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: {
      network: id, port: { ...optionalId, description: 'the VM\'s port it maps to (empty: none)' },
      portForwards: {
        type: 'array', maxItems: 256, description: 'with no port: external ports forwarded to VMs\' ports',
        items: {
          type: 'object', additionalProperties: false, required: ['protocol', 'externalPort', 'port', 'internalPort'],
          properties: { protocol: { type: 'string', enum: ['tcp', 'udp'] }, externalPort: { type: 'integer', minimum: 1, maximum: 65535 }, port: id, internalPort: { type: 'integer', minimum: 1, maximum: 65535 } },
        },
      },
    },
    required: ['network'], immutable: ['network'],
  },
  {
    path: 'port-groups', kind: 'portGroup', readers: TENANTS_TOO, writers: TENANTS_TOO,
    properties: { name, ports: { type: 'array', maxItems: 10000, uniqueItems: true, items: id } }, required: [], immutable: [],
  },
  {
    path: 'tunnel-zones', kind: 'tunnelZone', readers: OPERATOR, writers: OPERATOR,
    properties: { name, hosts: { type: 'array', maxItems: 10000, items: { type: 'string', maxLength: 64 } } }, required: ['name'], immutable: [],
  },
  {
    path: 'hosts', kind: 'host', readers: HOSTS_TOO, writers: OPERATOR, properties: { name, underlayAddress: { type: 'string', maxLength: 50 } }, required: ['name'], immutable: [],
  },
] as const satisfies readonly Resource[];

export function bodySchema(resource: Resource, creating: boolean): object {
  return {
    type: 'object', additionalProperties: false, properties: resource.properties,
    required: creating ? resource.required : [],
  };
}

/** A resource's path in the API: `bridges`, `security-groups`, … */
export type ResourcePath = (typeof RESOURCES)[number]['path'];
type ResourceAt<P extends ResourcePath> = Extract<(typeof RESOURCES)[number], { path: P }>;

/** What creating a resource at `P` takes, from the schema that the API checks it with. */
export type CreateBody<P extends ResourcePath> = ObjectOf<ResourceAt<P>['properties'], ResourceAt<P>['required'][number]>;
/** What changing one takes: any of its fields. */
export type UpdateBody<P extends ResourcePath> = Partial<CreateBody<P>>;

/** What the API says of each kind besides what it stores. */
interface Besides {
  host: { alive: boolean };
  binding: { port: string; state: 'up' | 'host-down' };
  loadBalancer: { members: (LbMember & { health: 'up' | 'down' | 'unchecked'; since?: number; transitions?: number; checkedBy?: string })[] };
}
/** A resource at `P` as the API shows it: its stored fields (no token's digest), its version,
 *  and what `Besides` adds. */
export type Shown<P extends ResourcePath, K extends Kind = ResourceAt<P>['kind']> = K extends keyof Besides
  ? Omit<KindMap[K], 'tokenSha256' | keyof Besides[K]> & Besides[K] & { version: number }
  : Omit<KindMap[K], 'tokenSha256'> & { version: number };
