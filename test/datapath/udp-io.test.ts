// The tunnel socket's batched I/O, on loopback.
import test from 'ava';
import { native } from '../../src/datapath';

const LOOPBACK = 0x7f000001;

function openSomewhere(): { fd: number; port: number } {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    try {
      return { fd: native.openUdp('127.0.0.1', port), port };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    }
  }
}

interface Received {
  /** The slot as filled: the 10-byte header, then the payload. */
  slot: Uint8Array;
  length: number;
  source: number;
  /** The segment size of a coalesced run (UDP GRO), or 0. */
  size: number;
}

/** Receives batches until `enough` holds of what came (5 s at most). Loopback delivers in a
 *  softirq, which a loaded machine may run a while after the send returned. */
async function receiveUntil(fd: number, slotSize: number, enough: (got: Received[]) => boolean): Promise<Received[]> {
  const got: Received[] = [];
  const end = Date.now() + 5000;
  while (!enough(got) && Date.now() < end) {
    const arena = new Uint8Array(8 * slotSize).fill(0xee);
    const [lengths, sources, sizes] = [new Uint32Array(8), new Uint32Array(8), new Uint32Array(8)];
    const n = native.recvFromBatch(fd, arena, 0, slotSize, 8, lengths, sources, sizes, new Float64Array(8));
    for (let i = 0; i < n; i++) got.push({ slot: arena.subarray(i * slotSize, (i + 1) * slotSize), length: lengths[i], source: sources[i], size: sizes[i] });
    if (n === 0) await new Promise((r) => setTimeout(r, 5));
  }
  return got;
}

test('a batch of datagrams goes out to each its destination and comes in with its sender', async (t) => {
  const a = openSomewhere();
  const b = openSomewhere();
  t.teardown(() => {
    native.close(a.fd);
    native.close(b.fd);
  });
  const out = new Uint8Array(3 * 64);
  const offsets = Uint32Array.of(0, 64, 128);
  const lengths = Uint32Array.of(8, 20, 60);
  out.fill(1, 0, 8);
  out.fill(2, 64, 84);
  out.fill(3, 128, 188);
  t.is(native.sendToBatch(a.fd, out, offsets, lengths, Uint32Array.of(1, 1, 1), new Uint32Array(3).fill(LOOPBACK), new Uint32Array(3), 0, 3, b.port), 3);
  const got = await receiveUntil(b.fd, 128, (g) => g.length >= 3);
  t.deepEqual(got.map((r) => r.length), [18, 30, 70], 'each behind a 10-byte header');
  t.deepEqual(got.map((r) => r.source), [LOOPBACK, LOOPBACK, LOOPBACK]);
  t.deepEqual([...got[0].slot.subarray(0, 10)], new Array(10).fill(0), 'the header is zeroed');
  t.true(got[1].slot.subarray(10, 30).every((x) => x === 2));
  t.is(native.recvFromBatch(b.fd, new Uint8Array(4 * 128), 0, 128, 4, new Uint32Array(4), new Uint32Array(4), new Uint32Array(4), new Float64Array(4)), 0, 'nothing more: 0, not an error');
});

test('a run gathered from pieces and sent with a segment size arrives as those datagrams, together with their size or apart', async (t) => {
  const a = openSomewhere();
  const b = openSomewhere();
  t.teardown(() => {
    native.close(a.fd);
    native.close(b.fd);
  });
  // 450 bytes, the n-th hundred all n, laid out as three pieces out of order in memory.
  const run = new Uint8Array(450).map((_, i) => Math.floor(i / 100) + 1);
  const offsets = Uint32Array.of(500, 0, 700);
  const lengths = Uint32Array.of(30, 170, 250);
  const out = new Uint8Array(1000);
  out.set(run.subarray(0, 30), 500);
  out.set(run.subarray(30, 200), 0);
  out.set(run.subarray(200), 700);
  t.is(native.sendToBatch(a.fd, out, offsets, lengths, Uint32Array.of(3), Uint32Array.of(LOOPBACK), Uint32Array.of(100), 0, 1, b.port), 1);
  const payloadBytes = (g: Received[]) => g.reduce((sum, r) => sum + r.length - 10, 0);
  const got = await receiveUntil(b.fd, 1024, (g) => payloadBytes(g) >= 450);
  const datagrams: number[][] = [];
  for (const r of got) {
    const payload = r.slot.subarray(10, r.length);
    const step = r.size || payload.length;
    for (let at = 0; at < payload.length; at += step) datagrams.push([...payload.subarray(at, at + step)]);
  }
  t.deepEqual(datagrams.map((d) => d.length), [100, 100, 100, 100, 50]);
  t.true(datagrams.every((d, i) => d.every((x) => x === i + 1)), 'the pieces, gathered, are cut at every 100 bytes');
  t.log(got.length === 1 ? 'received together (UDP GRO)' : `received in ${got.length} pieces`);
});

test('a datagram larger than its slot is reported with length 0', async (t) => {
  const a = openSomewhere();
  const b = openSomewhere();
  t.teardown(() => {
    native.close(a.fd);
    native.close(b.fd);
  });
  native.sendToBatch(a.fd, new Uint8Array(200), Uint32Array.of(0), Uint32Array.of(200), Uint32Array.of(1), Uint32Array.of(LOOPBACK), Uint32Array.of(0), 0, 1, b.port);
  const got = await receiveUntil(b.fd, 64, (g) => g.length >= 1);
  t.deepEqual(got.map((r) => r.length), [0]);
});

test('bad addresses and taken ports are refused with a sentence', (t) => {
  t.throws(() => native.openUdp('not-an-address', 4789), { code: 'EINVAL', message: /not an IPv4 address and port/ });
  const a = openSomewhere();
  t.teardown(() => native.close(a.fd));
  t.throws(() => native.openUdp('127.0.0.1', a.port), { code: 'EADDRINUSE', message: /already taken/ });
  t.throws(() => native.recvFromBatch(a.fd, new Uint8Array(10), 0, 64, 4, new Uint32Array(4), new Uint32Array(4), new Uint32Array(4), new Float64Array(4)), { instanceOf: RangeError });
});
