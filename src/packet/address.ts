// Text forms of link and network addresses, for the control plane and tests (not the hot path).

export function parseMac(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`'${text}' is not a MAC address (expected six hex bytes, e.g. 52:54:00:12:34:56)`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(b: Uint8Array, at = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[at + i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function parseIpv4(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`'${text}' is not an IPv4 address`);
  }
  return Uint8Array.from(parts.map(Number));
}

export function formatIpv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

export function parseIpv6(text: string): Uint8Array {
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`'${text}' is not an IPv6 address`);
  const words = (s: string) => (s === '' ? [] : s.split(':'));
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) throw new Error(`'${text}' is not an IPv6 address`);
  const all = [...head, ...Array<string>(fill).fill('0'), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw new Error(`'${text}' is not an IPv6 address`);
    const v = parseInt(w, 16);
    out[i * 2] = v >>> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function formatIpv6(b: Uint8Array, at = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[at + i * 2] << 8) | b[at + i * 2 + 1]);
  // RFC 5952: compress the longest run (of two or more) of zero words.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** An IPv6 address of a /64 prefix and the modified EUI-64 interface identifier of a MAC (RFC
 *  4291, appendix A): what SLAAC forms (RFC 4862). */
export function eui64Address(prefix: Uint8Array, mac: Uint8Array): Uint8Array {
  return Uint8Array.from([...prefix.subarray(0, 8), mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]]);
}

const LINK_LOCAL_PREFIX = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0]);

/** The link-local address (fe80::/64) of a MAC. */
export function linkLocalOf(mac: Uint8Array): Uint8Array {
  return eui64Address(LINK_LOCAL_PREFIX, mac);
}
