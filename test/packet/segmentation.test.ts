import test from 'ava';
import {
  emitEthernet, emitIpv4, emitIpv6, emitTcp, emitVnetHeader, EtherType, IpProtocol, ipv4PseudoSum, Ipv4Packet, ipv6PseudoSum,
  Ipv6Packet, parseIpv4, parseIpv6, parseMac, Segmenter, TcpFlag, TcpSegment, VnetFlag, VnetGso,
} from '../../src/packet';

const PAYLOAD = 2500;
const MSS = 1000;

function superFrame(ipv6: boolean): Uint8Array {
  const b = new Uint8Array(10 + 14 + (ipv6 ? 40 : 20) + 20 + PAYLOAD);
  const l4 = 14 + (ipv6 ? 40 : 20);
  emitVnetHeader(b, 0, {
    flags: VnetFlag.needsChecksum, gsoType: ipv6 ? VnetGso.tcpv6 : VnetGso.tcpv4, hdrLen: l4 + 20, gsoSize: MSS, csumStart: l4, csumOffset: 16,
  });
  let at = emitEthernet(b, 10, { destination: parseMac('02:00:00:00:00:02'), source: parseMac('02:00:00:00:00:01'), ethertype: ipv6 ? EtherType.ipv6 : EtherType.ipv4 });
  if (ipv6) {
    at = emitIpv6(b, at, { trafficClass: 0, flowLabel: 7, nextHeader: IpProtocol.tcp, hopLimit: 64, source: parseIpv6('fd00::1'), destination: parseIpv6('fd00::2'), payloadLength: 20 + PAYLOAD });
  } else {
    at = emitIpv4(b, at, { dscp: 0, ecn: 0, identification: 100, dontFragment: true, ttl: 64, protocol: IpProtocol.tcp, source: parseIpv4('10.0.0.1'), destination: parseIpv4('10.0.0.2'), payloadLength: 20 + PAYLOAD });
  }
  at = emitTcp(b, at, { sourcePort: 40000, destinationPort: 5201, sequence: 0xfffffc00, acknowledgment: 1, flags: TcpFlag.ack | TcpFlag.psh | TcpFlag.cwr, window: 512 });
  for (let i = 0; i < PAYLOAD; i++) b[at + i] = i % 251;
  return b;
}

function segments(ipv6: boolean) {
  const frame = superFrame(ipv6);
  const segmenter = new Segmenter();
  const needed = segmenter.bytesNeeded(frame, 0, frame.length);
  const out = new Uint8Array(needed);
  const found: Uint8Array[] = [];
  const count = segmenter.segment(frame, 0, frame.length, out, 0, (at, length) => found.push(out.slice(at, at + length)));
  return { count, found, needed };
}

test('a TCPv4 super-frame becomes gso_size segments with complete checksums', (t) => {
  const { count, found, needed } = segments(false);
  t.is(count, 3);
  t.is(needed, 3 * 54 + PAYLOAD);
  const payload: number[] = [];
  found.forEach((frame, i) => {
    const ip = new Ipv4Packet(frame, 14);
    t.is(ip.identification, 100 + i);
    t.true(ip.verifyChecksum());
    t.is(ip.totalLength, 40 + (i < 2 ? MSS : PAYLOAD - 2 * MSS));
    const tcp = new TcpSegment(frame, 34);
    t.is(tcp.sequence, (0xfffffc00 + i * MSS) >>> 0, 'sequence numbers advance and wrap');
    t.is(tcp.flags & TcpFlag.psh, i === 2 ? TcpFlag.psh : 0, 'PSH only on the last');
    t.is(tcp.flags & TcpFlag.cwr, i === 0 ? TcpFlag.cwr : 0, 'CWR only on the first');
    t.true(tcp.verifyChecksum(ipv4PseudoSum(frame, 14, IpProtocol.tcp, frame.length - 34)));
    payload.push(...frame.subarray(54));
  });
  t.deepEqual(payload, Array.from({ length: PAYLOAD }, (_, i) => i % 251));
});

test('a TCPv6 super-frame too', (t) => {
  const { count, found } = segments(true);
  t.is(count, 3);
  for (const frame of found) {
    const ip = new Ipv6Packet(frame, 14);
    t.is(ip.payloadLength, frame.length - 54);
    t.true(new TcpSegment(frame, 54).verifyChecksum(ipv6PseudoSum(frame, 14, IpProtocol.tcp, ip.payloadLength)));
  }
});

test('what is not TCP GSO is refused', (t) => {
  const frame = superFrame(false);
  frame[1] = VnetGso.udp;
  t.is(new Segmenter().bytesNeeded(frame, 0, frame.length), -1);
});
