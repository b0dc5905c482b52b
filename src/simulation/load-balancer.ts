// L4 load balancers on a router (Neutron's LBaaS, OVN's load balancers): what comes to a VIP's
// address and port, from any side of the router, goes to one of its members (destination NAT),
// chosen among the healthy ones by weighted round-robin, source-IP affinity or least
// connections. The choice is made once, at the connection's first flow setup, and kept in the
// connection table: a connection stays with its member while weights change, members come and
// health changes, and on every host (flow state tells the member's host, where its replies are
// walked). A member's reply crossing the router leaves from the VIP. A VIP with no healthy
// member refuses at once: a TCP reset, or ICMP unreachable for UDP. The router answers ARP for
// its VIPs in their ports' networks, and hands the replies to the agent's health probes (sent
// from its own address, from ports HEALTH_PROBE_PORTS) to the agent.
import { ConnTable, connectionTag, KeyFlag, Tuple } from '../flow';
import { contains, formatAddress, IpProtocol, parseAddress, sameAddress } from '../packet';
import { ConnectionTracking, openingState, tuplePorts } from './connection-tracking';
import { rejection } from './rejection';
import { CONNTRACK_SPACE_TAG, loadBalancerTag } from './tags';
import { TokenBuckets } from './token-bucket';
import type { TopologyWalker } from './topology-simulation';
import type { VirtualPort, VirtualRouter } from './virtual-topology';
import type { Walk } from './walk';

/** The source ports of the agent's health probes: replies to them are the agent's. */
export const HEALTH_PROBE_PORTS = { first: 61000, last: 61999 } as const;
/** Refusals sent per load balancer (as a chain's rejections). */
const REFUSALS_PER_SECOND = 1000;
const REFUSAL_BURST = 50;

export interface StateLoadBalancer {
  id: string;
  router: string;
  vip: string;
  protocol: 'tcp' | 'udp';
  port: number;
  algorithm: 'roundRobin' | 'sourceIp' | 'leastConnections';
  /** Each with whether it may take new connections (healthy, or not checked). */
  members: { address: string; port: number; weight: number; up: boolean }[];
}

export interface VirtualMember {
  address: Uint8Array;
  port: number;
  weight: number;
  up: boolean;
  text: string;
}

export interface VirtualLoadBalancer {
  id: string;
  tag: string;
  vip: Uint8Array;
  protocol: number;
  port: number;
  algorithm: StateLoadBalancer['algorithm'];
  members: VirtualMember[];
}

export function virtualLoadBalancer(l: StateLoadBalancer): VirtualLoadBalancer {
  return {
    id: l.id, tag: loadBalancerTag(l.id), vip: parseAddress(l.vip), protocol: l.protocol === 'tcp' ? IpProtocol.tcp : IpProtocol.udp, port: l.port, algorithm: l.algorithm,
    members: l.members.map((m) => ({ address: parseAddress(m.address), port: m.port, weight: m.weight, up: m.up, text: `${m.address}:${m.port}` })),
  };
}

/** Smooth weighted round-robin's running weights, per load balancer. They outlive a version
 *  of the topology (each builds its steps anew), so that a change elsewhere does not restart
 *  every schedule; per simulation thread. */
const schedules = new Map<string, Map<string, number>>();

export class LoadBalancerStep {
  private readonly refusals = new TokenBuckets(REFUSALS_PER_SECOND, REFUSAL_BURST);

  constructor(private readonly walker: TopologyWalker, private readonly tracking: ConnectionTracking, private readonly conntrack: () => ConnTable) {}

  /** Whether `target` is a VIP of the router's in `port`'s network: the router answers ARP or
   *  neighbor solicitations for it. */
  owns(router: VirtualRouter, port: VirtualPort, target: Uint8Array): boolean {
    return router.loadBalancers.some((l) => sameAddress(l.vip, target) && port.prefixes.some((p) => contains(p, target)));
  }

