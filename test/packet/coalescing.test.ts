// Receive offload in software: segments merged back into the super-frame they were cut from.
import test from 'ava';
import { IpProtocol, ipv4PseudoSum, Ipv4Packet, TcpCoalescer, TcpFlag, VNET_HEADER_BYTES, VnetFlag, VnetGso, VnetHeader } from '../../src/packet';
import { gather } from '../../src/datapath';
import { cutSuperFrame, superFrame, SuperFrameShape } from '../helpers/super-frame';

/** The frames (no vnet header) a super-frame is cut into. */
function cut(shape: SuperFrameShape): Uint8Array[] {
  return cutSuperFrame(superFrame(shape)).found;
}

/** Feeds frames, laid out one after another in an arena, to a coalescer; returns what it emits
 *  (vnet header and frame, gathered from its pieces) and the frames it refused, in order. */
function coalesce(frames: Uint8Array[], scratch = 1 << 20) {
  const total = frames.reduce((n, f) => n + f.length, 0);
  const arena = new Uint8Array(total + scratch);
  let used = total;
  const out: { owner: number; bytes: Uint8Array }[] = [];
  const coalescer = new TcpCoalescer(
    arena,
    (bytes) => (used + bytes > arena.length ? -1 : (used += bytes) - bytes),
    (owner, offsets, lengths, count) => out.push({ owner, bytes: gather(arena, offsets, lengths, count) }),
  );
  let at = 0;
  for (const frame of frames) {
    arena.set(frame, at);
    if (!coalescer.add(7, at, at + frame.length)) out.push({ owner: -1, bytes: frame });
    at += frame.length;
  }
  coalescer.finish();
  return out;
}

const plain = { flags: TcpFlag.ack, payload: 5000, mss: 1000 };

test('segments of one send become the super-frame again, which segments into the same frames', (t) => {
  for (const ipv6 of [false, true]) {
    const segments = cut({ ...plain, ipv6 });
    const out = coalesce(segments);
    t.is(out.length, 1);
    const merged = out[0].bytes;
    const vnet = new VnetHeader(merged, 0);
    t.is(vnet.flags, VnetFlag.needsChecksum);
    t.is(vnet.gsoType, ipv6 ? VnetGso.tcpv6 : VnetGso.tcpv4);
    t.is(vnet.gsoSize, 1000);
    t.is(vnet.hdrLen, ipv6 ? 74 : 54);
    t.is(merged.length, VNET_HEADER_BYTES + vnet.hdrLen + 5000);
    const again = cutSuperFrame(merged).found;
    t.deepEqual(again.map((f) => [...f]), segments.map((f) => [...f]), ipv6 ? 'IPv6' : 'IPv4');
  }
});

test('the merged IPv4 header is valid and the TCP checksum field holds the pseudo-header sum', (t) => {
  const [{ bytes }] = coalesce(cut(plain));
  const ip = new Ipv4Packet(bytes, VNET_HEADER_BYTES + 14);
  t.is(ip.totalLength, 40 + 5000);
  t.true(ip.verifyChecksum());
  const field = (bytes[VNET_HEADER_BYTES + 34 + 16] << 8) | bytes[VNET_HEADER_BYTES + 34 + 17];
  t.is(field, ipv4PseudoSum(bytes, VNET_HEADER_BYTES + 14, IpProtocol.tcp, 20 + 5000));
});

test('a PSH ends the run and is kept; the segments after it start another', (t) => {
  const first = cut({ ...plain, flags: TcpFlag.ack | TcpFlag.psh, payload: 3000 });
  const second = cut({ ...plain, sequence: (0xfffffc00 + 3000) >>> 0, payload: 2000 });
  const out = coalesce([...first, ...second]);
  t.is(out.length, 2);
  t.is(out[0].bytes[VNET_HEADER_BYTES + 34 + 13], TcpFlag.ack | TcpFlag.psh);
  t.is(out[0].bytes.length, VNET_HEADER_BYTES + 54 + 3000);
  t.is(out[1].bytes.length, VNET_HEADER_BYTES + 54 + 2000);
});

test('a gap in the sequence, another flow, or a SYN/FIN/CWR is not merged; order is kept', (t) => {
  const segments = cut(plain);
  const otherFlow = cut({ ...plain, sourcePort: 40001, payload: 1000 });
  const withCwr = cut({ ...plain, flags: TcpFlag.ack | TcpFlag.cwr, payload: 1000 });
  const out = coalesce([segments[0], segments[2], otherFlow[0], withCwr[0]]);
  t.deepEqual(out.map((o) => o.owner), [7, 7, 7, -1]);
  t.deepEqual(out.slice(0, 3).map((o) => o.bytes[1]), [VnetGso.none, VnetGso.none, VnetGso.none], 'single frames keep no GSO');
  t.deepEqual([...out[1].bytes.subarray(VNET_HEADER_BYTES)], [...segments[2]], 'a single frame as it came');
});

test('a segment longer than the first, or a frame padded past its IP packet, is not merged', (t) => {
  const small = cut({ ...plain, mss: 500, payload: 500 })[0];
  const next = cut({ ...plain, sequence: (0xfffffc00 + 500) >>> 0, payload: 1000 })[0];
  t.is(coalesce([small, next]).length, 2);
  const padded = new Uint8Array(next.length + 4);
  padded.set(next);
  t.is(coalesce([padded])[0].owner, -1);
});

test('without scratch space for the merged headers the frame is refused, not lost', (t) => {
  const out = coalesce(cut(plain), 20);
  t.is(out.length, 5);
  t.true(out.every((o) => o.owner === -1));
});
