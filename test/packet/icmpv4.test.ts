import test from 'ava';
import { emitIcmpv4, Icmpv4Message, Icmpv4Type } from '../../src/packet';
import { toHex } from '../helpers/bytes';
import { icmpEchoRequest } from '../helpers/frames';

test('parses a captured echo request and verifies its checksum', (t) => {
  const icmp = new Icmpv4Message(icmpEchoRequest, 34);
  t.is(icmp.type, Icmpv4Type.echoRequest);
  t.is(icmp.code, 0);
  t.is(icmp.identifier, 0x0db7);
  t.is(icmp.sequence, 1);
  t.is(icmp.checksum, 0xa947);
  t.true(icmp.verifyChecksum());
});

test('emits the same message, checksum included', (t) => {
  const icmp = new Icmpv4Message(icmpEchoRequest, 34);
  const out = new Uint8Array(16);
  const end = emitIcmpv4(out, 0, {
    type: icmp.type, code: icmp.code, identifier: icmp.identifier, sequence: icmp.sequence,
    payload: icmpEchoRequest.subarray(icmp.payloadAt),
  });
  t.is(end, 16);
  t.is(toHex(out), toHex(icmpEchoRequest.subarray(34)));
});
