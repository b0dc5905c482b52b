// A tracked connection's FIN and reset share the flow of its other segments (the key keeps
// only whether a segment opens one): the datapath tells connection tracking of them as it
// forwards them, whether they hit the flow or waited behind its upcall.
import test from 'ava';
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FrameIo, FromDatapath, newPortMeterBuffers, packAnswers, PortMeters } from '../../src/datapath';
import { ConnTable, CtState } from '../../src/flow';
import { IpProtocol, parseAddress, VNET_HEADER_BYTES } from '../../src/packet';
import { tcpSyn } from '../helpers/frames';

const ZONE: [number, number] = [1, 2];
/** tcpSyn's: 10.0.0.1:39854 -> 10.0.0.2:80, its control bits after Ethernet, IPv4 and 13 bytes of TCP. */
const [A, B] = [parseAddress('10.0.0.1'), parseAddress('10.0.0.2')];
const FLAGS_AT = 14 + 20 + 13;
const Bits = { ack: 0x10, finAck: 0x11, rst: 0x04 } as const;

function segment(bits: number): Uint8Array {
  const frame = tcpSyn.slice();
  frame[FLAGS_AT] = bits;
  return frame;
}

/** Delivers what is queued on port 1 (without vnet headers: the slot's header is zeros). */
class QueueIo implements FrameIo {
  readonly queue: Uint8Array[] = [];
  sent = 0;
  recvBatch(_fd: number, _isTap: boolean, arena: Uint8Array, base: number, slot: number, max: number, lengths: Uint32Array): number {
    const frames = this.queue.splice(0, max);
    frames.forEach((frame, i) => {
      arena.fill(0, base + i * slot, base + i * slot + VNET_HEADER_BYTES);
      arena.set(frame, base + i * slot + VNET_HEADER_BYTES);
      lengths[i] = VNET_HEADER_BYTES + frame.length;
    });
    return frames.length;
  }
  sendBatch(_fd: number, _isTap: boolean, _arena: Uint8Array, _offsets: Uint32Array, _lengths: Uint32Array, _pieces: Uint32Array, _start: number, count: number): number {
    this.sent += count;
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
}

function setUp() {
  const io = new QueueIo();
  const conntrack = new ConnTable(64);
  const upcalls: Extract<FromDatapath, { type: 'upcall' }>[] = [];
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, new DatapathCounters(), new PortMeters(newPortMeterBuffers()), conntrack, (m) => m.type === 'upcall' && upcalls.push(m), io);
  datapath.addPort({ number: 1, name: 'vm', kind: 'packet', fd: -1, vnetHdr: false }, true);
  datapath.addPort({ number: 2, name: 'out', kind: 'packet', fd: -1, vnetHdr: false }, true);
  const slot = conntrack.open(ZONE, IpProtocol.tcp, A, B, 39854, 80, CtState.established, Date.now());
  /** Receives the frames, and answers the upcall as the slow path would: out port 2, the flow the connection's. */
  const forward = (...frames: Uint8Array[]) => {
    io.queue.push(...frames);
    datapath.drain(1);
    for (const upcall of upcalls.splice(0)) {
      const flows = Array.from({ length: upcall.keys.length / 14 }, () => ({ actions: [{ type: 'output' as const, port: 2 }], tags: [], cache: true, connection: slot }));
      datapath.install(upcall.batch, 0, packAnswers(flows));
    }
  };
  const state = () => conntrack.find(ZONE, IpProtocol.tcp, A, B, 39854, 80)?.state;
  return { io, forward, state, upcalls };
}

test("a FIN that hits the connection's flow moves it to closing, a reset to closed; data changes nothing", (t) => {
  const { io, forward, state } = setUp();
  forward(segment(Bits.ack));
  t.is(io.sent, 1, 'the first segment went up and out');
  forward(segment(Bits.ack), segment(Bits.ack));
  t.is(state(), CtState.established);
  forward(segment(Bits.finAck));
  t.is(state(), CtState.closing, 'the FIN hit the flow: no upcall, and conntrack heard of it');
  forward(segment(Bits.rst));
  t.is(state(), CtState.closed);
  t.is(io.sent, 5);
});

test('a FIN queued behind its flow\'s upcall is told when the flow is installed', (t) => {
  const { io, forward, state } = setUp();
  forward(segment(Bits.ack), segment(Bits.finAck));
  t.is(io.sent, 2);
  t.is(state(), CtState.closing);
});
