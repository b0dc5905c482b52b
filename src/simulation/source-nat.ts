// Source NAT at a router's gateway (Neutron's default SNAT, distributed as MidoNet does it): a
// connection that a VM without a floating IP opens to the outside leaves from the gateway's
// address and a port of a block this host leased, so that no two hosts give the same port
// (the agent leases the blocks: src/agent/nat-leases.ts). The connection is tracked with its
// translation and told to the host its flow tunnels to (flow state), where its replies enter
// by the gateway and are translated back. ICMP errors about it are translated both ways, the
// packet they quote too, so that traceroute and path MTU discovery work. TCP, UDP and ICMP
// echo (by identifier); IPv4 only, as Neutron: IPv6 is routed, not translated.
import { ConnTable, KeyFlag, Translation, Tuple } from '../flow';
import { formatAddress, Icmpv4Type, IpProtocol, sameAddress } from '../packet';
import { ConnectionTracking, openingState, quotedTuple, tuplePorts } from './connection-tracking';
import { CONNTRACK_SPACE_TAG } from './tags';
import type { VirtualPort, VirtualRouter } from './virtual-topology';
import { NAT_HOLD, type Walk } from './walk';

/** A router's source NAT, as this host gives it: the gateway's address, the zone of the
 *  translated connections' reply index (its external network's), and this host's ports. */
export interface SourceNat extends Translation {
  /** network/address: what the agent leases blocks for. */
  key: string;
}

export class SourceNatStep {
  constructor(private readonly tracking: ConnectionTracking, private readonly conntrack: () => ConnTable) {}

  /** A frame routed out by the gateway from inside (not back out where it came in), not
   *  translated already (a floating IP): it leaves from the gateway's address and the port its
   *  connection was given; false when it is refused. */
  outbound(router: VirtualRouter, from: VirtualPort, out: VirtualPort, w: Walk): boolean {
    const nat = router.sourceNat;
    if (out !== router.gateway || from === router.gateway || !nat || !w.ipv4) return true;
    return this.translateOut(router, nat, w) !== 'stop' && w.dropReason === null;
  }

  /** 'stop' when the frame waits (for ports) and goes nowhere now. */
  private translateOut(router: VirtualRouter, nat: SourceNat, w: Walk): void | 'stop' {
    if (w.icmpError) return this.errorOut(router, nat, w);
    const f = w.fields;
    const echo = f.ipProtocol === IpProtocol.icmp && f.transportSource === Icmpv4Type.echoRequest;
    if ((f.ipProtocol !== IpProtocol.tcp && f.ipProtocol !== IpProtocol.udp && !echo) || f.flags & KeyFlag.fragment) {
      return w.refuse('natUntranslatable', () => `source NAT translates TCP, UDP and ICMP echo (first fragments), not this: protocol ${f.ipProtocol}`);
    }
    const t = this.tracking.track(router.zone, w);
    const [sourcePort, destinationPort] = tuplePorts(f);
    const tuple: Tuple = { zone: router.zone, protocol: f.ipProtocol, source: f.networkSource, destination: f.networkDestination, sourcePort, destinationPort };
    const known = t.found && !t.found.reply ? t.found.nat : null;
    if (known && !known.replyIndex && !known.destination) {
      w.translation = { ...tuple, slot: t.found!.slot, state: t.found!.state, nat: { zone: nat.zone, address: known.address, port: known.port }, opened: false };
      return this.translate(w, 'source', known.address, known.port);
    }
    // A reply of a connection the outside opened (to a load balancer's VIP, or routed in)
    // leaves as it is, as Linux's masquerade translates new connections only.
    if (t.found?.reply) return w.note(() => '  a reply of a connection from outside: not translated');
    if (t.state === 'invalid') return w.refuse('natUntranslatable', () => 'an invalid frame with no translation (say, a reset of nothing)');
    if (w.dryRun) {
      // A trace opens no connection: the port is the one a connection would be given then.
      w.note(() => `  SNAT ${formatAddress(f.networkSource)}:${sourcePort} -> ${formatAddress(nat.address)}:(a port of this host's blocks)`);
      w.actions.push({ type: 'set_ipv4', field: 'source', address: formatAddress(nat.address) });
      return;
    }
    const state = openingState(w);
    const opened = this.conntrack().openTranslated(tuple, nat, state, Date.now());
    if (opened === 'full') {
      w.tags.add(CONNTRACK_SPACE_TAG);
      return w.refuse('conntrackFull', () => 'the connection table is full: a new connection is refused, established ones go on');
    }
    if (opened === 'exhausted') {
      // The agent leases more ports; the frame waits for them (a few seconds at most, as for
      // a neighbor), so a burst of new connections is not refused for a retransmission's time.
      // One that still finds none then is dropped and counted (the slow path's unresolved).
      w.cache = false;
      w.natShortages.push(nat.key);
      w.note(() => `  every port of ${formatAddress(nat.address)} this host leased is taken for ${formatAddress(f.networkDestination)}:${destinationPort}: the frame waits for more`);
      if (!w.frame) return w.refuse('natExhausted', () => 'no port left here');
      w.holds.push({ router: NAT_HOLD, address: nat.key, frame: w.frame.slice(), inPort: f.inPort, request: null });
      return 'stop';
    }
    w.connection = opened.slot;
    t.found = { slot: opened.slot, state: opened.state, reply: false, nat: opened.nat };
    w.translation = { ...tuple, slot: opened.slot, state, nat: { zone: nat.zone, address: nat.address, port: opened.nat!.port }, opened: true };
    this.translate(w, 'source', nat.address, opened.nat!.port);
  }

