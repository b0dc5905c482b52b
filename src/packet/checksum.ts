// The Internet checksum (RFC 1071), its pseudo-headers (RFC 768, RFC 793, RFC 8200 §8.1) and
// its incremental update (RFC 1624, eqn. 3).

/** sums[i] = onesComplementSum of the i-th `chunk` bytes of [start, end) (the last may be
 *  shorter): a payload's sums per segment at once. The native addon has a faster one. */
export type ChunkSums = (b: Uint8Array, start: number, end: number, chunk: number, sums: Uint32Array) => void;

export const chunkSums: ChunkSums = (b, start, end, chunk, sums) => {
  for (let i = 0, at = start; at < end; i++, at += chunk) sums[i] = onesComplementSum(b, at, Math.min(at + chunk, end));
};

/** One's-complement sum of bytes [start, end), folded to 16 bits, added to `initial`. */
export function onesComplementSum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  return foldSum(sum);
}

/** A sum of 16-bit words (and of folded sums) folded to 16 bits, the carries added back. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum field's value: the complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~sum & 0xffff;
}

/** Sum of the IPv4 pseudo-header: source, destination, zero+protocol, L4 length. */
export function ipv4PseudoSum(b: Uint8Array, ipOffset: number, protocol: number, l4Length: number): number {
  return onesComplementSum(b, ipOffset + 12, ipOffset + 20, protocol + l4Length);
}

/** Sum of the IPv6 pseudo-header: source, destination, upper-layer length, next header. */
export function ipv6PseudoSum(b: Uint8Array, ipOffset: number, nextHeader: number, l4Length: number): number {
  const lengthSum = (l4Length >>> 16) + (l4Length & 0xffff);
  return onesComplementSum(b, ipOffset + 8, ipOffset + 40, nextHeader + lengthSum);
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') when one 16-bit word changes from m to m'. */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  return ~foldSum((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}
