// Sending a port's queued batch and counting what became of each send. A send the device
// refuses on its own (its queue full: ENOBUFS from a tap whose guest is slow to read; a frame
// it cannot take; a tunnel peer unreachable) is dropped and counted alone, and the sends after
// it are still tried, as the kernel's bridge drops frame by frame. A full send buffer, a tap
// set down or a link gone cost the rest of the batch. For a port's backlog (backlog.ts), a
// send refused for want of room (a full queue or send buffer) ends the batch instead, and it
// and the sends after it are left to try again.
import { dropCode } from '../flow/actions';
import { VNET_HEADER_BYTES } from '../packet/vnet-header';
import { VXLAN_UDP_PORT } from '../packet/vxlan';
import { DatapathCounters, PortCounter } from './counters';
import { FrameIo, isLinkFailure, refusesTheRest, wantsRoom } from './native';
import { Port, TunnelPort } from './port';

const TX_ERROR = dropCode('txError');
const PORT_DOWN = dropCode('portDown');

/** Sends `port`'s queue from `arena`. Returns how many of its sends are done with (sent, or
 *  dropped and counted): all of them, unless `keepRefused` left some; or -errno when the link
 *  failed. */
export function sendQueue(io: FrameIo, arena: Uint8Array, port: Port, counters: DatapathCounters, keepRefused = false): number {
  const tx = port.tx;
  const count = tx.sends;
  const c = counters.values;
  // It failed while this batch was being forwarded: what was queued for it is lost, and counted.
  if (!port.up) return lose(counters, port, 0, count, PORT_DOWN);
  for (let at = 0; at < count;) {
    const sent = port instanceof TunnelPort
      ? io.sendToBatch(port.spec.fd, arena, tx.offsets, tx.lengths, tx.pieces, port.txDestinations, port.txSegmentSizes, at, count - at, VXLAN_UDP_PORT)
      : io.sendBatch(port.spec.fd, port.isTap, arena, tx.offsets, tx.lengths, tx.pieces, at, count - at);
    if (sent > 0) {
      let bytes = 0;
      for (let i = at; i < at + sent; i++) bytes += tx.bytes[i];
      c[counters.portIndex(port.number, PortCounter.txPackets)] += port.packetsQueued(at, at + sent);
      c[counters.portIndex(port.number, PortCounter.txBytes)] += bytes - (port.spec.vnetHdr ? sent * VNET_HEADER_BYTES : 0);
      at += sent;
    } else if (keepRefused && wantsRoom(-sent)) {
      return at;
    } else if (refusesTheRest(-sent, port.isTap)) {
      lose(counters, port, at, count, TX_ERROR);
      return isLinkFailure(-sent, port.isTap) ? sent : count;
    } else {
      lose(counters, port, at, ++at, TX_ERROR);
    }
  }
  return count;
}

/** Counts sends [from, to) of the port's queue as dropped for `reason`; returns `to`. */
function lose(counters: DatapathCounters, port: Port, from: number, to: number, reason: number): number {
  countDropped(counters, port.number, port.packetsQueued(from, to), reason);
  return to;
}

/** Counts `packets` for `port` as dropped for `reason`. */
export function countDropped(counters: DatapathCounters, port: number, packets: number, reason: number): void {
  counters.values[counters.portIndex(port, PortCounter.txDropped)] += packets;
  counters.values[counters.dropIndex(reason)] += packets;
}
