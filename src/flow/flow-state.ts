// Flow state (MidoNet's word): a connection one host opened, sent to the host its flow
// tunnels to before the flow's first frame, so that the reply, simulated there, is known there
// as a reply. It travels in VXLAN on a key no port has, from a host the tunnel takes
// datagrams from (a registered peer); the receiving datapath writes it into its own table.
// A connection source NAT translated carries its translation, so that its reply, entering
// there, is translated back there.
// The record, big-endian (our own format, version 3):
//   0 version | 1 state | 2 IP protocol | 3 address length (4 or 16) | 4..11 zone
//   12..27 source address | 28..43 destination address | 44 source port | 46 destination port
//   48..55 NAT's zone | 56..71 NAT's address (of the same length) | 72 NAT's port | 74 flags
//   (1: translated; 2: the destination is, a load balancer's member, else the source) | 75..79 0
import { ConnTable, CtStateCode, Translation, Tuple } from './conntrack';

/** The VNI of flow state: above every port's tunnel key (the API gives out 1 to 0xfffffe). */
export const FLOW_STATE_KEY = 0xffffff;
export const FLOW_STATE_BYTES = 80;
const VERSION = 3;
const field = {
  version: 0, state: 1, protocol: 2, addressLength: 3, zone: 4, source: 12, destination: 28, sourcePort: 44, destinationPort: 46,
  natZone: 48, natAddress: 56, natPort: 72, flags: 74,
} as const;
const TRANSLATED = 1;
const DESTINATION = 2;

export interface FlowState extends Tuple {
  state: CtStateCode;
  /** Its translation: the zone of its reply index, the new source (or `destination`'s)
   *  address and port. */
  nat: { zone: readonly [number, number]; address: Uint8Array; port: number; destination?: boolean } | null;
}

/** Writes a record at b[at..]; returns where it ends. */
export function emitFlowState(b: Uint8Array, at: number, s: FlowState): number {
  const view = new DataView(b.buffer, b.byteOffset + at, FLOW_STATE_BYTES);
  b.fill(0, at, at + FLOW_STATE_BYTES);
  view.setUint8(field.version, VERSION);
  view.setUint8(field.state, s.state);
  view.setUint8(field.protocol, s.protocol);
  view.setUint8(field.addressLength, s.source.length);
  view.setInt32(field.zone, s.zone[0]);
  view.setInt32(field.zone + 4, s.zone[1]);
  b.set(s.source, at + field.source);
  b.set(s.destination, at + field.destination);
  view.setUint16(field.sourcePort, s.sourcePort);
  view.setUint16(field.destinationPort, s.destinationPort);
  if (s.nat) {
    view.setInt32(field.natZone, s.nat.zone[0]);
    view.setInt32(field.natZone + 4, s.nat.zone[1]);
    b.set(s.nat.address.subarray(0, 16), at + field.natAddress);
    view.setUint16(field.natPort, s.nat.port);
    view.setUint8(field.flags, TRANSLATED | (s.nat.destination ? DESTINATION : 0));
  }
  return at + FLOW_STATE_BYTES;
}

/** The record at b[at..end), or null for one that is short, of another version or malformed. */
export function parseFlowState(b: Uint8Array, at: number, end: number): FlowState | null {
  if (end - at < FLOW_STATE_BYTES) return null;
  const view = new DataView(b.buffer, b.byteOffset + at, FLOW_STATE_BYTES);
  const length = view.getUint8(field.addressLength);
  const state = view.getUint8(field.state);
  if (view.getUint8(field.version) !== VERSION || (length !== 4 && length !== 16) || state < 1 || state > 7) return null;
  return {
    zone: [view.getInt32(field.zone), view.getInt32(field.zone + 4)],
    protocol: view.getUint8(field.protocol),
    source: b.slice(at + field.source, at + field.source + length),
    destination: b.slice(at + field.destination, at + field.destination + length),
    sourcePort: view.getUint16(field.sourcePort),
    destinationPort: view.getUint16(field.destinationPort),
    state: state as CtStateCode,
    nat: view.getUint8(field.flags) & TRANSLATED
      ? {
        zone: [view.getInt32(field.natZone), view.getInt32(field.natZone + 4)], address: b.slice(at + field.natAddress, at + field.natAddress + length), port: view.getUint16(field.natPort),
        destination: (view.getUint8(field.flags) & DESTINATION) !== 0,
      }
      : null,
  };
}

/** Writes a received record into the table: the slots of the connections it ended (a port
 *  the sender leased is taken from whatever held it here: that is over), or null when the
 *  table is full. */
export function acceptFlowState(table: ConnTable, s: FlowState, now: number): number[] | null {
  if (!s.nat) return table.open(s.zone, s.protocol, s.source, s.destination, s.sourcePort, s.destinationPort, s.state, now) >= 0 ? [] : null;
  const ended: number[] = [];
  const nat: Translation = { zone: s.nat.zone, address: s.nat.address, ports: [[s.nat.port, 1]], destination: s.nat.destination };
  return typeof table.openTranslated(s, nat, s.state, now, ended) === 'object' ? ended : null;
}
