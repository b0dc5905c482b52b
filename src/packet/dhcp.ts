// DHCP messages (RFC 2131): the BOOTP header, the magic cookie, then options (RFC 2132) as
// code, length, value. What a server reads of a client's message and writes in its answer.
import { be16, be32, setBe16, setBe32 } from './bytes';
import { HeaderView } from './view';

export const DhcpMessageType = { discover: 1, offer: 2, request: 3, decline: 4, ack: 5, nak: 6, release: 7, inform: 8 } as const;
export const DhcpOption = {
  pad: 0, subnetMask: 1, router: 3, dnsServers: 6, domainName: 15, interfaceMtu: 26, broadcastAddress: 28, requestedAddress: 50, leaseTime: 51,
  messageType: 53, serverId: 54, parameterList: 55, renewalTime: 58, rebindingTime: 59, classlessRoutes: 121, end: 255,
} as const;
export const BootpOp = { request: 1, reply: 2 } as const;
/** The broadcast bit of `flags`: the client cannot take a unicast answer yet. */
export const DHCP_BROADCAST_FLAG = 0x8000;

const field = { op: 0, htype: 1, hlen: 2, xid: 4, flags: 10, ciaddr: 12, yiaddr: 16, siaddr: 20, giaddr: 24, chaddr: 28, cookie: 236 } as const;
const MAGIC_COOKIE = 0x63825363;
/** The fixed part (BOOTP's 236 bytes) and the cookie: where options start. */
export const DHCP_FIXED_BYTES = 240;
const ETHERNET_HTYPE = 1;

export class DhcpMessage extends HeaderView {
  protected check(): string | null {
    if (this.available < DHCP_FIXED_BYTES) return `${this.available} bytes is shorter than a DHCP message`;
    if (be32(this.buffer, this.offset + field.cookie) !== MAGIC_COOKIE) return 'no DHCP magic cookie (a plain BOOTP message)';
    if (this.buffer[this.offset + field.htype] !== ETHERNET_HTYPE || this.buffer[this.offset + field.hlen] !== 6) return 'not an Ethernet client';
    return null;
  }
  get op(): number {
    return this.buffer[this.offset + field.op];
  }
  get xid(): number {
    return be32(this.buffer, this.offset + field.xid);
  }
  get flags(): number {
    return be16(this.buffer, this.offset + field.flags);
  }
  get clientAddressAt(): number {
    return this.offset + field.ciaddr;
  }
  get clientMacAt(): number {
    return this.offset + field.chaddr;
  }
  /** An option's value (a view into the message), or null; a malformed option list ends the search. */
  option(code: number): Uint8Array | null {
    let at = this.offset + DHCP_FIXED_BYTES;
    while (at < this.end) {
      const c = this.buffer[at];
      if (c === DhcpOption.end) return null;
      if (c === DhcpOption.pad) {
        at++;
        continue;
      }
      if (at + 2 > this.end) return null;
      const length = this.buffer[at + 1];
      if (at + 2 + length > this.end) return null;
      if (c === code) return this.buffer.subarray(at + 2, at + 2 + length);
      at += 2 + length;
    }
    return null;
  }
  /** The message type (option 53), or 0 without one. */
  get messageType(): number {
    const value = this.option(DhcpOption.messageType);
    return value && value.length === 1 ? value[0] : 0;
  }
}

export interface DhcpReplyRepr {
  xid: number;
  flags: number;
  clientAddress: Uint8Array;
  yourAddress: Uint8Array;
  serverAddress: Uint8Array;
  clientMac: Uint8Array;
  /** In order, each code with its value; the end option is added. */
  options: readonly (readonly [number, Uint8Array])[];
}

export function dhcpReplyLength(repr: DhcpReplyRepr): number {
  return DHCP_FIXED_BYTES + repr.options.reduce((n, [, value]) => n + 2 + value.length, 0) + 1;
}

/** Writes a BOOTREPLY at b[at..] (zeroed bytes are left as they are); returns where it ends. */
export function emitDhcpReply(b: Uint8Array, at: number, repr: DhcpReplyRepr): number {
  b[at + field.op] = BootpOp.reply;
  b[at + field.htype] = ETHERNET_HTYPE;
  b[at + field.hlen] = 6;
  setBe32(b, at + field.xid, repr.xid);
  setBe16(b, at + field.flags, repr.flags);
  b.set(repr.clientAddress, at + field.ciaddr);
  b.set(repr.yourAddress, at + field.yiaddr);
  b.set(repr.serverAddress, at + field.siaddr);
  b.set(repr.clientMac, at + field.chaddr);
  setBe32(b, at + field.cookie, MAGIC_COOKIE);
  let o = at + DHCP_FIXED_BYTES;
  for (const [code, value] of repr.options) {
    b[o] = code;
    b[o + 1] = value.length;
    b.set(value, o + 2);
    o += 2 + value.length;
  }
  b[o] = DhcpOption.end;
  return o + 1;
}
