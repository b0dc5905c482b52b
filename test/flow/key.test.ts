import test from 'ava';
import { describeKey, FlowKeyExtractor, formatKey, hashKey, KEY_WORDS, KeyFlag, TcpBits } from '../../src/flow';
import { EtherType, formatIpv4, formatIpv6, formatMac, IpProtocol } from '../../src/packet';
import { hex } from '../helpers/bytes';
import { arpRequest, icmpEchoRequest, neighborSolicitation, tcpSyn, udpDatagram } from '../helpers/frames';

const extractor = new FlowKeyExtractor();

function keyOf(frame: Uint8Array, inPort = 7, end = frame.length) {
  const key = new Uint32Array(KEY_WORDS);
  t_ok(extractor.extract(frame, 0, end, inPort, key, 0));
  return key;
}
function t_ok(ok: boolean) {
  if (!ok) throw new Error('extract refused the frame');
}

test('a TCP SYN keys on port, MACs, addresses, protocol and L4 ports', (t) => {
  const f = describeKey(keyOf(tcpSyn), 0);
  t.is(f.inPort, 7);
  t.is(f.ethertype, EtherType.ipv4);
  t.is(f.ipProtocol, IpProtocol.tcp);
  t.is(formatMac(f.destinationMac), '02:00:00:00:00:02');
  t.is(formatMac(f.sourceMac), '02:00:00:00:00:01');
  t.is(formatIpv4(f.networkSource), '10.0.0.1');
  t.is(formatIpv4(f.networkDestination), '10.0.0.2');
  t.is(f.transportSource, 39854);
  t.is(f.transportDestination, 80);
  t.is(f.flags, KeyFlag.tcpOpening, 'a SYN is a flow of its own: connection tracking sees it');
  t.is(extractor.tcpControl, TcpBits.syn);
});

test('every later segment of a connection shares one key; the extractor tells their control bits apart', (t) => {
  const FLAGS_AT = 14 + 20 + 13;
  const segment = (bits: number) => {
    const frame = tcpSyn.slice();
    frame[FLAGS_AT] = bits;
    const key = keyOf(frame);
    return { key: [...key].join(), control: extractor.tcpControl, text: formatKey(describeKey(key, 0), String, String) };
  };
  const [synAck, ack, fin, rst] = [0x12, 0x10, 0x11, 0x04].map(segment);
  t.is(synAck.control, TcpBits.syn | TcpBits.ack);
  t.is(fin.control, TcpBits.fin | TcpBits.ack);
  t.is(rst.control, TcpBits.rst);
  t.deepEqual([ack.key, fin.key, rst.key], [synAck.key, synAck.key, synAck.key], 'a FIN or a reset comes to connection tracking from the datapath, not by a flow of its own');
  t.not(segment(0x02).key, ack.key, 'an opening SYN keys apart');
  t.true(segment(0x02).text.endsWith('tcp_flags=+syn-ack'));
  t.false(ack.text.includes('tcp_flags'));
  keyOf(udpDatagram);
  t.is(extractor.tcpControl, 0, 'not TCP: no control bits');
});

test('ARP keys on its opcode and addresses; IPv6 on all 128 bits', (t) => {
  const arp = describeKey(keyOf(arpRequest), 0);
  t.is(arp.ethertype, EtherType.arp);
  t.is(arp.transportSource, 1);
  t.is(formatIpv4(arp.networkDestination), '10.0.0.2');
  const ns = describeKey(keyOf(neighborSolicitation), 0);
  t.is(formatIpv6(ns.networkDestination), 'ff02::1:ff00:2');
  t.is(ns.transportSource, 135);
});

test('equal frames give equal keys and hashes; the in-port separates them', (t) => {
  const a = keyOf(udpDatagram, 1);
  const b = keyOf(udpDatagram.slice(), 1);
  const c = keyOf(udpDatagram, 2);
  t.deepEqual(a, b);
  t.is(hashKey(a, 0), hashKey(b, 0));
  t.not(hashKey(a, 0), hashKey(c, 0));
});

test('a runt is refused; a cut IP header is keyed at L2 and flagged', (t) => {
  const key = new Uint32Array(KEY_WORDS);
  t.false(extractor.extract(tcpSyn, 0, 13, 1, key, 0));
  const cut = describeKey(keyOf(tcpSyn, 1, 30), 0);
  t.is(cut.flags & KeyFlag.truncated, KeyFlag.truncated);
  t.is(cut.ipProtocol, 0);
});

// An MLDv2 report laid out per RFC 3810 §5.2 (checksum left zero, the key does not read it):
// hop-by-hop options with a router alert (RFC 2711) before ICMPv6 type 143.
const mldReport = hex(`3333 0000 0016 0200 0000 0001 86dd 6000
  0000 0024 0001 fe80 0000 0000 0000 0000 0000 0000 0001 ff02 0000 0000 0000 0000
  0000 0000 0016 3a00 0502 0000 0100 8f00 0000 0000 0001 0400 0000 ff02 0000 0000
  0000 0000 0001 ff00 0001`);

test('IPv6 extension headers are walked to the upper-layer protocol', (t) => {
  const f = describeKey(keyOf(mldReport), 0);
  t.is(f.ipProtocol, IpProtocol.icmpv6);
  t.is(f.transportSource, 143);
  t.is(f.flags, KeyFlag.lastHop, 'MLD is sent with a hop limit of 1');
});

test('an IPv6 fragment is flagged; a later fragment has no L4 ports', (t) => {
  const first = mldReport.slice();
  first[20] = 44; // next header: fragment
  first.set([58, 0, 0, 1, 0, 0, 0, 7], 54); // fragment header: offset 0, M=1, then ICMPv6
  const f = describeKey(keyOf(first), 0);
  t.is(f.flags & KeyFlag.fragment, KeyFlag.fragment);
  t.is(f.ipProtocol, IpProtocol.icmpv6);
  const later = first.slice();
  later.set([58, 0, 0, 0x10, 0, 0, 0, 7], 54); // offset 2 (x 8 bytes)
  const g = describeKey(keyOf(later), 0);
  t.is(g.flags & KeyFlag.fragment, KeyFlag.fragment);
  t.is(g.transportSource, 0);
});

test('ICMP keys on type and code, and an echo on its identifier too (NAT translates it as a port)', (t) => {
  const f = describeKey(keyOf(icmpEchoRequest), 0);
  t.is(f.ipProtocol, IpProtocol.icmp);
  t.is(f.transportSource, 8, 'echo request');
  t.is(f.transportDestination, 0, 'code');
  t.is(f.icmpIdentifier, (icmpEchoRequest[38] << 8) | icmpEchoRequest[39]);
  const other = icmpEchoRequest.slice();
  other[39] ^= 1;
  t.notDeepEqual(keyOf(other), keyOf(icmpEchoRequest), 'two pings with their own identifiers are two flows');
  const sequenced = icmpEchoRequest.slice();
  sequenced[41] ^= 1;
  t.deepEqual(keyOf(sequenced), keyOf(icmpEchoRequest), 'one ping\'s echoes, whatever their sequence, are one flow');
});
