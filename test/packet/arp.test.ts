import test from 'ava';
import { ArpOperation, ArpPacket, emitArp, formatIpv4, formatMac } from '../../src/packet';
import { hex, toHex } from '../helpers/bytes';
import { arpRequest } from '../helpers/frames';

test('parses a captured ARP request', (t) => {
  const arp = new ArpPacket(arpRequest, 14);
  t.is(arp.oper, ArpOperation.request);
  t.is(formatMac(arp.buffer, arp.shaAt), '02:00:00:00:00:01');
  t.is(formatIpv4(arp.buffer, arp.spaAt), '10.0.0.1');
  t.is(formatIpv4(arp.buffer, arp.tpaAt), '10.0.0.2');
});

test('emits the same 28 bytes', (t) => {
  const out = new Uint8Array(28);
  emitArp(out, 0, new ArpPacket(arpRequest, 14).repr());
  t.is(toHex(out), toHex(arpRequest.subarray(14)));
});

test('refuses ARP that is not Ethernet/IPv4', (t) => {
  const tokenRing = hex('0006 0800 0604 0001 0200 0000 0001 0a00 0001 0000 0000 0000 0a00 0002');
  t.throws(() => new ArpPacket(tokenRing), { message: /not Ethernet\/IPv4/ });
});
