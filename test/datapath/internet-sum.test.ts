// The addon's Internet checksum sum against the reference one in src/packet.
import test from 'ava';
import { native } from '../../src/datapath';
import { onesComplementSum } from '../../src/packet';

test('the native sum equals onesComplementSum at every alignment and length, and refuses a bad range', (t) => {
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919 + (i >> 8)) & 255);
  for (let start = 0; start < 9; start++) {
    for (let length = 0; length < 200; length++) {
      if (native.internetSum(bytes, start, start + length, 77) !== onesComplementSum(bytes, start, start + length, 77)) {
        return t.fail(`differs at ${start}+${length}`);
      }
    }
  }
  t.is(native.internetSum(bytes, 1, 65_001, 0xffff), onesComplementSum(bytes, 1, 65_001, 0xffff), 'a whole super-frame');
  t.is(native.internetSum(new Uint8Array(64).fill(0xff), 0, 64, 0), 0xffff);
  t.throws(() => native.internetSum(bytes, 10, 70_001, 0), { instanceOf: RangeError });
});
