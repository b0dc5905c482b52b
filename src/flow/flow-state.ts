// Flow state (MidoNet's word): a connection one host opened, sent to the host its flow
// tunnels to before the flow's first frame, so that the reply, simulated there, is known there
// as a reply. It travels in VXLAN on a key no port has, from a host the tunnel takes
// datagrams from (a registered peer); the receiving datapath writes it into its own table.
// The record, big-endian (our own format, version 1):
//   0 version | 1 state | 2 IP protocol | 3 address length (4 or 16) | 4..11 zone
//   12..27 source address | 28..43 destination address | 44 source port | 46 destination port
import { ConnTable, CtStateCode } from './conntrack';

/** The VNI of flow state: above every port's tunnel key (the API gives out 1 to 0xfffffe). */
export const FLOW_STATE_KEY = 0xffffff;
export const FLOW_STATE_BYTES = 48;
const VERSION = 1;
const field = { version: 0, state: 1, protocol: 2, addressLength: 3, zone: 4, source: 12, destination: 28, sourcePort: 44, destinationPort: 46 } as const;

export interface FlowState {
  zone: readonly [number, number];
  protocol: number;
  source: Uint8Array;
  destination: Uint8Array;
  sourcePort: number;
  destinationPort: number;
  state: CtStateCode;
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
  };
}

/** Writes a received record into the table. */
export function acceptFlowState(table: ConnTable, s: FlowState, now: number): boolean {
  return table.open(s.zone, s.protocol, s.source, s.destination, s.sourcePort, s.destinationPort, s.state, now) >= 0;
}
