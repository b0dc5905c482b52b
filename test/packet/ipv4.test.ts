import test from 'ava';
import { emitIpv4, formatIpv4, Ipv4Packet, IpProtocol, MalformedPacket } from '../../src/packet';
import { toHex } from '../helpers/bytes';
import { icmpEchoRequest } from '../helpers/frames';

test('parses the IPv4 header of a captured echo request', (t) => {
  const ip = new Ipv4Packet(icmpEchoRequest, 14);
  t.is(ip.version, 4);
  t.is(ip.headerLength, 20);
  t.is(ip.totalLength, 36);
  t.is(ip.identification, 0x9562);
  t.true(ip.dontFragment);
  t.is(ip.ttl, 64);
  t.is(ip.protocol, IpProtocol.icmp);
  t.is(ip.checksum, 0x9174);
  t.true(ip.verifyChecksum());
  t.is(formatIpv4(ip.buffer, ip.sourceAt), '10.0.0.1');
  t.is(formatIpv4(ip.buffer, ip.destinationAt), '10.0.0.2');
  t.is(ip.payloadLength, 16);
});

test('emits the same header bytes from its representation', (t) => {
  const ip = new Ipv4Packet(icmpEchoRequest, 14);
  const out = new Uint8Array(20);
  t.is(emitIpv4(out, 0, ip.repr()), 20);
  t.is(toHex(out), toHex(icmpEchoRequest.subarray(14, 34)));
});

test('fillChecksum restores a zeroed checksum; a changed TTL fails verification', (t) => {
  const frame = icmpEchoRequest.slice();
  const ip = new Ipv4Packet(frame, 14);
  ip.ttl = 63;
  t.false(ip.verifyChecksum());
  ip.fillChecksum();
  t.true(ip.verifyChecksum());
});

test('refuses truncated and inconsistent headers with a reason', (t) => {
  t.throws(() => new Ipv4Packet(icmpEchoRequest, 14, 30), { instanceOf: MalformedPacket, message: /shorter than an IPv4 header/ });
  t.throws(() => new Ipv4Packet(icmpEchoRequest, 14, 40), { message: /runs past/ });
  const view = new Ipv4Packet();
  t.regex(view.point(icmpEchoRequest, 0, 60) ?? '', /IP version/);
  t.is(view.point(icmpEchoRequest, 14, icmpEchoRequest.length), null);
});
