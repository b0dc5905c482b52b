import test from 'ava';
import { emitVnetHeader, VnetFlag, VnetGso, VnetHeader } from '../../src/packet';
import { hex, toHex } from '../helpers/bytes';

// A TCPv4 GSO super-frame as a veth hands it to a packet socket: NEEDS_CSUM, gso_type 1,
// hdr_len 66, gso_size 1448, csum_start 34, csum_offset 16 (all little-endian).
const bytes = hex('0101 4200 a805 2200 1000');

test('parses a TCPv4 GSO header', (t) => {
  const vnet = new VnetHeader(bytes);
  t.is(vnet.flags, VnetFlag.needsChecksum);
  t.is(vnet.gsoType, VnetGso.tcpv4);
  t.is(vnet.hdrLen, 66);
  t.is(vnet.gsoSize, 1448);
  t.is(vnet.csumStart, 34);
  t.is(vnet.csumOffset, 16);
  t.is(vnet.frameAt, 10);
});

test('emits the same 10 bytes', (t) => {
  const out = new Uint8Array(10);
  emitVnetHeader(out, 0, { flags: 1, gsoType: 1, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
  t.is(toHex(out), toHex(bytes));
});
