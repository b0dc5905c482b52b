import test from 'ava';
import { emitIpv6, formatIpv6, Ipv6Packet, IpProtocol, parseIpv6 } from '../../src/packet';
import { toHex } from '../helpers/bytes';
import { neighborSolicitation } from '../helpers/frames';

test('parses the IPv6 header of a captured neighbor solicitation', (t) => {
  const ip = new Ipv6Packet(neighborSolicitation, 14);
  t.is(ip.version, 6);
  t.is(ip.payloadLength, 32);
  t.is(ip.nextHeader, IpProtocol.icmpv6);
  t.is(ip.hopLimit, 255);
  t.is(formatIpv6(ip.buffer, ip.sourceAt), 'fd00::1');
  t.is(formatIpv6(ip.buffer, ip.destinationAt), 'ff02::1:ff00:2');
});

test('emits the same 40 bytes', (t) => {
  const out = new Uint8Array(40);
  emitIpv6(out, 0, new Ipv6Packet(neighborSolicitation, 14).repr());
  t.is(toHex(out), toHex(neighborSolicitation.subarray(14, 54)));
});

test('address text forms round-trip (RFC 5952 compression)', (t) => {
  for (const text of ['fd00::1', '::', 'fe80::ff:fe00:2', '2001:db8:0:1:1:1:1:1', 'ff02::1:ff00:2']) {
    t.is(formatIpv6(parseIpv6(text)), text);
  }
  t.throws(() => parseIpv6('1::2::3'));
});

test('refuses a payload length past the received bytes', (t) => {
  t.throws(() => new Ipv6Packet(neighborSolicitation, 14, 80), { message: /runs past/ });
});
