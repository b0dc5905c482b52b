// DHCPv6 (RFC 8415) as a server in the switch reads and writes it: a message type, a
// transaction id, then options, each a code, a length and its bytes.
import { be16 } from './bytes';

export const Dhcpv6Port = { client: 546, server: 547 } as const;
export const Dhcpv6Type = {
  solicit: 1, advertise: 2, request: 3, confirm: 4, renew: 5, rebind: 6, reply: 7, release: 8, decline: 9, informationRequest: 11,
} as const;
export const Dhcpv6Option = {
  clientId: 1, serverId: 2, iaNa: 3, iaAddress: 5, statusCode: 13, rapidCommit: 14, dnsServers: 23, domainList: 24,
} as const;
const HEADER_BYTES = 4;

/** A message's type, transaction id and options (the first of each code), or null when it is
 *  short or an option runs past its end. */
export function parseDhcpv6(b: Uint8Array, at: number, end: number): { type: number; transaction: Uint8Array; options: Map<number, Uint8Array> } | null {
  if (end - at < HEADER_BYTES) return null;
  const options = new Map<number, Uint8Array>();
  for (let o = at + HEADER_BYTES; o < end; ) {
    if (o + 4 > end) return null;
    const [code, length] = [be16(b, o), be16(b, o + 2)];
    if (o + 4 + length > end) return null;
    if (!options.has(code)) options.set(code, b.subarray(o + 4, o + 4 + length));
    o += 4 + length;
  }
  return { type: b[at], transaction: b.subarray(at + 1, at + 4), options };
}

/** A message of `type` with the transaction id and options given, in their order. */
export function emitDhcpv6(type: number, transaction: Uint8Array, options: readonly [number, Uint8Array][]): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + options.reduce((n, [, v]) => n + 4 + v.length, 0));
  out[0] = type;
  out.set(transaction.subarray(0, 3), 1);
  let o = HEADER_BYTES;
  for (const [code, value] of options) {
    out.set([code >>> 8, code & 0xff, value.length >>> 8, value.length & 0xff], o);
    out.set(value, o + 4);
    o += 4 + value.length;
  }
  return out;
}

/** A domain name in DNS's wire form (RFC 1035 3.1), as the domain list option holds it. */
export function dnsName(name: string): Uint8Array {
  const labels = name.split('.').filter(Boolean).map((l) => new TextEncoder().encode(l));
  return Uint8Array.from([...labels.flatMap((l) => [l.length, ...l]), 0]);
}
