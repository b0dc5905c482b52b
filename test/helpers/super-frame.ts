// A TCP GSO super-frame behind its vnet header, as a tap with TSO hands one over.
import {
  emitEthernet, emitIpv4, emitIpv6, emitTcp, emitVnetHeader, EtherType, IpProtocol, parseIpv4, parseIpv6, parseMac, Segmenter,
  TcpFlag, VnetFlag, VnetGso,
} from '../../src/packet';

export interface SuperFrameShape {
  ipv6?: boolean;
  payload?: number;
  mss?: number;
  flags?: number;
  sequence?: number;
  sourcePort?: number;
}

export function superFrame({ ipv6 = false, payload = 2500, mss = 1000, flags = TcpFlag.ack | TcpFlag.psh | TcpFlag.cwr, sequence = 0xfffffc00, sourcePort = 40000 }: SuperFrameShape = {}): Uint8Array {
  const b = new Uint8Array(10 + 14 + (ipv6 ? 40 : 20) + 20 + payload);
  const l4 = 14 + (ipv6 ? 40 : 20);
  emitVnetHeader(b, 0, {
    flags: VnetFlag.needsChecksum, gsoType: ipv6 ? VnetGso.tcpv6 : VnetGso.tcpv4, hdrLen: l4 + 20, gsoSize: mss, csumStart: l4, csumOffset: 16,
  });
  let at = emitEthernet(b, 10, { destination: parseMac('02:00:00:00:00:02'), source: parseMac('02:00:00:00:00:01'), ethertype: ipv6 ? EtherType.ipv6 : EtherType.ipv4 });
  if (ipv6) {
    at = emitIpv6(b, at, { trafficClass: 0, flowLabel: 7, nextHeader: IpProtocol.tcp, hopLimit: 64, source: parseIpv6('fd00::1'), destination: parseIpv6('fd00::2'), payloadLength: 20 + payload });
  } else {
    at = emitIpv4(b, at, { dscp: 0, ecn: 0, identification: 100, dontFragment: true, ttl: 64, protocol: IpProtocol.tcp, source: parseIpv4('10.0.0.1'), destination: parseIpv4('10.0.0.2'), payloadLength: 20 + payload });
  }
  at = emitTcp(b, at, { sourcePort, destinationPort: 5201, sequence, acknowledgment: 1, flags, window: 512 });
  for (let i = 0; i < payload; i++) b[at + i] = i % 251;
  return b;
}

/** The segments a Segmenter cuts a super-frame (vnet header first) into, each whole: its
 *  headers as written, then its payload from the super-frame; with the bytes written. */
export function cutSuperFrame(frame: Uint8Array): { count: number; found: Uint8Array[]; needed: number } {
  const segmenter = new Segmenter();
  const needed = segmenter.bytesNeeded(frame, 0, frame.length);
  const out = new Uint8Array(needed);
  const found: Uint8Array[] = [];
  const count = segmenter.segment(frame, 0, frame.length, out, 0, (at, length, payloadAt, payloadLength) => {
    const segment = new Uint8Array(length + payloadLength);
    segment.set(out.subarray(at, at + length));
    segment.set(frame.subarray(payloadAt, payloadAt + payloadLength), length);
    found.push(segment);
  });
  return { count, found, needed };
}