  /** Whether a frame to the router's own address is a reply to the agent's health probe: it is
   *  handed to the agent (and goes nowhere else). */
  probeReply(w: Walk): boolean {
    const f = w.fields;
    if (f.ipProtocol !== IpProtocol.tcp || f.transportDestination < HEALTH_PROBE_PORTS.first || f.transportDestination > HEALTH_PROBE_PORTS.last || !w.frame) return false;
    w.cache = false;
    if (!w.dryRun) w.probeReplies.push(w.frame.slice());
    w.note(() => `  a reply to a health probe (port ${f.transportDestination}): to the agent`);
    return true;
  }

  /** A frame entering the router: to a VIP, it goes to its connection's member, a new one to
   *  the member chosen now; a member's reply leaves from the VIP. False when it was refused. */
  inbound(router: VirtualRouter, port: VirtualPort, w: Walk): boolean {
    if (router.loadBalancers.length === 0 || !(w.ipv4 || w.ipv6)) return true;
    const f = w.fields;
    const lb = router.loadBalancers.find((l) => l.protocol === f.ipProtocol && l.port === f.transportDestination && sameAddress(l.vip, f.networkDestination));
    if (!lb) {
      this.fromMember(router, w);
      return true;
    }
    w.tags.add(lb.tag);
    if (f.flags & KeyFlag.fragment) {
      w.refuse('natUntranslatable', () => 'a later fragment to a VIP: no port to balance it by');
      return false;
    }
    const t = this.tracking.track(router.zone, w);
    const known = t.found && !t.found.reply ? t.found.nat : null;
    const [sourcePort, destinationPort] = tuplePorts(f);
    const tuple: Tuple = { zone: router.zone, protocol: f.ipProtocol, source: f.networkSource, destination: f.networkDestination, sourcePort, destinationPort };
    if (known && !known.replyIndex && known.destination) {
      w.translation = { ...tuple, slot: t.found!.slot, state: t.found!.state, nat: { zone: router.zone, address: known.address, port: known.port, destination: true }, opened: false };
      this.translate(w, known.address, known.port, 'its connection\'s member');
      return true;
    }
    if (t.found?.reply || t.state === 'invalid') {
      w.refuse('natUntranslatable', () => `a ${t.state} frame to the VIP with no connection (say, a reset of nothing)`);
      return false;
    }
    const member = this.choose(lb, w);
    if (!member) return this.refuse(lb, port, w);
    if (w.dryRun) {
      this.translate(w, member.address, member.port, `${lb.algorithm} chose it now`);
      return true;
    }
    const state = openingState(w);
    const evicted: number[] = [];
    const opened = this.conntrack().openTranslated(tuple, { zone: router.zone, address: member.address, ports: [[member.port, 1]], destination: true }, state, Date.now(), null, evicted);
    for (const slot of evicted) w.invalidate.add(connectionTag(slot));
    if (opened === 'full') {
      w.tags.add(CONNTRACK_SPACE_TAG);
      w.refuse('conntrackFull', () => 'the connection table is full: a new connection is refused, established ones go on');
      return false;
    }
    if (opened === 'exhausted') {
      w.refuse('natExhausted', () => `${formatAddress(f.networkSource)}:${sourcePort} reaches ${member.text} already by another VIP`);
      return false;
    }
    w.connection = opened.slot;
    t.found = opened;
    w.translation = { ...tuple, slot: opened.slot, state, nat: { zone: router.zone, address: member.address, port: member.port, destination: true }, opened: true };
    this.translate(w, member.address, member.port, `${lb.algorithm} chose it`);
    return true;
  }

