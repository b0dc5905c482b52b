import test from 'ava';
import { ArpPacket, EthernetFrame, formatMac, frameFromText, FrameTextError, IpProtocol, Ipv4Packet, Ipv6Packet, UdpDatagram } from '../../src/packet';

test('a UDP flow written in ovs-ofctl syntax becomes that frame', (t) => {
  const frame = frameFromText('udp,dl_src=52:54:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10.0.1.5,nw_dst=10.0.2.5,nw_ttl=7,tp_src=1000,tp_dst=53');
  const eth = new EthernetFrame(frame);
  t.is(formatMac(frame, eth.sourceAt), '52:54:00:00:00:01');
  const ip = new Ipv4Packet(frame, eth.payloadAt);
  t.is(ip.ttl, 7);
  t.is(ip.protocol, IpProtocol.udp);
  const udp = new UdpDatagram(frame, ip.payloadAt);
  t.is(udp.sourcePort, 1000);
  t.is(udp.destinationPort, 53);
});

test('ARP, IPv6 and a VLAN tag', (t) => {
  const arp = frameFromText('arp nw_src=10.0.0.1 nw_dst=10.0.0.2');
  t.is(new ArpPacket(arp, 14).oper, 1);
  const v6 = frameFromText('icmp6,dl_vlan=100,nw_src=2001:db8::1,nw_dst=2001:db8::2');
  t.is(new Ipv6Packet(v6, 18).hopLimit, 64);
});

test('a wrong description says what is wrong', (t) => {
  t.throws(() => frameFromText('nw_src=10.0.0.1'), { instanceOf: FrameTextError, message: /protocol word/ });
  t.throws(() => frameFromText('ip,colour=red'), { instanceOf: FrameTextError, message: /'colour=red' is not a field/ });
  t.throws(() => frameFromText('ip,nw_ttl=300'), { instanceOf: FrameTextError, message: /nw_ttl must be a number/ });
  t.throws(() => frameFromText('ipv6,nw_src=10.0.0.1'), { instanceOf: FrameTextError, message: /not an IPv6 address/ });
  t.throws(() => frameFromText('ip,dl_src=zz'), { instanceOf: FrameTextError, message: /dl_src/ });
});
