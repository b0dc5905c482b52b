import test from 'ava';
import { emitVxlan, VxlanHeader } from '../../src/packet';
import { hex, toHex } from '../helpers/bytes';

// RFC 7348 §5: flags 0x08 (I), 24 reserved bits, VNI, 8 reserved bits.
test('parses and emits VNI 5000', (t) => {
  const bytes = hex('0800 0000 0013 8800');
  t.is(new VxlanHeader(bytes).vni, 5000);
  const out = new Uint8Array(8);
  emitVxlan(out, 0, 5000);
  t.is(toHex(out), toHex(bytes));
});

test('refuses a header without the I flag', (t) => {
  t.throws(() => new VxlanHeader(hex('0000 0000 0013 8800')), { message: /I flag/ });
});
