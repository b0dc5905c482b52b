// A tracked connection's FIN and reset share the flow of its other segments (the key keeps
// only whether a segment opens one): the datapath tells connection tracking of them as it
// forwards them, whether they hit the flow or waited behind its upcall. Flows set up ahead of
// their first frame are told of that frame, as the way of the connection they go.
import test from 'ava';
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FromDatapath, newPortMeterBuffers, packAnswers, PortMeters } from '../../src/datapath';
import { RecordingIo } from '../helpers/recording-io';
import { ConnTable, CtState, FlowKeyExtractor, KEY_WORDS, TellFirst } from '../../src/flow';
import { IpProtocol, parseAddress } from '../../src/packet';
import { tcpSyn } from '../helpers/frames';

const ZONE: [number, number] = [1, 2];
/** tcpSyn's: 10.0.0.1:39854 -> 10.0.0.2:80, its control bits after Ethernet, IPv4 and 13 bytes of TCP. */
const [A, B] = [parseAddress('10.0.0.1'), parseAddress('10.0.0.2')];
const FLAGS_AT = 14 + 20 + 13;
const Bits = { syn: 0x02, synAck: 0x12, ack: 0x10, finAck: 0x11, rst: 0x04 } as const;

function segment(bits: number): Uint8Array {
  const frame = tcpSyn.slice();
  frame[FLAGS_AT] = bits;
  return frame;
}

/** The other way: MACs, addresses and ports swapped. */
function reply(bits: number): Uint8Array {
  const f = segment(bits);
  const swap = (a: number, b: number, n: number) => {
    const first = f.slice(a, a + n);
    f.copyWithin(a, b, b + n);
    f.set(first, b);
  };
  swap(0, 6, 6);
  swap(14 + 12, 14 + 16, 4);
  swap(34, 36, 2);
  return f;
}

function keyOf(frame: Uint8Array, inPort: number): Uint32Array {
  const key = new Uint32Array(KEY_WORDS);
  new FlowKeyExtractor().extract(frame, 0, frame.length, inPort, key, 0);
  return key;
}

function setUp() {
  const io = new RecordingIo();
  const conntrack = new ConnTable(64);
  const upcalls: Extract<FromDatapath, { type: 'upcall' }>[] = [];
  let made = 0;
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, new DatapathCounters(), new PortMeters(newPortMeterBuffers()), conntrack, (m) => m.type === 'upcall' && upcalls.push(m) && made++, io);
  datapath.addPort({ number: 1, name: 'vm', kind: 'packet', fd: 11, vnetHdr: false }, true);
  datapath.addPort({ number: 2, name: 'out', kind: 'packet', fd: 12, vnetHdr: false }, true);
  const slot = conntrack.open(ZONE, IpProtocol.tcp, A, B, 39854, 80, CtState.established, Date.now());
  /** Receives the frames on port `from`, and answers the upcalls as the slow path would: out
   *  the other port, the flow the connection's; with `ahead`, also sets up those flows. */
  const receive = (from: number, frames: Uint8Array[], ahead: { key: Uint32Array; port: number; tell: number }[] = []) => {
    io.frames.set(10 + from, frames);
    datapath.drain(from);
    for (const upcall of upcalls.splice(0)) {
      const flows = Array.from({ length: upcall.keys.length / KEY_WORDS }, () => ({ actions: [{ type: 'output' as const, port: 3 - from }], tags: [], cache: true, connection: slot }));
      const predicted = ahead.map((p) => ({ key: p.key, actions: [{ type: 'output' as const, port: p.port }], tags: [], cache: true, connection: slot, tell: p.tell }));
      datapath.install(upcall.batch, 0, packAnswers(flows, predicted));
    }
  };
  const forward = (...frames: Uint8Array[]) => receive(1, frames);
  const state = () => conntrack.find(ZONE, IpProtocol.tcp, A, B, 39854, 80)?.state;
  return { io, conntrack, slot, receive, forward, state, upcallsMade: () => made };
}

test("a FIN that hits the connection's flow moves it to closing, a reset to closed; data changes nothing", (t) => {
  const { io, forward, state } = setUp();
  forward(segment(Bits.ack));
  t.is(io.sent.length, 1, 'the first segment went up and out');
  forward(segment(Bits.ack), segment(Bits.ack));
  t.is(state(), CtState.established);
  forward(segment(Bits.finAck));
  t.is(state(), CtState.closing, 'the FIN hit the flow: no upcall, and conntrack heard of it');
  forward(segment(Bits.rst));
  t.is(state(), CtState.closed);
  t.is(io.sent.length, 5);
});

test('a FIN queued behind its flow\'s upcall is told when the flow is installed', (t) => {
  const { io, forward, state } = setUp();
  forward(segment(Bits.ack), segment(Bits.finAck));
  t.is(io.sent.length, 2);
  t.is(state(), CtState.closing);
});

test('flows set up with a SYN: its connection\'s later segments both ways go without an upcall, and connection tracking hears of each way\'s first', (t) => {
  const { io, conntrack, slot, receive, state, upcallsMade } = setUp();
  conntrack.update(slot, CtState.synSent, false, Date.now());
  const ahead = [
    { key: keyOf(segment(Bits.ack), 1), port: 2, tell: TellFirst.original },
    { key: keyOf(reply(Bits.synAck), 2), port: 1, tell: TellFirst.reply },
  ];
  receive(1, [segment(Bits.syn)], ahead);
  t.is(io.sent.length, 1);
  t.is(upcallsMade(), 1);
  const count = (from: number, frame: Uint8Array) => receive(from, [frame]);
  count(2, reply(Bits.synAck));
  t.is(state(), CtState.synReceived, 'the SYN-ACK, told as the reply');
  count(1, segment(Bits.ack));
  t.is(state(), CtState.established, 'the ACK, told as the original way');
  count(1, segment(Bits.ack));
  count(2, reply(Bits.ack));
  t.is(state(), CtState.established, 'later segments are not told');
  count(2, reply(Bits.finAck));
  t.is(state(), CtState.closing);
  t.is(io.sent.length, 6, 'every segment forwarded');
  t.is(upcallsMade(), 1, 'only the SYN went up');
});
