// Frames into the VXLAN tunnel. Each is finished (checksum, segments) as for a port without
// vnet headers, each piece behind a VXLAN header, and queued on the tunnel port with its
// destination. Datagrams go in runs of equal size that the kernel cuts apart (UDP GSO): the
// segments of a super-frame, and the frames of a batch of one size, such as a TCP receiver's
// ACKs. A segment is its headers written here and its payload where it was received.
import type { ActionExecutor } from '../flow/execute';
import { dropCode } from '../flow/actions';
import type { Segmenter } from '../packet/segmentation';
import { completeChecksum, VNET_HEADER_BYTES, VnetGso } from '../packet/vnet-header';
import { emitVxlan, VXLAN_HEADER_BYTES } from '../packet/vxlan';
import type { Port, TunnelPort } from './port';
import type { TxQueue } from './tx-queue';

/** A UDP GSO send: at most 64 datagrams (UDP_MAX_SEGMENTS) and 64 KiB of UDP payload. */
const MAX_RUN_DATAGRAMS = 64;
const MAX_RUN_BYTES = 65507;

const NO_TUNNEL = dropCode('noTunnel');
const NO_BUFFER = dropCode('noBuffer');
const OFFLOAD_UNSUPPORTED = dropCode('offloadUnsupported');

/** What the tunnel's output needs of the datapath: its ports' send queues, and its drops. */
export interface TunnelQueues {
  /** The port's queue with room for a send of up to `pieces` pieces. */
  startSend(port: Port, pieces: number): TxQueue;
  /** The send built with piece() is queued. */
  endSend(port: Port): void;
  drop(reasonCode: number): void;
}

export class TunnelOutput {
  constructor(
    private readonly executor: ActionExecutor,
    private readonly segmenter: Segmenter,
    private readonly queues: TunnelQueues,
  ) {}

  /** A frame (vnet header at `at`) into `tunnel` with key `key`, to the host at `remote`. */
  send(tunnel: TunnelPort | null, key: number, remote: number, arena: Uint8Array, at: number, length: number): void {
    if (!tunnel || !tunnel.up) return this.queues.drop(NO_TUNNEL);
    if (arena[at + 1] === VnetGso.none) {
      completeChecksum(arena, at, at + length);
      const header = this.executor.reserve(VXLAN_HEADER_BYTES);
      if (header < 0) return this.queues.drop(NO_BUFFER);
      emitVxlan(arena, header, key);
      return this.addToRun(tunnel, remote, header, VXLAN_HEADER_BYTES, at + VNET_HEADER_BYTES, length - VNET_HEADER_BYTES);
    }
    const bytes = this.segmenter.bytesNeeded(arena, at, at + length, VXLAN_HEADER_BYTES);
    if (bytes < 0) return this.queues.drop(OFFLOAD_UNSUPPORTED);
    const out = this.executor.reserve(bytes);
    if (out < 0) return this.queues.drop(NO_BUFFER);
    this.segmenter.segment(arena, at, at + length, arena, out, (headersAt, headersLength, payloadAt, payloadLength) => {
      emitVxlan(arena, headersAt - VXLAN_HEADER_BYTES, key);
      this.addToRun(tunnel, remote, headersAt - VXLAN_HEADER_BYTES, VXLAN_HEADER_BYTES + headersLength, payloadAt, payloadLength);
    }, VXLAN_HEADER_BYTES);
  }

  /** The open run is queued as one send (before the tunnel's queue is sent). */
  endRun(tunnel: TunnelPort): void {
    const run = tunnel.run;
    if (run.datagrams === 0) return;
    run.datagrams = 0;
    const send = tunnel.tx.sends;
    tunnel.txDestinations[send] = run.remote;
    tunnel.txSegmentSizes[send] = tunnel.tx.bytes[send] > run.size ? run.size : 0;
    this.queues.endSend(tunnel);
  }

  /** A datagram (its headers and its payload apart) into the tunnel's open run: equal-sized
   *  datagrams to one host, which the next frames of the batch may go on filling, so that a
   *  stream of them goes as few sends as UDP GSO allows. A shorter datagram ends it. */
  private addToRun(tunnel: TunnelPort, remote: number, headersAt: number, headersLength: number, payloadAt: number, payloadLength: number): void {
    const size = headersLength + payloadLength;
    const run = tunnel.run;
    if (run.datagrams > 0 && (remote !== run.remote || size > run.size)) this.endRun(tunnel);
    if (run.datagrams === 0) {
      run.remote = remote;
      run.size = size;
      run.limit = Math.min(MAX_RUN_DATAGRAMS, Math.floor(MAX_RUN_BYTES / size));
      this.queues.startSend(tunnel, 2 * run.limit);
    }
    tunnel.tx.piece(headersAt, headersLength);
    tunnel.tx.piece(payloadAt, payloadLength);
    if (++run.datagrams === run.limit || size < run.size) this.endRun(tunnel);
  }
}
