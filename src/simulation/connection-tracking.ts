// Connection tracking in the walk, for whatever asks about a frame's connection (security
// groups, chains' state conditions): looked up once per walk in the tenant's zone, and
// committed once the walk is done: a new connection something let through is tracked, a known
// one moves on. A new one whose flow tunnels to another host is told to that host first, as
// its reply may enter there (flow state).
import { Connection, ConnTable, CtState, CtStateCode, emitFlowState, FLOW_STATE_BYTES, FLOW_STATE_KEY, FlowKeyFields, FlowState, nextTcpState, TcpBits } from '../flow';
import { ICMPV4_HEADER_BYTES, Icmpv4Type, Icmpv6Type, IpProtocol, IPV6_HEADER_BYTES, VNET_HEADER_BYTES } from '../packet';
import { CONNTRACK_SPACE_TAG } from './tags';
import type { Walk } from './walk';

/** ICMP echo requests and their replies, tracked as one connection: [request, reply] types. */
const ECHO = [[Icmpv4Type.echoRequest, Icmpv4Type.echoReply], [Icmpv6Type.echoRequest, Icmpv6Type.echoReply]] as const;

/** A frame's connection state, as iptables' and MidoNet's rules name it. */
export type ConnectionState = 'new' | 'established' | 'related' | 'invalid';

/** What connection tracking found for a walk, looked up once. */
export interface Tracking {
  zone: [number, number];
  /** The tracked connection, or null for a frame that opens one (or is related, or invalid). */
  found: Connection | null;
  state: ConnectionState;
  /** A new connection something allowed: tracked once the walk is done. */
  allowed: boolean;
}

export class ConnectionTracking {
  constructor(private readonly conntrack: () => ConnTable) {}

  /** The frame's connection in `zone`: looked up once per walk, since it is the same wherever
   *  the frame goes. */
  track(zone: [number, number], w: Walk): Tracking {
    if (w.tracking) return w.tracking;
    const f = w.fields;
    const [sourcePort, destinationPort] = tuplePorts(f);
    const found = this.conntrack().find(zone, f.ipProtocol, f.networkSource, f.networkDestination, sourcePort, destinationPort);
    if (found) w.connection = found.slot;
    const state = found ? 'established' : this.related(zone, w) ? 'related' : this.opens(w) ? 'new' : 'invalid';
    w.tracking = { zone, found, state, allowed: false };
    return w.tracking;
  }

  /** The state's name for a trace: ESTABLISHED (reply), RELATED, NEW, INVALID. */
  describe(t: Tracking): string {
    if (!t.found) return t.state.toUpperCase();
    return `${this.conntrack().stateName(t.found.state)}${t.found.reply ? ' (reply)' : ''}`;
  }

  /** After the walk: a new connection some rule allowed is tracked, a known one moves on. A
   *  full table refuses the new one: the flow is dropped (and retried when space frees). A
   *  connection source NAT opened for a frame that went nowhere after all is ended; one it
   *  translated is told again at each flow setup, and any other at each SYN (whose flow is
   *  not cached), so that a gateway host that came in since (a failover) or lost the first
   *  record learns it. */
  commit(w: Walk, now: number): void {
    const t = w.tracking;
    if (!t || w.dryRun) return;
    if (w.outputs === 0) {
      if (w.translation?.opened) this.conntrack().close(w.translation.slot);
      return;
    }
    const f = w.fields;
    const tcp = f.ipProtocol === IpProtocol.tcp;
    const [sourcePort, destinationPort] = tuplePorts(f);
    if (t.found) {
      const state = tcp ? nextTcpState(t.found.state, w.tcpControl, t.found.reply) : t.found.reply ? CtState.replied : t.found.state;
      this.conntrack().update(t.found.slot, state, t.found.reply, now);
      if (w.translation) this.tell(w, { ...w.translation, state });
      // A SYN again: the first one's record may have been lost on the way.
      else if (tcp && !t.found.reply && w.tcpControl === TcpBits.syn) {
        this.tell(w, { zone: t.zone, protocol: f.ipProtocol, source: f.networkSource, destination: f.networkDestination, sourcePort, destinationPort, state, nat: null });
      }
      return;
    }
    if (!t.allowed || t.state !== 'new') return;
    const state = openingState(w);
    const slot = this.conntrack().open(t.zone, f.ipProtocol, f.networkSource, f.networkDestination, sourcePort, destinationPort, state, now);
    if (slot < 0) {
      w.tags.add(CONNTRACK_SPACE_TAG);
      return w.refuse('conntrackFull', () => 'the connection table is full: a new connection is refused, established ones go on');
    }
    w.connection = slot;
    this.tell(w, { zone: t.zone, protocol: f.ipProtocol, source: f.networkSource, destination: f.networkDestination, sourcePort, destinationPort, state, nat: null });
  }