  /** A frame entering by the gateway to its address: a reply of a translated connection (or
   *  an ICMP error about one) goes back to the VM's address and port. Anything else is for the
   *  router itself. */
  inbound(router: VirtualRouter, port: VirtualPort, w: Walk): void {
    const nat = router.sourceNat;
    const f = w.fields;
    if (port !== router.gateway || !nat || !w.ipv4 || !sameAddress(f.networkDestination, nat.address)) return;
    if (w.icmpError) return this.errorIn(nat, w);
    const [sourcePort, destinationPort] = tuplePorts(f);
    const found = this.conntrack().find(nat.zone, f.ipProtocol, f.networkSource, f.networkDestination, sourcePort, destinationPort);
    if (!found?.nat?.replyIndex || !found.reply) return;
    this.translate(w, 'destination', found.nat.address, found.nat.port);
    w.connection = found.slot;
    this.tracking.track(router.zone, w); // the connection's state moves on with its replies
  }

  /** A translated connection's frames rewritten, said in a trace. */
  private translate(w: Walk, field: 'source' | 'destination', address: Uint8Array, port: number): void {
    const f = w.fields;
    const echo = f.ipProtocol === IpProtocol.icmp;
    const [beforeAddress, beforePort] = field === 'source' ? [f.networkSource, echo ? f.icmpIdentifier : f.transportSource] : [f.networkDestination, echo ? f.icmpIdentifier : f.transportDestination];
    w.note(() => `  ${field === 'source' ? 'SNAT' : 'un-SNAT'} ${formatAddress(beforeAddress)}:${beforePort} -> ${formatAddress(address)}:${port}`);
    w.rewrite(field, address, port);
  }

  /** An ICMP error from the outside about what a connection sent: to the VM, with the packet
   *  it quotes as the VM sent it (RFC 5508 4.2). */
  private errorIn(nat: SourceNat, w: Walk): void {
    w.cache = false; // the quote is not in the flow key
    const q = quotedTuple(w);
    const found = q && this.conntrack().find(nat.zone, q.protocol, q.source, q.destination, q.sourcePort, q.destinationPort);
    if (!found?.nat?.replyIndex || found.reply) return;
    const to = formatAddress(found.nat.address);
    w.note(() => `  un-SNAT an ICMP error about ${formatAddress(q!.source)}:${q!.sourcePort}: to ${to}:${found.nat!.port}, its quote too`);
    w.actions.push(
      { type: 'set_ipv4', field: 'destination', address: to },
      { type: 'set_ipv4', field: 'source', address: to, quoted: true },
      { type: 'set_l4_port', field: 'source', port: found.nat.port, quoted: true },
    );
    w.fields.networkDestination = found.nat.address;
  }

  /** An ICMP error a VM sends about what came to it by a translated connection: from the
   *  gateway's address, quoting the packet as it came to that address and port. */
  private errorOut(router: VirtualRouter, nat: SourceNat, w: Walk): void {
    w.cache = false;
    const q = quotedTuple(w);
    const found = q && this.conntrack().find(router.zone, q.protocol, q.source, q.destination, q.sourcePort, q.destinationPort);
    if (!found?.nat || found.nat.replyIndex || !found.reply) return w.refuse('natUntranslatable', () => 'an ICMP error about no translated connection');
    const from = formatAddress(nat.address);
    w.note(() => `  SNAT an ICMP error: from ${from}, its quote to ${from}:${found.nat!.port}`);
    w.actions.push(
      { type: 'set_ipv4', field: 'source', address: from },
      { type: 'set_ipv4', field: 'destination', address: from, quoted: true },
      { type: 'set_l4_port', field: 'destination', port: found.nat.port, quoted: true },
    );
    w.fields.networkSource = nat.address;
  }
}
