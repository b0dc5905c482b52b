// What a flow does to its frames. The slow path returns a list of actions; the cache stores
// an interned program id, and the fast path runs the program (execute.ts) with no objects.
import { parseIpv4, parseIpv6, parseMac } from '../packet';

export type Action =
  | { type: 'output'; port: number }
  | { type: 'push_vlan'; vid: number; pcp?: number }
  | { type: 'pop_vlan' }
  /** Rewrites both MACs, as a router does toward its next hop. */
  | { type: 'set_eth'; source: string; destination: string }
  /** Decrements the IPv4 TTL (checksum updated) or the IPv6 hop limit; drops at 1. */
  | { type: 'dec_ttl' }
  /** Rewrites an IPv4 address (NAT), with the IPv4 header's and TCP's or UDP's checksums
   *  updated (RFC 1624), also when the checksum is left to the device (a partial one).
   *  `quoted`: the address in the packet an ICMP error quotes instead, with the quote's
   *  checksums and the ICMP message's (RFC 5508 4.2). */
  | { type: 'set_ipv4'; field: 'source' | 'destination'; address: string; quoted?: boolean }
  /** Rewrites an IPv6 address (a load balancer's), with TCP's, UDP's or ICMPv6's checksum
   *  updated (their pseudo-header holds it), a partial one as such. */
  | { type: 'set_ipv6'; field: 'source' | 'destination'; address: string }
  /** Rewrites a TCP or UDP port (NAT, port forwarding), or an ICMP echo's identifier (either
   *  field), with the checksum updated (a partial one needs nothing: ports are not in the
   *  pseudo-header). `quoted`: the port in the packet an ICMP error quotes instead, with the
   *  quote's checksum and the ICMP message's. */
  | { type: 'set_l4_port'; field: 'source' | 'destination'; port: number; quoted?: boolean }
  /** Into the VXLAN tunnel to another host: `key` (the VNI) names the port there. */
  | { type: 'tunnel'; key: number; remote: string }
  | { type: 'drop'; reason: DropReason };

/** Why a frame was not forwarded: the label of the `drops` counter it lands in. */
export const DROP_REASONS = [
  'malformed', 'oversize', 'noOutput', 'sourceIsMulticast', 'portDown', 'queueFull',
  'slowPathFailed', 'txError', 'offloadUnsupported', 'noBuffer', 'vlanMismatch', 'rxQueueFull',
  'unbound', 'noRoute', 'ttlExpired', 'notForRouter', 'neighborUnresolved', 'loop',
  'noTunnel', 'unknownTunnelPeer', 'unknownTunnelKey', 'mirrorDestination',
  'heldTooLong', 'readAtSource', 'migrationMark',
  'spoofedMac', 'spoofedIp', 'spoofedArp', 'spoofedNeighbor', 'routerAdvertisement',
  'rateLimited', 'newFlowLimited', 'securityGroup', 'conntrackFull', 'chain', 'rejected', 'serviceLimited',
  'natExhausted', 'natUntranslatable', 'loadBalancerEmpty',
  'workerFailed',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export const dropCode = (reason: DropReason): number => DROP_REASONS.indexOf(reason);

export const Op = { output: 1, pushVlan: 2, popVlan: 3, drop: 4, setEth: 5, decTtl: 6, data: 7, tunnel: 8, setIpv4Source: 9, setIpv4Destination: 10,
  setQuotedIpv4Source: 11, setQuotedIpv4Destination: 12, setL4Source: 13, setL4Destination: 14, setQuotedL4Source: 15, setQuotedL4Destination: 16,
  setIpv6Source: 17, setIpv6Destination: 18,
} as const;

/** Interned programs: an Int32Array of (op, argument) pairs per distinct action list; an
 *  action that needs more than one argument is followed by `data` pairs carrying the rest.
 *  The flows that use a program hold it; one no flow holds is forgotten, and its id given to
 *  the next new program (NAT's flows each have their own: without this the table would grow
 *  with every connection). */
export class ActionTable {
  private readonly ids = new Map<string, number>();
  readonly programs: Int32Array[] = [];
  readonly lists: Action[][] = [];
  private readonly names: string[] = [];
  /** Flows holding each program. */
  private readonly holders: number[] = [];
  private readonly freeIds: number[] = [];

  /** The id of the program of `actions`, made if need be, held for the caller until it
   *  releases it (flows that keep it hold it too). */
  intern(actions: readonly Action[]): number {
    const name = JSON.stringify(actions);
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.programs.length;
      this.programs[id] = Int32Array.from(actions.flatMap(encode));
      this.lists[id] = [...actions];
      this.names[id] = name;
      this.holders[id] = 0;
      this.ids.set(name, id);
    }
    this.holders[id]++;
    return id;
  }

  hold(id: number): void {
    this.holders[id]++;
  }

  release(id: number): void {
    if (--this.holders[id] === 0) this.forget(id);
  }

  /** Programs known now. */
  get size(): number {
    return this.ids.size;
  }

  private forget(id: number): void {
    this.ids.delete(this.names[id]);
    this.programs[id] = FORGOTTEN;
    this.lists[id] = [];
    this.freeIds.push(id);
  }
}

