// The pcapng capture file format (draft-ietf-opsawg-pcapng): a section header, one interface
// (Ethernet, microsecond timestamps), then one enhanced packet block per frame, with its
// direction (epb_flags) and, for a frame the switch dropped, a comment naming the reason.
// Little-endian, as the byte-order magic says; readers take either.
import { concatBytes } from './bytes';

const SECTION_HEADER = 0x0a0d0d0a;
const INTERFACE_DESCRIPTION = 1;
const ENHANCED_PACKET = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
/** Option codes: opt_comment (any block), if_name (an interface's), epb_flags (a packet's). */
const Option = { comment: 1, ifName: 2, epbFlags: 2 } as const;

/** Which way a frame went, as epb_flags says it: received by the port (from its VM), or sent to it. */
export const PcapngDirection = { inbound: 1, outbound: 2 } as const;

export interface PcapngPacket {
  /** Microseconds since the Unix epoch. */
  timeUs: number;
  frame: Uint8Array;
  direction: number;
  comment?: string;
}

/** The section header and the one interface every packet is on, named `name`. */
export function pcapngHeader(name: string): Uint8Array {
  const section = block(SECTION_HEADER, 16, (v) => {
    v.setUint32(8, BYTE_ORDER_MAGIC, true);
    v.setUint16(12, 1, true); // version 1.0
    v.setUint16(14, 0, true);
    v.setBigInt64(16, -1n, true); // section length: not given
  }, []);
  const iface = block(INTERFACE_DESCRIPTION, 8, (v) => {
    v.setUint16(8, LINKTYPE_ETHERNET, true);
    v.setUint32(12, 0, true); // snap length: whole frames
  }, [[Option.ifName, new TextEncoder().encode(name)]]);
  return concatBytes([section, iface]);
}

/** One enhanced packet block. */
export function pcapngPacket(p: PcapngPacket): Uint8Array {
  const options: [number, Uint8Array][] = [];
  if (p.comment) options.push([Option.comment, new TextEncoder().encode(p.comment)]);
  const flags = new Uint8Array(4);
  new DataView(flags.buffer).setUint32(0, p.direction, true);
  options.push([Option.epbFlags, flags]);
  const padded = pad4(p.frame.length);
  return block(ENHANCED_PACKET, 20 + padded, (v, bytes) => {
    const time = BigInt(Math.round(p.timeUs));
    v.setUint32(8, 0, true); // interface 0
    v.setUint32(12, Number(time >> 32n), true);
    v.setUint32(16, Number(time & 0xffffffffn), true);
    v.setUint32(20, p.frame.length, true);
    v.setUint32(24, p.frame.length, true);
    bytes.set(p.frame, 28);
  }, options);
}

/** A block: type, total length, `body` bytes after them (written by `fill`), options, the
 *  total length again. */
function block(type: number, body: number, fill: (v: DataView, bytes: Uint8Array) => void, options: [number, Uint8Array][]): Uint8Array {
  const optionBytes = options.length === 0 ? 0 : options.reduce((n, [, value]) => n + 4 + pad4(value.length), 0) + 4;
  const total = 8 + body + optionBytes + 4;
  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  fill(v, bytes);
  let at = 8 + body;
  for (const [code, value] of options) {
    v.setUint16(at, code, true);
    v.setUint16(at + 2, value.length, true);
    bytes.set(value, at + 4);
    at += 4 + pad4(value.length);
  }
  if (options.length > 0) at += 4; // opt_endofopt: zeros
  v.setUint32(at, total, true);
  return bytes;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}


/** The length of the whole block at the start of `bytes`, or 0 when it has not all come yet. */
export function pcapngBlockLength(bytes: Uint8Array): number {
  if (bytes.length < 8) return 0;
  const total = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true);
  return bytes.length >= total ? total : 0;
}
