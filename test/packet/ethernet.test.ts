import test from 'ava';
import { emitEthernet, emitVlanTag, EthernetFrame, EtherType, formatMac, VlanTag } from '../../src/packet';
import { hex, toHex } from '../helpers/bytes';
import { arpRequest } from '../helpers/frames';

test('parses a broadcast ARP frame', (t) => {
  const eth = new EthernetFrame(arpRequest);
  t.is(formatMac(eth.buffer, eth.destinationAt), 'ff:ff:ff:ff:ff:ff');
  t.is(formatMac(eth.buffer, eth.sourceAt), '02:00:00:00:00:01');
  t.is(eth.ethertype, EtherType.arp);
  t.true(eth.isMulticast);
  t.is(eth.payloadAt, 14);
});

test('emits the same 14 bytes', (t) => {
  const out = new Uint8Array(14);
  emitEthernet(out, 0, new EthernetFrame(arpRequest).repr());
  t.is(toHex(out), toHex(arpRequest.subarray(0, 14)));
});

test('parses and emits an 802.1Q tag (PCP 5, VID 100, inner IPv4)', (t) => {
  const bytes = hex('a064 0800');
  const tag = new VlanTag(bytes);
  t.is(tag.pcp, 5);
  t.false(tag.dei);
  t.is(tag.vid, 100);
  t.is(tag.ethertype, EtherType.ipv4);
  const out = new Uint8Array(4);
  emitVlanTag(out, 0, { pcp: 5, dei: false, vid: 100, ethertype: EtherType.ipv4 });
  t.is(toHex(out), 'a0640800');
  t.throws(() => new VlanTag(bytes, 0, 3), { message: /802.1Q/ });
});

test('a frame shorter than the header is refused', (t) => {
  t.throws(() => new EthernetFrame(arpRequest.subarray(0, 13)), { message: /13 bytes is shorter than an Ethernet header/ });
});
