import test from 'ava';
import { IpProtocol, ipv4PseudoSum, Ipv4Packet, ipv6PseudoSum, Ipv6Packet, Segmenter, TcpFlag, TcpSegment, VnetGso } from '../../src/packet';
import { cutSuperFrame, superFrame } from '../helpers/super-frame';

const PAYLOAD = 2500;
const MSS = 1000;

function segments(ipv6: boolean) {
  return cutSuperFrame(superFrame({ ipv6, payload: PAYLOAD, mss: MSS }));
}

test('a TCPv4 super-frame becomes gso_size segments with complete checksums', (t) => {
  const { count, found, needed } = segments(false);
  t.is(count, 3);
  t.is(needed, 3 * 54, 'the headers: the payload is not copied');
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
  const frame = superFrame({ payload: PAYLOAD, mss: MSS });
  frame[1] = VnetGso.udp;
  t.is(new Segmenter().bytesNeeded(frame, 0, frame.length), -1);
});
