// A million random, mutated and truncated frames through the datapath engine and the
// learning bridge: nothing may throw, and every frame is either sent or counted as a drop.
import test from 'ava';
import { ConnTable } from '../../src/flow';
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FrameIo, FromDatapath, frameOf, newPortMeterBuffers, packAnswers, PortCounter, PortMeters, PortSpec } from '../../src/datapath';
import { DROP_REASONS, KEY_WORDS } from '../../src/flow';
import { VNET_HEADER_BYTES } from '../../src/packet';
import { HostTopology } from '../../src/agent/host-topology';
import { decodeState, TopologySimulation } from '../../src/simulation';
import { arpRequest, icmpEchoRequest, neighborSolicitation, tcpSyn, udpDatagram } from '../helpers/frames';

const FRAMES = 1_000_000;
const templates = [arpRequest, icmpEchoRequest, neighborSolicitation, tcpSyn, udpDatagram];

/** xorshift32: the same frames on every run. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

class FuzzIo implements FrameIo {
  delivered = 0;
  private readonly next = random(0x5eed);
  private readonly frame = new Uint8Array(256);

  recvBatch(_fd: number, _isTap: boolean, arena: Uint8Array, base: number, slot: number, max: number, lengths: Uint32Array, vnetHdr: boolean): number {
    const n = Math.min(max, FRAMES - this.delivered);
    for (let i = 0; i < n; i++) {
      const length = this.build(vnetHdr);
      arena.set(this.frame.subarray(0, length), base + i * slot);
      lengths[i] = length;
    }
    this.delivered += n;
    return n;
  }

  sendBatch(_fd: number, _isTap: boolean, _arena: Uint8Array, _offsets: Uint32Array, _lengths: Uint32Array, _pieces: Uint32Array, _start: number, count: number): number {
    return count;
  }

  recvFromBatch(): number {
    return 0;
  }

  sendToBatch(_fd: number, _arena: Uint8Array, _offsets: Uint32Array, _lengths: Uint32Array, _pieces: Uint32Array, _destinations: Uint32Array, _segmentSizes: Uint32Array, _start: number, count: number): number {
    return count;
  }

  receiveDrops(): number {
    return 0;
  }

  watch(): unknown {
    return {};
  }

  unwatch(): void {}

  /** A vnet header and a frame into this.frame, as the addon lays out a slot (a zeroed header
   *  for a port without them); returns the length. */
  private build(withVnet: boolean): number {
    const r = this.next;
    const f = this.frame;
    const at = VNET_HEADER_BYTES;
    f.fill(0, 0, VNET_HEADER_BYTES);
    if (withVnet) {
      const choice = r() % 10;
      if (choice === 0) for (let i = 0; i < VNET_HEADER_BYTES; i++) f[i] = r();
      else if (choice === 1) f.set([1, 0, 0, 0, 0, 0, 34 + (r() % 40), 0, r() % 20, 0]);
    }
    if (r() % 4 === 0) {
      const length = r() % 120;
      for (let i = 0; i < length; i++) f[at + i] = r();
      return at + length;
    }
    const template = templates[r() % templates.length];
    f.set(template, at);
    // A small pool of stations, some with the group bit set, so learning, unicast and floods all happen.
    f[at + 5] = r() % 16;
    f[at + 11] = r() % 16;
    if (r() % 8 === 0) f[at] |= 1;
    if (r() % 8 === 0) f[at + 6] |= 1;
    for (let flips = r() % 4; flips > 0; flips--) f[at + (r() % template.length)] = r();
    const length = r() % 3 === 0 ? r() % (template.length + 1) : template.length;
    return at + length;
  }
}

test('a million fuzzed frames: no exception, each one sent or counted as a drop', (t) => {
  const io = new FuzzIo();
  const counters = new DatapathCounters();
  const upcalls: Extract<FromDatapath, { type: 'upcall' }>[] = [];
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, new PortMeters(newPortMeterBuffers()), new ConnTable(64), (m) => m.type === 'upcall' && upcalls.push(m), io);
  const specs: PortSpec[] = [
    { number: 1, name: 'fuzz-vnet', kind: 'packet', fd: -1, vnetHdr: true },
    { number: 2, name: 'fuzz-plain', kind: 'packet', fd: -1, vnetHdr: false },
  ];
  for (const spec of specs) datapath.addPort(spec, true);
  const host = new HostTopology('fuzz', 256);
  const simulation = new TopologySimulation(decodeState(host.encode(specs.map((s) => ({ number: s.number, name: s.name, up: true })))));
  let generation = 0;

  const answer = (upcall: (typeof upcalls)[number]) => {
    const dispatched = generation;
    const flows = [];
    const stale = new Set<string>();
    for (let at = 0; at < upcall.keys.length; at += KEY_WORDS) {
      const result = simulation.simulate(upcall.keys, at, frameOf(upcall.frames, at / KEY_WORDS), 0);
      flows.push({ actions: result.actions, tags: result.tags, cache: result.cache, connection: result.connection });
      result.invalidate.forEach((tag) => stale.add(tag));
    }
    if (stale.size > 0) datapath.invalidate(++generation, [...stale]);
    datapath.install(upcall.batch, dispatched, packAnswers(flows));
  };
  for (let turn = 0; io.delivered < FRAMES; turn++) {
    datapath.drain(specs[turn % 2].number);
    for (const upcall of upcalls.splice(0)) answer(upcall);
  }
  // The last upcalls: answering them sends the flows that waited for them to come back.
  while (upcalls.length > 0) answer(upcalls.shift()!);

  const c = counters.values;
  const sum = (counter: number) => specs.reduce((s, p) => s + c[counters.portIndex(p.number, counter)], 0);
  const drops = DROP_REASONS.reduce((s, _, code) => s + c[counters.dropIndex(code)], 0);
  t.log('drops:', Object.fromEntries(DROP_REASONS.map((r, code) => [r, c[counters.dropIndex(code)]]).filter(([, n]) => n)));
  t.is(sum(PortCounter.rxPackets), FRAMES);
  t.is(sum(PortCounter.txPackets) + drops, FRAMES, 'every frame is sent once or dropped once');
  t.true(c[counters.dropIndex(DROP_REASONS.indexOf('malformed'))] > 0, 'runts were seen and counted');
  t.true(sum(PortCounter.txPackets) > FRAMES / 4, 'a good share was forwarded');
});
