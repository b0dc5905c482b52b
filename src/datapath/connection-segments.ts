// What connection tracking hears from the fast path. A tracked TCP connection's segments after
// its opening share one flow per direction (KeyFlag.tcpOpening), so the slow path walks only
// each flow's first; the datapath tells it of those that move the connection on as it forwards
// them: FINs and resets, and the first segment of a flow set up ahead of its first frame
// (predicted-flows.ts: the SYN-ACK that makes a connection SYN_RECV, the ACK that makes it
// ESTABLISHED), whose walk changed nothing.
import { FlowCache, TellFirst } from '../flow/cache';
import type { ConnTable } from '../flow/conntrack';
import { TcpBits } from '../flow/key';

/** The TCP bits that end a connection, which connection tracking must hear of from any flow. */
export const CLOSING = TcpBits.fin | TcpBits.rst;

export class ConnectionSegments {
  constructor(private readonly cache: FlowCache, private readonly conntrack: ConnTable) {}

  /** Flow `id` forwarded a segment with these control bits (TcpBits), which closes its
   *  connection or is the flow's first told one. */
  hit(id: number, bits: number): void {
    const connection = this.cache.connection[id];
    const tell = this.cache.tellFirst[id];
    this.cache.tellFirst[id] = TellFirst.none;
    if (connection >= 0) this.conntrack.segmentSeen(connection, bits, tell === TellFirst.reply, Date.now());
  }

  /** Frames that waited behind a flow's upcall closed its connection (FIN or reset bits). */
  queued(connection: number, bits: number): void {
    if (connection >= 0) this.conntrack.segmentSeen(connection, bits, false, Date.now());
  }
}
