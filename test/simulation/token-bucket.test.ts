import test from 'ava';
import { TokenBucket } from '../../src/simulation/token-bucket';

test('a burst, then the rate', (t) => {
  const bucket = new TokenBucket(1000, 5);
  const start = performance.now();
  let taken = 0;
  for (let i = 0; i < 10; i++) if (bucket.take(start)) taken++;
  t.is(taken, 5, 'the burst');
  t.false(bucket.take(start + 0.5), 'half a token later: none');
  t.true(bucket.take(start + 1.5), 'a millisecond later: one more');
  let later = 0;
  for (let i = 0; i < 100; i++) if (bucket.take(start + 1000)) later++;
  t.is(later, 5, 'a long pause refills only up to the burst');
});