  /** The reply may enter at the host this flow tunnels to (or a standby gateway host of the
   *  uplink it leaves by): it learns the connection first. */
  private tell(w: Walk, state: FlowState): void {
    const remotes = new Set([...w.actions.flatMap((a) => (a.type === 'tunnel' ? [a.remote] : [])), ...w.alsoTell]);
    if (remotes.size === 0) return;
    if (w.tcpControl === TcpBits.syn) w.retell = true;
    const frame = new Uint8Array(VNET_HEADER_BYTES + FLOW_STATE_BYTES);
    emitFlowState(frame, VNET_HEADER_BYTES, state);
    for (const remote of remotes) {
      w.note(() => `  flow state of the connection to ${remote}, ahead of its first frame`);
      w.emit.push({ frame, actions: [{ type: 'tunnel', key: FLOW_STATE_KEY, remote }] });
    }
  }

  /** Whether a frame not tracked may open a connection. A TCP segment without SYN may (picked
   *  up mid-stream, as nf_conntrack's tcp_loose allows by default, so that connections outlive
   *  the table); a reset of nothing, SYN with FIN, and an ICMP error about no connection we
   *  know may not: nf_conntrack calls those invalid. The key does not tell a reset or a FIN
   *  from the segments that share its flow, so what is decided for one is not cached. */
  private opens(w: Walk): boolean {
    if (w.fields.ipProtocol !== IpProtocol.tcp) return !w.icmpError;
    const bits = w.tcpControl;
    const opens = (bits & TcpBits.rst) === 0 && (bits & (TcpBits.syn | TcpBits.fin)) !== (TcpBits.syn | TcpBits.fin);
    if (!opens) w.cache = false;
    return opens;
  }

  /** Whether the frame is an ICMP error (unreachable, time exceeded, too big, parameter
   *  problem) about a tracked connection: its quote of the packet that caused it names the
   *  connection (RFC 792, RFC 4443 2.4). The quote is not in the flow key, so such frames
   *  come to the slow path one by one. */
  private related(zone: readonly [number, number], w: Walk): boolean {
    if (!w.icmpError) return false;
    w.cache = false;
    const q = quotedTuple(w);
    return q !== null && this.conntrack().find(zone, q.protocol, q.source, q.destination, q.sourcePort, q.destinationPort) !== null;
  }
}

/** The state a connection opens in: TCP's from its first frame's control bits. */
export function openingState(w: Walk): CtStateCode {
  const f = w.fields;
  if (f.ipProtocol !== IpProtocol.tcp) return CtState.unreplied;
  return nextTcpState(0, w.tcpControl, false);
}

/** The ports of a connection's tuple: L4 ports; for ICMP echo its identifier and the
 *  request's type, a request's as (identifier, type) and a reply's as (type, identifier), so
 *  that a reply is found as the other way of its request, and a request the other way is not. */
export function tuplePorts(f: FlowKeyFields): [number, number] {
  if (f.ipProtocol !== IpProtocol.icmp && f.ipProtocol !== IpProtocol.icmpv6) return [f.transportSource, f.transportDestination];
  for (const [request, reply] of ECHO) {
    if (f.transportSource === request) return [f.icmpIdentifier, request];
    if (f.transportSource === reply) return [request, f.icmpIdentifier];
  }
  return [0x100 + f.transportSource, 0x100 + f.transportSource];
}

/** The connection an ICMP error is about, as its quote of the packet that caused it names it
 *  (RFC 792, RFC 4443 2.4), with the tuple's ports as `ports` makes them; null when the quote
 *  is too short to say. */
export interface QuotedTuple {
  protocol: number;
  source: Uint8Array;
  destination: Uint8Array;
  sourcePort: number;
  destinationPort: number;
  /** Whether the quoted packet is an echo (its identifier is its port). */
  echo: boolean;
}

export function quotedTuple(w: Walk): QuotedTuple | null {
  const frame = w.frame;
  if (!frame || !w.icmpError) return null;
  const quote = (w.ipv4 ? w.l3At + (frame[w.l3At] & 0x0f) * 4 : w.l3At + IPV6_HEADER_BYTES) + ICMPV4_HEADER_BYTES; // ICMPv6's is as long
  const [protocolAt, sourceAt, length, l4At] = w.ipv4 ? [quote + 9, quote + 12, 4, quote + (frame[quote] & 0x0f) * 4] : [quote + 6, quote + 8, 16, quote + IPV6_HEADER_BYTES];
  if (l4At + 8 > frame.length) return null;
  const protocol = frame[protocolAt];
  const source = frame.subarray(sourceAt, sourceAt + length);
  const destination = frame.subarray(sourceAt + length, sourceAt + 2 * length);
  const word = (at: number) => (frame[at] << 8) | frame[at + 1];
  if (protocol === IpProtocol.icmp || protocol === IpProtocol.icmpv6) {
    // Only an echo request is sent by one side and quoted back to it.
    const request = ECHO[protocol === IpProtocol.icmp ? 0 : 1][0];
    if (frame[l4At] !== request) return null;
    return { protocol, source, destination, sourcePort: word(l4At + 4), destinationPort: request, echo: true };
  }
  return { protocol, source, destination, sourcePort: word(l4At), destinationPort: word(l4At + 2), echo: false };
}
