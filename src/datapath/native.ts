// The typed face of the native addon (native/): tap and packet sockets, batched I/O, a worker's poller,
// handing descriptors over.
import path from 'node:path';

export interface LinkState {
  index: number;
  up: boolean;
  running: boolean;
}

export interface NativeAddon {
  openTap(name: string, vnetHdr: boolean): number;
  /** A packet socket on interface `name`, read through a receive ring of ringSlots slots of
   *  2 KiB (an even number from 64 to 65,536). */
  openPacket(name: string, vnetHdr: boolean, ringSlots: number): number;
  close(fd: number): void;
  linkState(name: string): LinkState | null;
  setLinkUp(name: string): void;
  /** Each slot gets a vnet header and a frame; lengths count both. vnetHdr: the socket writes the
   *  header itself; otherwise a zeroed one is written for it. stamps: when the kernel received
   *  each frame, in monotonicMs's clock (NaN from a tap, whose reads carry none). */
  recvBatch(fd: number, isTap: boolean, arena: Uint8Array, base: number, slotBytes: number, max: number, lengths: Uint32Array, vnetHdr: boolean, stamps: Float64Array): number;
  /** Frame i is gathered from pieces[i] consecutive pieces (offsets, lengths) of the arena,
   *  after those of the frames before it (see TxQueue). */
  sendBatch(fd: number, isTap: boolean, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, pieces: Uint32Array, start: number, count: number): number;
  receiveDrops(fd: number): number;
  /** A packet socket's receive ring: its size and the slot it is read from next; null when it
   *  has none. What an agent taking the port over maps and starts from (adoptRing). */
  ringOf(fd: number): { slots: number; head: number } | null;
  /** Maps the receive ring (of `slots`) of a packet socket handed over, read up to `head`. */
  adoptRing(fd: number, slots: number, head: number): void;
  /** A UDP socket bound to address:port, for the VXLAN tunnel. */
  openUdp(address: string, port: number): number;
  /** Like recvBatch, each datagram behind a zeroed vnet header; sources get the senders' IPv4
   *  addresses as numbers. A slot may hold a run of datagrams from one sender that the kernel
   *  kept together (UDP GRO): segmentSizes gets their size, or 0 for a single datagram. */
  recvFromBatch(fd: number, arena: Uint8Array, base: number, slotBytes: number, max: number, lengths: Uint32Array, sources: Uint32Array, segmentSizes: Uint32Array, stamps: Float64Array): number;
  /** Send i of the batch, gathered from its pieces as in sendBatch, goes to destinations[i] (an
   *  IPv4 address as a number) at `port`: one datagram, or when segmentSizes[i] is not 0 a run
   *  of datagrams of that size (UDP GSO). */
  sendToBatch(fd: number, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, pieces: Uint32Array, destinations: Uint32Array, segmentSizes: Uint32Array, start: number, count: number, port: number): number;
  /** chunkSums (src/packet/checksum.ts), eight bytes at a time. */
  internetSums(b: Uint8Array, start: number, end: number, chunk: number, sums: Uint32Array): void;
  /** A listener at `path` for a handover (a unix SOCK_SEQPACKET socket, non-blocking). */
  listenHandover(path: string): number;
  /** Gives `fds` (which stay open here too) and `text` to the listener at `path`. */
  sendHandover(path: string, fds: number[], text: string): void;
  /** What a giver gave, once it has closed; null while none has connected. */
  receiveHandover(listenFd: number): { fds: number[]; text: string } | null;
  /** The calling thread's CPU time, in milliseconds. */
  threadCpuMs(): number;
  /** Asks the fair scheduler for a slice of `us` µs for the calling thread (0: its default);
   *  returns the thread's slice then, in µs (0: the kernel keeps none; negative: -errno). */
  setThreadSlice(us: number): number;
  /** CLOCK_MONOTONIC in ms: the clock of the receive stamps and of readiness. */
  monotonicMs(): number;
  /** A datapath worker's epoll set (worker-loop.ts): descriptors added with a token, and a
   *  wait that writes the ready ones' tokens, spinning up to spinUs first (-1 ms: no limit). */
  openPoller(): number;
  /** Closes a poller (one left open is closed when its thread's environment is torn down). */
  closePoller(poller: number): void;
  pollerAdd(poller: number, fd: number, token: number): void;
  pollerRemove(poller: number, fd: number): void;
  pollerWait(poller: number, tokens: Int32Array, timeoutMs: number, spinUs: number, readyAt: Float64Array): number;
  /** An eventfd that wakes a worker's poller: signalled by the agent's thread after it posts. */
  openEventFd(): number;
  signalEventFd(fd: number): void;
  clearEventFd(fd: number): void;
  readonly maxBatch: number;
  readonly vnetHeaderBytes: number;
}

/** What the fast path moves frames with: the addon's batched I/O and the readiness of its ports
 *  (a worker's loop, WorkerLoop); a test may stand in for both. */
export type FrameIo = Pick<NativeAddon, 'recvBatch' | 'sendBatch' | 'recvFromBatch' | 'sendToBatch' | 'receiveDrops' | 'monotonicMs'> & {
  /** Calls onReadable, with the time (monotonicMs) the readiness was seen, whenever fd is readable. */
  watch(fd: number, onReadable: (readyAt: number) => void): unknown;
  unwatch(handle: unknown): void;
};

// Compiled code runs from dist/src/datapath; the addon is built in native/build by npm install.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node addon loads only through require
export const native: NativeAddon = require(path.join(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'vswitch_native.node'));

/** Errno values the datapath reacts to (asm-generic/errno.h). */
export const Errno = { ENETDOWN: 100, ENXIO: 6, ENODEV: 19, EBADFD: 77, EAGAIN: 11, EIO: 5, ENOBUFS: 105 } as const;

/** Errors after which the port cannot carry frames until its interface comes back. A tap's
 *  descriptor fails only once its device is gone (EBADFD); EIO there means "set down", which
 *  its owner may undo, so it only costs the frames. */
export function isLinkFailure(errno: number, isTap: boolean): boolean {
  if (isTap) return errno === Errno.EBADFD;
  return errno === Errno.ENETDOWN || errno === Errno.ENXIO || errno === Errno.ENODEV;
}

/** Send errors that pass once the device has room: its queue is full (a tap's guest is slow to
 *  read), or the socket's send buffer is. */
export function wantsRoom(errno: number): boolean {
  return errno === Errno.ENOBUFS || errno === Errno.EAGAIN;
}

/** Send errors that the sends after the failed one would meet too: the socket's send buffer is
 *  full, the tap is down, or the link is gone. Any other error is the one send's own. */
export function refusesTheRest(errno: number, isTap: boolean): boolean {
  return errno === Errno.EAGAIN || (isTap && errno === Errno.EIO) || isLinkFailure(errno, isTap);
}
