import test from 'ava';
import { emitUdp, finishChecksum, ipv4PseudoSum, IpProtocol, UdpDatagram } from '../../src/packet';
import { toHex } from '../helpers/bytes';
import { udpDatagram } from '../helpers/frames';

test('parses a captured datagram', (t) => {
  const udp = new UdpDatagram(udpDatagram, 34);
  t.is(udp.sourcePort, 58805);
  t.is(udp.destinationPort, 5000);
  t.is(udp.length, 10);
  t.is(Buffer.from(udp.buffer.subarray(udp.payloadAt, udp.offset + udp.length)).toString(), 'hi');
});

test('tx checksum offload left only the pseudo-header sum; fillChecksum completes it', (t) => {
  const frame = udpDatagram.slice();
  const udp = new UdpDatagram(frame, 34);
  const pseudo = ipv4PseudoSum(frame, 14, IpProtocol.udp, udp.length);
  t.is(udp.checksum, finishChecksum(~pseudo & 0xffff), 'partial checksum = folded pseudo-header sum');
  t.false(udp.verifyChecksum(pseudo));
  udp.fillChecksum(pseudo);
  t.true(udp.verifyChecksum(pseudo));
});

test('emits the same header (checksum filled separately)', (t) => {
  const out = new Uint8Array(10);
  emitUdp(out, 0, { sourcePort: 58805, destinationPort: 5000, payloadLength: 2 });
  out.set([0x68, 0x69], 8);
  t.is(toHex(out.subarray(0, 6)), toHex(udpDatagram.subarray(34, 40)));
  t.throws(() => new UdpDatagram(udpDatagram, 34, 43), { message: /runs past/ });
});
