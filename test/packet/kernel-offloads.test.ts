// What a kernel on this machine leaves unfinished in the frames it tunnels: a partial checksum
// is described as such, a TCP super-frame sent whole as GSO.
import test from 'ava';
import {
  completeChecksum, describeKernelOffloads, IpProtocol, ipv4PseudoSum, VNET_HEADER_BYTES, VnetFlag, VnetGso, VnetHeader,
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
  describeKernelOffloads(complete, 0, complete.length);
  t.is(complete[0], 0, 'a complete checksum is left alone');

  const partial = received(segment);
  const tcpAt = VNET_HEADER_BYTES + 34;
  const pseudo = ipv4PseudoSum(partial, VNET_HEADER_BYTES + 14, IpProtocol.tcp, segment.length - 34);
  partial[tcpAt + 16] = pseudo >>> 8;
  partial[tcpAt + 17] = pseudo & 0xff;
  describeKernelOffloads(partial, 0, partial.length);
  const vnet = new VnetHeader(partial, 0);
  t.is(vnet.flags, VnetFlag.needsChecksum);
  t.is(vnet.gsoType, VnetGso.none);
  completeChecksum(partial, 0, partial.length);
  t.deepEqual([...partial.subarray(VNET_HEADER_BYTES)], [...segment], 'finished, it is the segment as it was cut');
});

test('a TCP frame larger than a 1500-byte IP MTU is a super-frame, described as GSO', (t) => {
  for (const ipv6 of [false, true]) {
    const frame = superFrame({ ipv6, payload: 5000, mss: 1448 });
    frame.fill(0, 0, VNET_HEADER_BYTES);
    describeKernelOffloads(frame, 0, frame.length);
    const vnet = new VnetHeader(frame, 0);
    const l4 = ipv6 ? 54 : 34;
    t.is(vnet.gsoType, ipv6 ? VnetGso.tcpv6 : VnetGso.tcpv4);
    t.is(vnet.gsoSize, 1500 - (l4 - 14) - 20, 'segments a 1500-byte MTU takes: no size is said');
    t.is(vnet.hdrLen, l4 + 20);
    t.is(vnet.flags, VnetFlag.needsChecksum);
    t.is(vnet.csumStart, l4);
  }
  const small = superFrame({ payload: 1400 });
  small.fill(0, 0, VNET_HEADER_BYTES);
  describeKernelOffloads(small, 0, small.length);
  t.is(new VnetHeader(small, 0).gsoType, VnetGso.none, 'a frame a 1500-byte MTU lets through is not');
  const [segment] = cutSuperFrame(superFrame({ payload: 3000, mss: 1460 })).found;
  const full = received(segment);
  describeKernelOffloads(full, 0, full.length);
  t.is(new VnetHeader(full, 0).gsoType, VnetGso.none, 'a full-sized segment is not');
});
