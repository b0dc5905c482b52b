// `npm run bench -- flowcache`: exact-match lookups per second on one core with a million
// cached flows (hash included, as the datapath does it), and what a flow costs in memory.
import { FlowCache, hashKey, KEY_WORDS, KeyWord } from '../src/flow';

export function flowcache(options: { flows: number; lookups: number; log: (line: string) => void }): object {
  const heapBefore = process.memoryUsage().arrayBuffers;
  const cache = new FlowCache({ capacity: options.flows, idleTimeoutMs: 10_000 });
  const keys = new Uint32Array(options.flows * KEY_WORDS);
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < options.flows; i++) {
    const at = i * KEY_WORDS;
    // Distinct TCP 5-tuples between 4096 stations on 64 ports.
    keys[at + KeyWord.inPortVlan] = ((1 + (i % 64)) << 16) >>> 0;
    keys[at + KeyWord.typeProtoFlags] = (0x0800 << 16) | (6 << 8);
    keys[at + KeyWord.macs] = next();
    keys[at + KeyWord.macs + 1] = next();
    keys[at + KeyWord.macs + 2] = next();
    keys[at + KeyWord.networkSource] = 0x0a000000 | (i >>> 8);
    keys[at + KeyWord.networkDestination] = 0x0a800000 | (i & 0xffff);
    keys[at + KeyWord.transport] = ((1024 + (i % 60000)) << 16) | 80;
    cache.insert(keys, at, hashKey(keys, at), 0, [`port:${1 + (i % 64)}`], 0);
  }
  const bytesPerFlow = (process.memoryUsage().arrayBuffers - heapBefore - keys.byteLength) / options.flows;
  options.log(`${cache.size} flows cached; ${cache.bytesPerFlow.toFixed(0)} B/flow of typed arrays at capacity`);
  // Random order, so that lookups miss the CPU caches as a real mix of flows would.
  const order = new Uint32Array(options.lookups);
  for (let i = 0; i < order.length; i++) order[i] = (next() % options.flows) * KEY_WORDS;
  let found = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const at = order[i];
      if (cache.lookup(keys, at, hashKey(keys, at)) >= 0) found++;
    }
  };
  run(Math.min(1_000_000, options.lookups)); // warm-up: let the JIT settle
  found = 0;
  const start = process.hrtime.bigint();
  run(options.lookups);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (found !== options.lookups) throw new Error(`only ${found} of ${options.lookups} lookups hit`);
  return {
    bench: 'flowcache',
    flows: cache.size,
    lookups: options.lookups,
    lookups_per_s: Math.round(options.lookups / seconds),
    bytes_per_flow: Math.round(bytesPerFlow),
    targets: { lookups_per_s: 5_000_000, bytes_per_flow: 200 },
  };
}
