// Frames written out in tests as hex dumps (tcpdump -xx style): whitespace is ignored.
export function hex(dump: string): Uint8Array {
  const digits = dump.replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`bad hex dump: ${dump}`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
