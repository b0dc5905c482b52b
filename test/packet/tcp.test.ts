import test from 'ava';
import { emitTcp, ipv4PseudoSum, IpProtocol, TcpFlag, TcpSegment } from '../../src/packet';
import { toHex } from '../helpers/bytes';
import { tcpRst, tcpSyn } from '../helpers/frames';

test('parses a captured SYN with options', (t) => {
  const tcp = new TcpSegment(tcpSyn, 34);
  t.is(tcp.sourcePort, 39854);
  t.is(tcp.destinationPort, 80);
  t.is(tcp.sequence, 3812866551);
  t.is(tcp.flags, TcpFlag.syn);
  t.is(tcp.headerLength, 40);
  t.is(tcp.window, 64240);
});

test('verifies a software checksum and completes an offloaded one', (t) => {
  t.true(new TcpSegment(tcpRst, 34).verifyChecksum(ipv4PseudoSum(tcpRst, 14, IpProtocol.tcp, 20)));
  const frame = tcpSyn.slice();
  const syn = new TcpSegment(frame, 34);
  const pseudo = ipv4PseudoSum(frame, 14, IpProtocol.tcp, 40);
  t.false(syn.verifyChecksum(pseudo));
  syn.fillChecksum(pseudo);
  t.true(syn.verifyChecksum(pseudo));
});

test('emits the same RST', (t) => {
  const rst = new TcpSegment(tcpRst, 34);
  const out = tcpRst.slice();
  out.fill(0, 34);
  emitTcp(out, 34, { sourcePort: 80, destinationPort: 39854, sequence: 0, acknowledgment: rst.acknowledgment, flags: TcpFlag.rst | TcpFlag.ack, window: 0 });
  new TcpSegment(out, 34).fillChecksum(ipv4PseudoSum(out, 14, IpProtocol.tcp, 20));
  t.is(toHex(out), toHex(tcpRst));
});
