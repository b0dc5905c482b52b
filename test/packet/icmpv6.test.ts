import test from 'ava';
import { emitNdp, formatIpv6, Icmpv6Message, Icmpv6Type, Ipv6Packet, ipv6PseudoSum, NdpFlag, NdpOption, formatMac, IpProtocol } from '../../src/packet';
import { toHex } from '../helpers/bytes';
import { neighborAdvertisement, neighborSolicitation } from '../helpers/frames';

test('parses a neighbor solicitation with its source link-layer option', (t) => {
  const icmp = new Icmpv6Message(neighborSolicitation, 54);
  t.is(icmp.type, Icmpv6Type.neighborSolicitation);
  t.is(formatIpv6(icmp.buffer, icmp.targetAt), 'fd00::2');
  t.is(formatMac(icmp.buffer, icmp.linkLayerOptionAt(NdpOption.sourceLinkLayerAddress)), '02:00:00:00:00:01');
  t.is(icmp.linkLayerOptionAt(NdpOption.targetLinkLayerAddress), -1);
  t.true(icmp.verifyChecksum(ipv6PseudoSum(neighborSolicitation, 14, IpProtocol.icmpv6, 32)));
});

test('emits a neighbor advertisement equal to the captured one', (t) => {
  const frame = neighborAdvertisement.slice();
  const parsed = new Icmpv6Message(neighborAdvertisement, 54);
  t.is(parsed.ndpFlags, NdpFlag.solicited | NdpFlag.override);
  frame.fill(0, 54);
  const end = emitNdp(frame, 54, {
    type: Icmpv6Type.neighborAdvertisement,
    flags: NdpFlag.solicited | NdpFlag.override,
    target: neighborAdvertisement.subarray(parsed.targetAt, parsed.targetAt + 16),
    linkLayerAddress: neighborAdvertisement.subarray(80, 86),
  });
  t.is(end, frame.length);
  const ip = new Ipv6Packet(frame, 14);
  new Icmpv6Message(frame, 54).fillChecksum(ipv6PseudoSum(frame, 14, ip.nextHeader, ip.payloadLength));
  t.is(toHex(frame), toHex(neighborAdvertisement));
});

test('refuses an NDP message cut before its target', (t) => {
  t.throws(() => new Icmpv6Message(neighborSolicitation, 54, 70), { message: /before its target/ });
});
