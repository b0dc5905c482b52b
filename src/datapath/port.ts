// A port as one datapath worker sees it: the descriptor to read (if this worker owns it) and
// to write, and the queue of frames to send on it at the end of the current batch.
import type { Backlog } from './backlog';
import { HeldFrames } from './held-frames';
import type { PortSpec } from './messages';
import { TX_SENDS, TxQueue } from './tx-queue';

export class Port {
  readonly tx = new TxQueue();
  up = true;
  /** The readiness watch when this worker receives on the port. */
  watch: unknown = null;
  /** While its VM arrives (migration) and does not run here yet: what is sent to it. */
  held: HeldFrames | null = null;
  /** Once what it held is let go: what its device has not taken yet, and what came after. */
  backlog: Backlog | null = null;

  constructor(readonly spec: PortSpec) {}

  get number(): number {
    return this.spec.number;
  }

  get isTap(): boolean {
    return this.spec.kind === 'tap';
  }

  /** Packets that queued sends [from, to) stand for. */
  packetsQueued(from: number, to: number): number {
    return to - from;
  }
}

/** The VXLAN tunnel, port 0 of every worker: its queue says where each send goes. */
export class TunnelPort extends Port {
  readonly txDestinations = new Uint32Array(TX_SENDS);
  /** 0 for one datagram, or the size of each datagram of a run (UDP GSO). */
  readonly txSegmentSizes = new Uint32Array(TX_SENDS);
  /** Tunnel key -> local datapath port. */
  delivery = new Map<number, number>();
  /** VNI of a VTEP -> the datapath port number its frames enter the topology on. */
  ingress = new Map<number, number>();
  /** A migration's mark key -> the datapath port of the VM arriving here. */
  marks = new Map<number, number>();
  /** Underlay addresses whose datagrams are taken. */
  peers = new Set<number>();
  /** The send being built as a run: datagrams so far, of `size` bytes, at most `limit`. */
  readonly run = { datagrams: 0, remote: 0, size: 0, limit: 0 };

  packetsQueued(from: number, to: number): number {
    let datagrams = 0;
    for (let i = from; i < to; i++) datagrams += this.txSegmentSizes[i] === 0 ? 1 : Math.ceil(this.tx.bytes[i] / this.txSegmentSizes[i]);
    return datagrams;
  }
}

export const TUNNEL_PORT = 0;