const FORGOTTEN = new Int32Array(0);

function encode(action: Action): number[] {
  switch (action.type) {
    case 'output':
      return [Op.output, action.port];
    case 'push_vlan':
      return [Op.pushVlan, ((action.pcp ?? 0) << 13) | (action.vid & 0x0fff)];
    case 'pop_vlan':
      return [Op.popVlan, 0];
    case 'set_eth': {
      // Twelve bytes, destination first as on the wire, in three words.
      const b = [...parseMac(action.destination), ...parseMac(action.source)];
      const word = (i: number) => (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
      return [Op.setEth, word(0), Op.data, word(4), Op.data, word(8)];
    }
    case 'dec_ttl':
      return [Op.decTtl, 0];
    case 'set_ipv4': {
      const a = parseIpv4(action.address);
      const op = action.quoted ? (action.field === 'source' ? Op.setQuotedIpv4Source : Op.setQuotedIpv4Destination) : action.field === 'source' ? Op.setIpv4Source : Op.setIpv4Destination;
      return [op, (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]];
    }
    case 'set_ipv6': {
      const a = parseIpv6(action.address);
      const word = (i: number) => (a[i] << 24) | (a[i + 1] << 16) | (a[i + 2] << 8) | a[i + 3];
      return [action.field === 'source' ? Op.setIpv6Source : Op.setIpv6Destination, word(0), Op.data, word(4), Op.data, word(8), Op.data, word(12)];
    }
    case 'set_l4_port': {
      const op = action.quoted ? (action.field === 'source' ? Op.setQuotedL4Source : Op.setQuotedL4Destination) : action.field === 'source' ? Op.setL4Source : Op.setL4Destination;
      return [op, action.port];
    }
    case 'tunnel': {
      const remote = parseIpv4(action.remote);
      return [Op.tunnel, action.key, Op.data, ((remote[0] << 24) | (remote[1] << 16) | (remote[2] << 8) | remote[3]) | 0];
    }
    case 'drop':
      return [Op.drop, dropCode(action.reason)];
  }
}

/** Text form for flow dumps, in the spirit of ovs-ofctl: `push_vlan:100,output:2,output:3`. */
export function formatActions(actions: readonly Action[]): string {
  if (actions.length === 0) return 'drop';
  return actions
    .map((a) => {
      switch (a.type) {
        case 'output':
          return `output:${a.port}`;
        case 'push_vlan':
          return `push_vlan:${a.vid}`;
        case 'pop_vlan':
          return 'pop_vlan';
        case 'set_eth':
          return `set_eth(${a.source}->${a.destination})`;
        case 'dec_ttl':
          return 'dec_ttl';
        case 'set_ipv4':
          return `set_ipv4(${a.quoted ? 'quoted_' : ''}${a.field === 'source' ? 'src' : 'dst'}=${a.address})`;
        case 'set_ipv6':
          return `set_ipv6(${a.field === 'source' ? 'src' : 'dst'}=${a.address})`;
        case 'set_l4_port':
          return `set_l4_port(${a.quoted ? 'quoted_' : ''}${a.field === 'source' ? 'src' : 'dst'}=${a.port})`;
        case 'tunnel':
          return `tunnel(key=${a.key},dst=${a.remote})`;
        case 'drop':
          return `drop(${a.reason})`;
      }
    })
    .join(',');
}
