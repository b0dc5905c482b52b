// IPv4 and IPv6 prefixes (10.0.0.0/24, 2001:db8::/64) for routes and router port addresses.
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address';

export interface Prefix {
  address: Uint8Array;
  length: number;
}

/** An address, or an address with a prefix length ('/32' or '/128' when none is written). */
export function parsePrefix(text: string): Prefix {
  const [addressText, lengthText, extra] = text.split('/');
  if (extra !== undefined) throw new Error(`'${text}' is not an address/prefix-length`);
  const address = addressText.includes(':') ? parseIpv6(addressText) : parseIpv4(addressText);
  const most = address.length * 8;
  const length = lengthText === undefined ? most : Number(lengthText);
  if (!/^\d{1,3}$/.test(lengthText ?? '0') || length > most) throw new Error(`'${text}' has a prefix length that is not 0 to ${most}`);
  return { address, length };
}

export function parseAddress(text: string): Uint8Array {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

export function formatAddress(b: Uint8Array): string {
  return b.length === 4 ? formatIpv4(b) : formatIpv6(b);
}

/** Whether `address` is inside `prefix` (of the same family). */
export function contains(prefix: Prefix, address: Uint8Array): boolean {
  if (prefix.address.length !== address.length) return false;
  let bits = prefix.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((prefix.address[i] & mask) !== (address[i] & mask)) return false;
  }
  return true;
}

export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The prefix's netmask, as many bytes as its address (255.255.255.0 for a /24). */
export function maskOf(prefix: Prefix): Uint8Array {
  return prefix.address.map((_, k) => (0xff << (8 - Math.max(0, Math.min(8, prefix.length - k * 8)))) & 0xff);
}

/** The prefix's network address: its address with the host bits cleared. */
export function networkOf(prefix: Prefix): Uint8Array {
  const mask = maskOf(prefix);
  return prefix.address.map((b, k) => b & mask[k]);
}
