// A run of datagrams the route cannot take whole (UDP GSO refuses datagrams over the device's
// MTU) goes out datagram by datagram, each cut from the run's pieces: in a namespace of its
// own, whose loopback has a small MTU.
import path from 'node:path';
import test from 'ava';
import { Lab } from '../../examples/lab';

const lab = new Lab();
const ADDON = path.join(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'vswitch_native.node');

test.after.always(() => lab.cleanup());

test('a run over the MTU is sent apart, each datagram gathered from the right pieces', async (t) => {
  const ns = await lab.namespace('mtu');
  await lab.ip(ns, 'link', 'set', 'lo', 'mtu', '1000');
  // 3,000 bytes, the n-th 1,200 all n, in three pieces out of order in memory: two datagrams
  // of 1,200 and one of 600, each longer than the MTU allows a GSO segment.
  const { stdout } = await lab.exec(ns, process.execPath, ['-e', `
    const n = require(${JSON.stringify(ADDON)});
    const a = n.openUdp('127.0.0.1', 4789);
    const b = n.openUdp('127.0.0.1', 4790);
    const run = new Uint8Array(3000).map((_, i) => Math.floor(i / 1200) + 1);
    const out = new Uint8Array(8000);
    const offsets = Uint32Array.of(5000, 0, 2000);
    const lengths = Uint32Array.of(700, 1300, 1000);
    let at = 0;
    offsets.forEach((o, i) => { out.set(run.subarray(at, at + lengths[i]), o); at += lengths[i]; });
    const sent = n.sendToBatch(a, out, offsets, lengths, Uint32Array.of(3), Uint32Array.of(0x7f000001), Uint32Array.of(1200), 0, 1, 4790);
    const arena = new Uint8Array(8 * 4096);
    const got = new Uint32Array(8);
    const sizes = new Uint32Array(8);
    // Read until the three have come (reassembled from their fragments), looking every millisecond.
    const datagrams = [];
    let received = 0;
    for (const end = Date.now() + 10000; datagrams.length < 3 && Date.now() < end; ) {
      const count = n.recvFromBatch(b, arena, 0, 4096, 8, got, new Uint32Array(8), sizes, new Float64Array(8));
      if (count < 0) throw new Error('receive failed: ' + count);
      if (count === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      received += count;
      for (let i = 0; i < count; i++) {
        const payload = arena.subarray(i * 4096 + 10, i * 4096 + got[i]);
        const step = sizes[i] || payload.length;
        for (let p = 0; p < payload.length; p += step) datagrams.push([...payload.subarray(p, p + step)]);
      }
    }
    console.log(JSON.stringify({ sent, received, sizes: datagrams.map((d) => d.length), whole: datagrams.every((d, i) => d.every((x) => x === i + 1)) }));`]);
  const result = JSON.parse(stdout) as { sent: number; received: number; sizes: number[]; whole: boolean };
  t.is(result.sent, 1, 'the run counts as one send');
  t.is(result.received, 3, 'as three datagrams, each fragmented on the way: not one run');
  t.deepEqual(result.sizes, [1200, 1200, 600]);
  t.true(result.whole, 'each datagram holds its own 1,200 bytes, across the pieces');
});
