// A packet socket's receive ring (native/src/receive_ring.cc): frames that fit a slot and frames
// that do not (read from the socket's queue) come out in the order they were sent, an agent
// that takes the socket over (its descriptor, ring size and head handed over) reads on from
// where the other stopped, losing and repeating nothing, and a full ring counts what it drops. Run in a namespace of the test's own, by a
// child process there, since a packet socket binds to an interface of its own namespace.
import path from 'node:path';
import test from 'ava';
import { Lab } from '../../examples/lab';

const lab = new Lab();
test.after.always(() => lab.cleanup());

const ADDON = path.join(__dirname, '..', '..', 'src', 'datapath', 'native.js');

// Sends 600 numbered frames on tx0 (every third one 3,000 bytes, more than a slot), reads 200
// of them on rx0, hands its descriptor and ring to itself as a successor would receive them,
// and reads the rest through the new descriptor. Then sends them again to a ring of 64 slots
// that no one reads, and deletes the interfaces. Prints the numbers and lengths read by each,
// what the small ring kept and dropped, and what a read said once the device had gone.
const SCRIPT = `
const { native } = require(${JSON.stringify(ADDON)});
const fs = require('node:fs'), os = require('node:os'), path = require('node:path');
const SLOT = 65600, BATCH = 64;
const arena = new Uint8Array(BATCH * SLOT), lens = new Uint32Array(BATCH), stamps = new Float64Array(BATCH);
const send = native.openPacket('tx0', false, 64), receive = native.openPacket('rx0', true, 1024);
const frames = Array.from({ length: 600 }, (_, i) => {
  const f = new Uint8Array(i % 3 === 2 ? 3000 : 100);
  f.fill(0xff, 0, 6); f.set([2, 0, 0, 0, 0, 1, 0x88, 0xb5], 6);
  new DataView(f.buffer).setUint32(14, i);
  return f;
});
const out = new Uint8Array(frames.length * 3000);
const offsets = new Uint32Array(frames.length), lengths = new Uint32Array(frames.length), pieces = new Uint32Array(frames.length).fill(1);
frames.forEach((f, i) => { offsets[i] = i * 3000; lengths[i] = f.length; out.set(f, offsets[i]); });
const sendAll = () => { for (let sent = 0; sent < frames.length; ) sent += native.sendBatch(send, false, out, offsets, lengths, pieces, sent, Math.min(64, frames.length - sent)); };
sendAll();
function read(fd, want) {
  const got = [];
  for (let tries = 0; got.length < want && tries < 1000; tries++) {
    const n = native.recvBatch(fd, false, arena, 0, SLOT, Math.min(BATCH, want - got.length), lens, true, stamps);
    if (n < 0) throw new Error('receive failed: ' + n);
    for (let i = 0; i < n; i++) {
      const at = i * SLOT + native.vnetHeaderBytes;
      const ours = arena[at + 12] === 0x88 && arena[at + 13] === 0xb5;
      if (ours) got.push({ number: new DataView(arena.buffer, at + 14, 4).getUint32(0), length: lens[i] - native.vnetHeaderBytes, stamped: stamps[i] <= native.monotonicMs() });
    }
  }
  return got;
}
const first = read(receive, 200);
const ring = native.ringOf(receive);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-ring-'));
const listener = native.listenHandover(path.join(dir, 's'));
native.sendHandover(path.join(dir, 's'), [receive], '');
const [successor] = native.receiveHandover(listener).fds;
native.close(receive);
const closed = native.ringOf(receive);
native.adoptRing(successor, ring.slots, ring.head);
const rest = read(successor, 400);
fs.rmSync(dir, { recursive: true });
const after = native.ringOf(successor).head;
const small = native.openPacket('rx0', true, 64);
sendAll();
const kept = read(small, 600).length;
const dropped = native.receiveDrops(small);
require('node:child_process').execFileSync('ip', ['link', 'del', 'tx0']);
let gone; // the frames still in the ring first, then what the socket says
do gone = native.recvBatch(successor, false, arena, 0, SLOT, BATCH, lens, true, stamps); while (gone > 0);
console.log(JSON.stringify({ ring, first, rest, after, closed, kept, dropped, gone }));
`;

test('frames in slots and frames too big for one come out in order; a successor given the descriptor and ring reads on without loss or repeat; a full ring counts its drops; a device gone is reported', async (t) => {
  const ns = await lab.namespace('ring');
  await lab.veth(ns, 'tx0', ns, 'rx0');
  for (const dev of ['tx0', 'rx0']) await lab.ip(ns, 'link', 'set', dev, 'mtu', '9000');
  const { stdout } = await lab.exec(ns, process.execPath, ['-e', SCRIPT]);
  const { ring, first, rest, after, closed, kept, dropped, gone } = JSON.parse(stdout) as {
    ring: { slots: number; head: number };
    first: { number: number; length: number; stamped: boolean }[];
    rest: { number: number; length: number; stamped: boolean }[];
    after: number;
    closed: null;
    kept: number;
    dropped: number;
    gone: number;
  };
  const read = [...first, ...rest];
  t.deepEqual(
    read.map((f) => f.number),
    Array.from({ length: 600 }, (_, i) => i),
    'every frame once, in the order sent',
  );
  t.deepEqual(read.filter((f) => f.length !== (f.number % 3 === 2 ? 3000 : 100)), [], 'each whole');
  t.true(read.every((f) => f.stamped), 'each stamped with when the kernel received it');
  t.is(ring.slots, 1024);
  t.true(ring.head > 0 && ring.head < 1024, `the first reader stopped at a slot of the ring (${ring.head})`);
  t.true(after >= 0 && after !== ring.head, 'the successor read on from there');
  t.is(closed, null, 'a closed descriptor has no ring');
  t.true(kept > 0 && kept <= 64, `a ring of 64 slots kept at most 64 (${kept})`);
  t.true(dropped >= 600 - 64, `and counted the rest as dropped (${dropped})`);
  t.is(gone, -100, 'a read once the device has gone says so (-ENETDOWN), though the ring alone would not');
});