  /** A member's reply: it leaves from the VIP its connection came to. */
  private fromMember(router: VirtualRouter, w: Walk): void {
    const f = w.fields;
    if (!router.loadBalancers.some((l) => l.protocol === f.ipProtocol && l.members.some((m) => m.port === f.transportSource && sameAddress(m.address, f.networkSource)))) return;
    const [sourcePort, destinationPort] = tuplePorts(f);
    const found = this.conntrack().find(router.zone, f.ipProtocol, f.networkSource, f.networkDestination, sourcePort, destinationPort);
    if (!found?.nat?.replyIndex || !found.nat.destination || !found.reply) return;
    const vip = formatAddress(found.nat.address);
    w.note(() => `  a member's reply: from the VIP, ${formatAddress(f.networkSource)}:${f.transportSource} -> ${vip}:${found.nat!.port}`);
    w.rewrite('source', found.nat.address, found.nat.port);
    w.connection = found.slot;
    this.tracking.track(router.zone, w); // the connection's state moves on with its replies
  }

  private translate(w: Walk, address: Uint8Array, port: number, why: string): void {
    const f = w.fields;
    w.note(() => `  load balancer: ${formatAddress(f.networkDestination)}:${f.transportDestination} -> member ${formatAddress(address)}:${port} (${why})`);
    w.rewrite('destination', address, port);
  }

  /** No healthy member: a reset or ICMP unreachable back, at once (each new connection's
   *  first frame comes up, while the rate allows; past it the drop is cached). */
  private refuse(lb: VirtualLoadBalancer, port: VirtualPort, w: Walk): false {
    const answer = w.dryRun || this.refusals.take(lb.id) ? rejection(w, { source: port.macBytes, destination: w.source }) : null;
    if (answer) {
      w.cache = false;
      if (!w.dryRun) this.walker.emit(port, answer, w);
    }
    w.refuse('loadBalancerEmpty', () => `no healthy member of ${formatAddress(lb.vip)}:${lb.port}: ${answer ? 'refused' : 'dropped (over the rate of refusals)'}`);
    return false;
  }

  /** The member a new connection goes to, among those up; null when none is. */
  private choose(lb: VirtualLoadBalancer, w: Walk): VirtualMember | null {
    const up = lb.members.filter((m) => m.up);
    if (up.length === 0) return null;
    if (lb.algorithm === 'sourceIp') return byHighestScore(up, w.fields.networkSource);
    if (lb.algorithm === 'leastConnections') {
      const load = (m: VirtualMember) => this.conntrack().load(m.address, m.port) / m.weight;
      return up.reduce((best, m) => (load(m) < load(best) ? m : best));
    }
    return roundRobin(lb.id, up, w.dryRun);
  }
}

/** Smooth weighted round-robin (nginx's): each pick adds every member's weight to its running
 *  weight and takes the highest, less the total; a member of weight 2 is picked twice as often,
 *  spread out rather than twice in a row. */
function roundRobin(id: string, members: VirtualMember[], dryRun: boolean): VirtualMember {
  // A trace asks what the next pick would be, and takes no turn.
  let running = dryRun ? new Map(schedules.get(id)) : schedules.get(id);
  if (!running) schedules.set(id, (running = new Map()));
  let total = 0;
  let best = members[0];
  for (const m of members) {
    const current = (running.get(m.text) ?? 0) + m.weight;
    running.set(m.text, current);
    total += m.weight;
    if (current > running.get(best.text)!) best = m;
  }
  running.set(best.text, running.get(best.text)! - total);
  return best;
}

/** Source-IP affinity by weighted rendezvous hashing: a client's score for each member; the
 *  highest wins. A member added or gone moves only the clients it wins or won. */
function byHighestScore(members: VirtualMember[], client: Uint8Array): VirtualMember {
  let best = members[0];
  let bestScore = -Infinity;
  for (const m of members) {
    const u = (hash(client, m.text) + 0.5) / 2 ** 32; // in (0, 1)
    const score = -m.weight / Math.log(u);
    if (score > bestScore) [best, bestScore] = [m, score];
  }
  return best;
}

function hash(address: Uint8Array, text: string): number {
  let h = 0x811c9dc5;
  for (const b of address) h = Math.imul(h ^ b, 0x01000193);
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}
