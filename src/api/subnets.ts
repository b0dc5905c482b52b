// A bridge's IP subnets as the API takes them (completed, each address in its place, no two
// overlapping), and its ports' addresses from them, as Neutron's IPAM gives fixed IPs: DHCP
// then only tells a VM its port's address.
import { contains, eui64Address, formatAddress, maskOf, networkOf, parseAddress, parseMac, parsePrefix, Prefix } from '../packet';
import { Bridge, EMPTY_SUBNET, Port, Subnet, TopologyStore } from '../topology';
import { ApiError } from './rules';

/** Completes and checks a bridge's subnets; fills in each gateway (the first address). */
export function checkSubnets(bridge: Bridge): void {
  bridge.subnets = bridge.subnets.map((s) => ({ ...EMPTY_SUBNET, ...s }));
  const prefixes: Prefix[] = [];
  for (const [i, subnet] of bridge.subnets.entries()) {
    const field = (name: string) => `subnets/${i}/${name}`;
    const invalid = (name: string, message: string) => new ApiError(400, 'INVALID_VALUE', message, field(name));
    const prefix = parse(() => parsePrefix(subnet.cidr), field('cidr'), `'${subnet.cidr}' is not a prefix such as 10.0.0.0/24`);
    const bits = prefix.address.length * 8;
    if (prefix.length > bits - 2 || prefix.length < 8) throw invalid('cidr', `a subnet's prefix length is from 8 to ${bits - 2}`);
    const network = networkOf(prefix);
    if (network.some((b, k) => b !== prefix.address[k])) throw invalid('cidr', `host bits are set: the subnet is ${formatAddress(network)}/${prefix.length}`);
    if (prefixes.some((p) => p.address.length === prefix.address.length && (contains(p, prefix.address) || contains(prefix, p.address)))) throw invalid('cidr', 'it overlaps another subnet of the bridge');
    prefixes.push(prefix);
    const inside = (name: 'gateway' | 'poolStart' | 'poolEnd', text: string): Uint8Array => {
      const address = parse(() => parseAddress(text), field(name), `'${text}' is not an address`);
      if (!contains(prefix, address)) throw invalid(name, `${text} is not in ${subnet.cidr}`);
      return address;
    };
    subnet.gateway ||= formatAddress(offset(prefix.address, 1));
    inside('gateway', subnet.gateway);
    if (subnet.poolStart || subnet.poolEnd) {
      if (!subnet.poolStart || !subnet.poolEnd) throw invalid(subnet.poolStart ? 'poolEnd' : 'poolStart', 'a pool has a start and an end');
      if (compare(inside('poolStart', subnet.poolStart), inside('poolEnd', subnet.poolEnd)) > 0) throw invalid('poolEnd', 'the pool ends before it starts');
    }
    subnet.dnsServers.forEach((d, k) => parse(() => parseAddress(d), field(`dnsServers/${k}`), `'${d}' is not an address`));
    subnet.routes.forEach((r, k) => {
      parse(() => parsePrefix(r.destination), field(`routes/${k}/destination`), `'${r.destination}' is not a prefix`);
      const hop = parse(() => parseAddress(r.nextHop), field(`routes/${k}/nextHop`), `'${r.nextHop}' is not an address`);
      if (!contains(prefix, hop)) throw invalid(`routes/${k}/nextHop`, `the next hop ${r.nextHop} is not in ${subnet.cidr}`);
    });
    if (subnet.dhcp && prefix.address.length === 16) subnet.dhcp = false; // IPv6 says ipv6Mode
    if (subnet.ipv6Mode !== 'slaac' && prefix.address.length === 4) throw invalid('ipv6Mode', 'an IPv4 subnet has no IPv6 mode');
    if (subnet.ipv6Mode !== 'slaac' && prefix.length !== 64) throw invalid('ipv6Mode', 'DHCPv6 is served on a /64');
  }
}

/** The addresses a bridge port is given, as Neutron's IPAM gives fixed IPs: on an IPv4 DHCP
 *  subnet, a port with no IPv4 address gets the pool's first address no port has (nor the
 *  gateway), and a full pool is refused; on an IPv6 /64, a port with a MAC gets the address
 *  SLAAC will form from it, so that port security lets it send from there. */
export async function addressFromPool(store: TopologyStore, port: Port, bridge: Bridge): Promise<void> {
  if (port.peer) return;
  const has = (prefix: Prefix) => port.addresses.some((a) => contains(prefix, parsePrefix(a).address));
  for (const subnet of bridge.subnets.filter((s) => s.cidr.includes(':'))) {
    const prefix = parsePrefix(subnet.cidr);
    if (prefix.length === 64 && port.mac && !has(prefix)) port.addresses = [...port.addresses, formatAddress(eui64Address(prefix.address, parseMac(port.mac)))];
  }
  const subnet = bridge.subnets.find((s) => s.dhcp);
  if (!subnet || port.addresses.some((a) => !a.includes(':'))) return;
  const taken = new Set<string>();
  for (const p of await store.list('port')) if (p.value.device === bridge.id) for (const a of p.value.addresses) taken.add(a.split('/')[0]);
  const address = firstFree(subnet, taken);
  if (!address) throw new ApiError(409, 'POOL_EXHAUSTED', `every address of ${subnet.cidr}'s pool is taken`, 'addresses');
  port.addresses = [address, ...port.addresses];
}

/** The first address of a subnet's pool (else of the whole subnet) that is not taken, nor the
 *  gateway; null when there is none. */
export function firstFree(subnet: Subnet, taken: ReadonlySet<string>): string | null {
  const prefix = parsePrefix(subnet.cidr);
  const first = subnet.poolStart ? parseAddress(subnet.poolStart) : offset(prefix.address, 1);
  const last = subnet.poolEnd ? parseAddress(subnet.poolEnd) : offset(broadcastOf(prefix), -1);
  for (let address = first; compare(address, last) <= 0; address = offset(address, 1)) {
    const text = formatAddress(address);
    if (text !== subnet.gateway && !taken.has(text)) return text;
  }
  return null;
}

function parse<T>(f: () => T, field: string, message: string): T {
  try {
    return f();
  } catch {
    throw new ApiError(400, 'INVALID_VALUE', message, field);
  }
}

/** The prefix's last address (all host bits set). */
function broadcastOf(prefix: Prefix): Uint8Array {
  const mask = maskOf(prefix);
  return networkOf(prefix).map((b, k) => b | (~mask[k] & 0xff));
}

/** The address `n` after (or before) this one, IPv4 (a 32-bit sum) or IPv6 (its last 32 bits). */
function offset(address: Uint8Array, n: number): Uint8Array {
  const out = address.slice();
  const at = out.length - 4;
  const value = ((out[at] << 24) | (out[at + 1] << 16) | (out[at + 2] << 8) | out[at + 3]) >>> 0;
  const next = (value + n) >>> 0;
  out.set([next >>> 24, (next >>> 16) & 0xff, (next >>> 8) & 0xff, next & 0xff], at);
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return 0;
}
