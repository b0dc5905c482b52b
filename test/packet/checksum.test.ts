import test from 'ava';
import { finishChecksum, onesComplementSum, updateChecksum } from '../../src/packet';
import { hex } from '../helpers/bytes';

// RFC 1071 §3's example: the sum of 0001 f203 f4f5 f6f7 is ddf2.
test('one\'s complement sum of the RFC 1071 example', (t) => {
  t.is(onesComplementSum(hex('0001 f203 f4f5 f6f7'), 0, 8), 0xddf2);
  t.is(finishChecksum(0xddf2), 0x220d);
});

test('an odd byte count pads with zero', (t) => {
  t.is(onesComplementSum(hex('0102 03'), 0, 3), 0x0402);
});

test('incremental update (RFC 1624) equals a full recomputation', (t) => {
  const header = hex('4500 0024 9562 4000 4001 9174 0a00 0001 0a00 0002');
  const before = (header[8] << 8) | header[9];
  header[8] = 63;
  const after = (header[8] << 8) | header[9];
  const updated = updateChecksum(0x9174, before, after);
  header[10] = 0;
  header[11] = 0;
  t.is(updated, finishChecksum(onesComplementSum(header, 0, 20)));
});
