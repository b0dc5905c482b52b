// A VM that floods a bridge with source MAC addresses: `count` 60-byte frames, each from a
// MAC not used before (locally administered, 02:00:NN:NN:NN:NN from number FIRST on), to an
// address no one has, written as fast as its packet socket takes them (or RATE a second). Run
// as a process in a lab namespace (`node mac-flood.js IFACE COUNT FIRST [RATE]`); prints how many it sent (those the socket refused are
// not offered again).
import { native } from '../../src/datapath';
import type { Lab } from './namespaces';

const BATCH = 64;
const FRAME = 60;
const SLOT = 64;
const NOBODY = [0x02, 0xff, 0xff, 0xff, 0xff, 0xfe];
/** An ethertype for local experiments (IEEE 802): nothing answers it. */
const EXPERIMENTAL = [0x88, 0xb5];

/** Floods `count` new source MACs, numbered from `first`, into `dev` of namespace `ns` (at
 *  `rate` a second, when given); resolves with the number sent. */
export async function macFlood(lab: Lab, ns: string, dev: string, count: number, first = 1, rate = 0): Promise<number> {
  const timeout = rate > 0 ? (count / rate) * 1000 + 60_000 : 300_000;
  const { stdout } = await lab.exec(ns, process.execPath, [__filename, dev, String(count), String(first), String(rate)], timeout);
  return Number(stdout.trim());
}

function flood(iface: string, count: number, first: number, rate: number): number {
  const fd = native.openPacket(iface, false, 64);
  const arena = new Uint8Array(BATCH * SLOT);
  const offsets = Uint32Array.from({ length: BATCH }, (_, i) => i * SLOT);
  const lengths = new Uint32Array(BATCH).fill(FRAME);
  const pieces = new Uint32Array(BATCH).fill(1);
  for (const at of offsets) arena.set([...NOBODY, 0x02, 0, 0, 0, 0, 0, ...EXPERIMENTAL], at);
  let sent = 0;
  const started = Date.now();
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let mac = first; mac < first + count; ) {
    if (rate > 0 && mac - first > ((Date.now() - started) * rate) / 1000) {
      Atomics.wait(pause, 0, 0, 1);
      continue;
    }
    const n = Math.min(rate > 0 ? 1 : BATCH, first + count - mac);
    for (let i = 0; i < n; i++, mac++) {
      const source = offsets[i] + 6;
      arena[source + 2] = mac >>> 24;
      arena[source + 3] = mac >>> 16;
      arena[source + 4] = mac >>> 8;
      arena[source + 5] = mac;
    }
    // A busy socket takes fewer, or none (a negative errno): those MACs are not offered again.
    sent += Math.max(0, native.sendBatch(fd, false, arena, offsets, lengths, pieces, 0, n));
  }
  native.close(fd);
  return sent;
}

if (require.main === module) {
  const [iface, count, first, rate] = process.argv.slice(2);
  process.stdout.write(`${flood(iface, Number(count), Number(first), Number(rate ?? 0))}\n`);
}
