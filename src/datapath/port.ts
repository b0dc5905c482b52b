// A port as one datapath worker sees it: the descriptor to read (if this worker owns it) and
// to write, and the queue of frames to send on it at the end of the current batch.
import type { PortSpec } from './messages';

export const TX_QUEUE = 256;

export class Port {
  readonly txOffsets = new Uint32Array(TX_QUEUE);
  readonly txLengths = new Uint32Array(TX_QUEUE);
  txCount = 0;
  up = true;
  /** The readiness watch when this worker receives on the port. */
  watch: unknown = null;

  constructor(readonly spec: PortSpec) {}

  get number(): number {
    return this.spec.number;
  }

  get isTap(): boolean {
    return this.spec.kind === 'tap';
  }
}

/** The VXLAN tunnel, port 0 of every worker: its queue says where each datagram goes. */
export class TunnelPort extends Port {
  readonly txDestinations = new Uint32Array(TX_QUEUE);
  /** Tunnel key -> local datapath port. */
  delivery = new Map<number, number>();
  /** VNI of a VTEP -> the datapath port number its frames enter the topology on. */
  ingress = new Map<number, number>();
  /** Underlay addresses whose datagrams are taken. */
  peers = new Set<number>();
}

export const TUNNEL_PORT = 0;
