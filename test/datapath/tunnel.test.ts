// The datapath's VXLAN tunnel with a recording stand-in for the native I/O: datagrams in are
// delivered by key with no simulation, or dropped and counted; frames out are encapsulated.
import test from 'ava';
import { Datapath, DatapathCounters, DEFAULT_DATAPATH_OPTIONS, FrameIo, PortCounter } from '../../src/datapath';
import { DROP_REASONS } from '../../src/flow';
import { emitVxlan, VNET_HEADER_BYTES } from '../../src/packet';
import { icmpEchoRequest } from '../helpers/frames';

const PEER = 0xc0a86402; // 192.168.100.2
const STRANGER = 0xc0a864fe;

class RecordingIo implements FrameIo {
  inbox: { source: number; datagram: Uint8Array }[] = [];
  sent: { fd: number; bytes: Uint8Array }[] = [];
  tunnelled: { destination: number; port: number; bytes: Uint8Array }[] = [];
  readable: (() => void)[] = [];
  recvBatch(): number {
    return 0;
  }
  sendBatch(fd: number, _isTap: boolean, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, start: number, count: number): number {
    for (let i = start; i < start + count; i++) this.sent.push({ fd, bytes: arena.slice(offsets[i], offsets[i] + lengths[i]) });
    return count;
  }
  recvFromBatch(_fd: number, arena: Uint8Array, base: number, slot: number, max: number, lengths: Uint32Array, sources: Uint32Array): number {
    const batch = this.inbox.splice(0, max);
    batch.forEach(({ source, datagram }, i) => {
      arena.fill(0, base + i * slot, base + i * slot + VNET_HEADER_BYTES);
      arena.set(datagram, base + i * slot + VNET_HEADER_BYTES);
      lengths[i] = VNET_HEADER_BYTES + datagram.length;
      sources[i] = source;
    });
    return batch.length;
  }
  sendToBatch(_fd: number, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, destinations: Uint32Array, start: number, count: number, port: number): number {
    for (let i = start; i < start + count; i++) this.tunnelled.push({ destination: destinations[i], port, bytes: arena.slice(offsets[i], offsets[i] + lengths[i]) });
    return count;
  }
  receiveDrops(): number {
    return 0;
  }
  watch(_fd: number, onReadable: () => void): unknown {
    this.readable.push(onReadable);
    return onReadable;
  }
  unwatch(): void {}
}

function setUp() {
  const io = new RecordingIo();
  const counters = new DatapathCounters();
  const datapath = new Datapath(DEFAULT_DATAPATH_OPTIONS, counters, () => {}, io);
  datapath.addPort({ number: 3, name: 'vm', kind: 'packet', fd: 33, vnetHdr: true }, false);
  datapath.addPort({ number: 0, name: 'vxlan', kind: 'tunnel', fd: 44, vnetHdr: false }, true);
  datapath.setTunnelMap([[5000, 3]], [], [PEER]);
  const drops = (reason: string) => counters.values[counters.dropIndex(DROP_REASONS.indexOf(reason as never))];
  return { io, counters, datapath, drops };
}

function datagram(vni: number, frame: Uint8Array): Uint8Array {
  const d = new Uint8Array(8 + frame.length);
  emitVxlan(d, 0, vni);
  d.set(frame, 8);
  return d;
}

test('a datagram from a registered host is delivered to the port its key names, with no upcall', (t) => {
  const { io, datapath, counters } = setUp();
  io.inbox.push({ source: PEER, datagram: datagram(5000, icmpEchoRequest) });
  io.readable[0]();
  t.is(io.sent.length, 1);
  t.is(io.sent[0].fd, 33);
  t.deepEqual([...io.sent[0].bytes.subarray(VNET_HEADER_BYTES)], [...icmpEchoRequest], 'the inner frame, behind a zeroed vnet header');
  t.is(counters.values[counters.portIndex(0, PortCounter.rxPackets)], 1);
  t.is(datapath.dumpFlows().length, 0, 'nothing was simulated or cached');
});

test('a datagram from an address that is not a registered host, or with an unknown key, is dropped and counted', (t) => {
  const { io, drops } = setUp();
  io.inbox.push({ source: STRANGER, datagram: datagram(5000, icmpEchoRequest) });
  io.inbox.push({ source: PEER, datagram: datagram(4242, icmpEchoRequest) });
  io.inbox.push({ source: PEER, datagram: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 2) });
  io.readable[0]();
  t.is(io.sent.length, 0);
  t.is(drops('unknownTunnelPeer'), 1);
  t.is(drops('unknownTunnelKey'), 1);
  t.is(drops('malformed'), 1);
});

test('a tunnel action sends the frame behind a VXLAN header to the remote host on port 4789', (t) => {
  const { io, datapath } = setUp();
  const frame = new Uint8Array(VNET_HEADER_BYTES + icmpEchoRequest.length);
  frame.set(icmpEchoRequest, VNET_HEADER_BYTES);
  datapath.transmit([{ frame, actions: [{ type: 'tunnel', key: 7, remote: '192.168.100.2' }] }]);
  t.is(io.tunnelled.length, 1);
  t.is(io.tunnelled[0].destination, PEER);
  t.is(io.tunnelled[0].port, 4789);
  const expected = datagram(7, icmpEchoRequest);
  t.deepEqual([...io.tunnelled[0].bytes], [...expected]);
});
