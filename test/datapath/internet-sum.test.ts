// The addon's Internet checksum sums against the reference ones in src/packet.
import test from 'ava';
import { native } from '../../src/datapath';
import { chunkSums } from '../../src/packet';

test('the native chunk sums equal chunkSums at every alignment, length and chunk, and refuse a bad range', (t) => {
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919 + (i >> 8)) & 255);
  const got = new Uint32Array(200);
  const expected = new Uint32Array(200);
  for (let start = 0; start < 9; start++) {
    for (let length = 0; length < 120; length++) {
      for (const chunk of [1, 7, 8, 64]) {
        native.internetSums(bytes, start, start + length, chunk, got);
        chunkSums(bytes, start, start + length, chunk, expected);
        if (got.join() !== expected.join()) return t.fail(`differs at ${start}+${length} by ${chunk}`);
      }
    }
  }
  native.internetSums(bytes, 1, 65_001, 1448, got);
  chunkSums(bytes, 1, 65_001, 1448, expected);
  t.deepEqual([...got.subarray(0, 45)], [...expected.subarray(0, 45)], 'a whole super-frame');
  native.internetSums(new Uint8Array(64).fill(0xff), 0, 64, 64, got);
  t.is(got[0], 0xffff);
  t.throws(() => native.internetSums(bytes, 10, 70_001, 100, got), { instanceOf: RangeError });
  t.throws(() => native.internetSums(bytes, 0, 1000, 1, got), { instanceOf: RangeError }, 'more chunks than sums');
});
