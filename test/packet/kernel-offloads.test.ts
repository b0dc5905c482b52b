// What a kernel on this machine leaves unfinished in the frames it tunnels: a partial checksum
// is described as such, a TCP super-frame sent whole as GSO.
import test from 'ava';
import {
  completeChecksum, describePartialChecksum, describeSuperFrame, IpProtocol, ipv4PseudoSum, isSuperFrame, VNET_HEADER_BYTES, VnetFlag, VnetGso, VnetHeader,
} from '../../src/packet';
import { cutSuperFrame, superFrame } from '../helpers/super-frame';

/** A segment behind a zeroed vnet header, as the tunnel receives one. */
function received(frame: Uint8Array): Uint8Array {
  const b = new Uint8Array(VNET_HEADER_BYTES + frame.length);
  b.set(frame, VNET_HEADER_BYTES);
  return b;
}

test('a segment whose checksum holds only the pseudo-header sum is described as partial, and finishes to the right value', (t) => {
  const [segment] = cutSuperFrame(superFrame({ payload: 2500, mss: 1000 })).found;
  const complete = received(segment);
  describePartialChecksum(complete, 0, complete.length);
  t.is(complete[0], 0, 'a complete checksum is left alone');

  const partial = received(segment);
  const tcpAt = VNET_HEADER_BYTES + 34;
  const pseudo = ipv4PseudoSum(partial, VNET_HEADER_BYTES + 14, IpProtocol.tcp, segment.length - 34);
  partial[tcpAt + 16] = pseudo >>> 8;
  partial[tcpAt + 17] = pseudo & 0xff;
  describePartialChecksum(partial, 0, partial.length);
  const vnet = new VnetHeader(partial, 0);
  t.is(vnet.flags, VnetFlag.needsChecksum);
  t.is(vnet.gsoType, VnetGso.none);
  completeChecksum(partial, 0, partial.length);
  t.deepEqual([...partial.subarray(VNET_HEADER_BYTES)], [...segment], 'finished, it is the segment as it was cut');
});

test('a TCP frame larger than a 1500-byte IP MTU is a super-frame, described as GSO', (t) => {
  for (const ipv6 of [false, true]) {
    const frame = superFrame({ ipv6, payload: 5000, mss: 1448 });
    t.true(isSuperFrame(frame, VNET_HEADER_BYTES, frame.length));
    frame.fill(0, 0, VNET_HEADER_BYTES);
    describeSuperFrame(frame, 0, frame.length, 0);
    const vnet = new VnetHeader(frame, 0);
    const l4 = ipv6 ? 54 : 34;
    t.is(vnet.gsoType, ipv6 ? VnetGso.tcpv6 : VnetGso.tcpv4);
    t.is(vnet.gsoSize, 1500 - (l4 - 14) - 20, 'segments a 1500-byte MTU takes, when no size was said');
    t.is(vnet.hdrLen, l4 + 20);
    t.is(vnet.flags, VnetFlag.needsChecksum);
    t.is(vnet.csumStart, l4);
    describeSuperFrame(frame, 0, frame.length, 1000);
    t.is(new VnetHeader(frame, 0).gsoSize, 1000, 'or the size said');
  }
  const small = superFrame({ payload: 1400 });
  t.false(isSuperFrame(small, VNET_HEADER_BYTES, small.length));
  const [segment] = cutSuperFrame(superFrame({ payload: 3000, mss: 1460 })).found;
  t.false(isSuperFrame(segment, 0, segment.length), 'a full-sized segment is not');
});
