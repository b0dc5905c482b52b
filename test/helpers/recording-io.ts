// A recording stand-in for the datapath's native I/O: frames each port's descriptor has to
// read and datagrams the tunnel has to read are queued by the test; what is sent is recorded,
// each send gathered from its pieces, the tunnel's runs cut apart as the kernel would.
import { FrameIo, gather } from '../../src/datapath';
import { VNET_HEADER_BYTES } from '../../src/packet';

/** Sends [start, start + count) of a batch, each gathered from its pieces (see TxQueue). */
function gathered(arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, pieces: Uint32Array, start: number, count: number): Uint8Array[] {
  let piece = 0;
  for (let i = 0; i < start; i++) piece += pieces[i];
  const sends: Uint8Array[] = [];
  for (let i = start; i < start + count; i++) {
    sends.push(gather(arena, offsets.subarray(piece), lengths.subarray(piece), pieces[i]));
    piece += pieces[i];
  }
  return sends;
}

export class RecordingIo implements FrameIo {
  inbox: { source: number; datagram: Uint8Array; segmentSize?: number }[] = [];
  sends: { datagrams: number; segmentSize: number }[] = [];
  sent: { fd: number; bytes: Uint8Array }[] = [];
  tunnelled: { destination: number; port: number; bytes: Uint8Array }[] = [];
  readable: (() => void)[] = [];
  /** Frames (no vnet header) each port's descriptor has to read. */
  frames = new Map<number, Uint8Array[]>();
  /** Frames are stamped as received when read, on performance.now()'s clock (see monotonicMs). */
  recvBatch(fd: number, _isTap: boolean, arena: Uint8Array, base: number, slot: number, max: number, lengths: Uint32Array, _vnetHdr: boolean, stamps: Float64Array): number {
    const batch = (this.frames.get(fd) ?? []).splice(0, max);
    batch.forEach((frame, i) => {
      stamps[i] = performance.now();
      arena.fill(0, base + i * slot, base + i * slot + VNET_HEADER_BYTES);
      arena.set(frame, base + i * slot + VNET_HEADER_BYTES);
      lengths[i] = VNET_HEADER_BYTES + frame.length;
    });
    return batch.length;
  }
  /** Sends to ports tried so far, refused ones included. */
  attempts = 0;
  /** The errno with which a port's device refuses the attempt numbered `attempt`, or 0. */
  refuse: (fd: number, attempt: number) => number = () => 0;
  /** As sendmmsg: the sends before a refused one count; -errno if the first is refused. */
  sendBatch(fd: number, _isTap: boolean, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, pieces: Uint32Array, start: number, count: number): number {
    const sends = gathered(arena, offsets, lengths, pieces, start, count);
    for (let k = 0; k < sends.length; k++) {
      const errno = this.refuse(fd, this.attempts++);
      if (errno !== 0) return k > 0 ? k : -errno;
      this.sent.push({ fd, bytes: sends[k] });
    }
    return count;
  }
  /** Each inbox entry is one receive: a datagram, or a run the kernel kept together (UDP GRO). */
  recvFromBatch(_fd: number, arena: Uint8Array, base: number, slot: number, max: number, lengths: Uint32Array, sources: Uint32Array, segmentSizes: Uint32Array, stamps: Float64Array): number {
    const batch = this.inbox.splice(0, max);
    batch.forEach(({ source, datagram, segmentSize = 0 }, i) => {
      stamps[i] = performance.now();
      arena.fill(0, base + i * slot, base + i * slot + VNET_HEADER_BYTES);
      arena.set(datagram, base + i * slot + VNET_HEADER_BYTES);
      lengths[i] = VNET_HEADER_BYTES + datagram.length;
      sources[i] = source;
      segmentSizes[i] = segmentSize;
    });
    return batch.length;
  }
  /** Records each datagram, cutting runs apart as the kernel would (UDP GSO). */
  sendToBatch(_fd: number, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, pieces: Uint32Array, destinations: Uint32Array, segmentSizes: Uint32Array, start: number, count: number, port: number): number {
    gathered(arena, offsets, lengths, pieces, start, count).forEach((bytes, k) => {
      const i = start + k;
      const step = segmentSizes[i] || bytes.length;
      this.sends.push({ datagrams: Math.ceil(bytes.length / step), segmentSize: segmentSizes[i] });
      for (let at = 0; at < bytes.length; at += step) this.tunnelled.push({ destination: destinations[i], port, bytes: bytes.slice(at, at + step) });
    });
    return count;
  }
  receiveDrops(): number {
    return 0;
  }
  monotonicMs(): number {
    return performance.now();
  }
  /** Descriptors watched for reading. */
  watched = new Set<number>();
  watch(fd: number, onReadable: (readyAt: number) => void): unknown {
    this.readable.push(() => onReadable(performance.now()));
    this.watched.add(fd);
    return fd;
  }
  unwatch(watch: unknown): void {
    this.watched.delete(watch as number);
  }
}

