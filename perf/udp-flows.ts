// A load generator for flow setups: 64-byte UDP frames, each of a 5-tuple not seen before,
// written in batches to a packet socket. Run inside a lab namespace:
//   node dist/perf/udp-flows.js IFACE SRC_MAC DST_MAC SRC_IP DST_IP SECONDS RATE
// RATE frames per second (paced, sleeping between bursts, so that the generator does not take
// a core from the switch on a two-core machine). Prints the number of frames sent.
import { native } from '../src/datapath';
import { emitEthernet, emitIpv4, emitUdp, EtherType, IpProtocol, parseIpv4, parseMac } from '../src/packet';

const [iface, sourceMac, destinationMac, sourceIp, destinationIp, secondsText, rateText] = process.argv.slice(2);
const BATCH = 32;
const FRAME = 60;
const SLOT = 128;
const fd = native.openPacket(iface, false, 64);
const arena = new Uint8Array(BATCH * SLOT);
const offsets = new Uint32Array(BATCH);
const lengths = new Uint32Array(BATCH).fill(FRAME);
const ONE_PIECE_EACH = new Uint32Array(BATCH).fill(1);
for (let i = 0; i < BATCH; i++) {
  offsets[i] = i * SLOT;
  const at = emitEthernet(arena, offsets[i], { destination: parseMac(destinationMac), source: parseMac(sourceMac), ethertype: EtherType.ipv4 });
  const udp = emitIpv4(arena, at, {
    dscp: 0, ecn: 0, identification: 0, dontFragment: true, ttl: 64, protocol: IpProtocol.udp,
    source: parseIpv4(sourceIp), destination: parseIpv4(destinationIp), payloadLength: 18,
  });
  emitUdp(arena, udp, { sourcePort: 0, destinationPort: 0, payloadLength: 10 });
}
const started = Date.now();
const end = started + Number(secondsText) * 1000;
const rate = Number(rateText);
const pause = new Int32Array(new SharedArrayBuffer(4));
let sent = 0;
let tuple = 0;
while (Date.now() < end) {
  if (sent > ((Date.now() - started) * rate) / 1000) {
    Atomics.wait(pause, 0, 0, 1);
    continue;
  }
  for (let i = 0; i < BATCH; i++, tuple++) {
    // A new (source port, destination port) pair per frame: 2^32 flows before one repeats.
    const udp = offsets[i] + 14 + 20;
    arena[udp] = tuple >>> 24;
    arena[udp + 1] = tuple >>> 16;
    arena[udp + 2] = tuple >>> 8;
    arena[udp + 3] = tuple;
  }
  sent += native.sendBatch(fd, false, arena, offsets, lengths, ONE_PIECE_EACH, 0, BATCH);
}
process.stdout.write(`${sent}\n`);
