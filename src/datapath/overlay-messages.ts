// What hosts send each other over the tunnel that is not a VM's frame, told apart by its key:
// a migration's marks (arrivals.ts), the flow state of connections another host opened
// (flow-state.ts), and packet captures' requests and copies (capture.ts).
import { dropCode } from '../flow/actions';
import type { ConnTable } from '../flow/conntrack';
import { acceptFlowState, FLOW_STATE_KEY, parseFlowState } from '../flow/flow-state';
import { VXLAN_HEADER_BYTES } from '../packet/vxlan';
import type { Arrivals } from './arrivals';
import { CAPTURE_REQUEST_KEY, Captures, COPY_KEYS } from './capture';
import type { FromDatapath } from './messages';
import type { TunnelPort } from './port';

const MALFORMED = dropCode('malformed');
const CONNTRACK_FULL = dropCode('conntrackFull');

export class OverlayMessages {
  /** Flow states, captures' copies and requests taken (marks are counted as drops). */
  taken = 0;

  constructor(
    private readonly arrivals: Arrivals,
    private readonly captures: Captures,
    /** The host's connection table, where flow state from other hosts goes. */
    private readonly conntrack: ConnTable,
    private readonly send: (message: FromDatapath) => void,
    private readonly drop: (reasonCode: number) => void,
  ) {}

  /** Takes the datagram [at, end) (its VXLAN header at `at`, with key `vni`) from the host at
   *  `source`, if it is a message: then true, and it goes no further. */
  take(tunnel: TunnelPort, vni: number, arena: Uint8Array, at: number, end: number, source: number, now: number): boolean {
    const marked = tunnel.marks.size > 0 ? tunnel.marks.get(vni) : undefined;
    const body = at + VXLAN_HEADER_BYTES;
    if (marked !== undefined) this.arrivals.sentAtSource(marked, now);
    else if (vni === FLOW_STATE_KEY) this.flowState(arena, body, end);
    else if (vni >= COPY_KEYS.first && vni < COPY_KEYS.first + COPY_KEYS.count) {
      if (!this.captures.arrived(vni, arena, body, end)) this.drop(MALFORMED);
      else this.taken++;
    } else if (vni === CAPTURE_REQUEST_KEY) {
      this.taken++;
      this.send({ type: 'captureRequest', from: source, bytes: arena.slice(body, end) });
    } else return false;
    return true;
  }

  /** A connection another host opened, whose reply may enter here: known before its first
   *  frame (which follows in this batch or a later one) is delivered. */
  private flowState(arena: Uint8Array, at: number, end: number): void {
    const state = parseFlowState(arena, at, end); // what the tunnel carries, without a vnet header
    if (!state) return this.drop(MALFORMED);
    const ended = acceptFlowState(this.conntrack, state, Date.now());
    if (!ended) return this.drop(CONNTRACK_FULL);
    this.taken++;
    if (ended.length > 0) this.send({ type: 'connectionsEnded', slots: ended });
  }
}
