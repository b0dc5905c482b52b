// Rule chains in the walk (MidoNet's model): a port's inbound chain and its device's as a frame
// enters a device by the port (a router's is pre-routing), the device's outbound chain and the
// port's as it leaves by one (post-routing). A chain's rules are tried in order; the first
// whose conditions all hold accepts, drops or rejects the frame, jumps to another chain (which
// comes back at its end or at a return), returns, or lets the next rule decide (continue). A
// chain that runs out of rules accepts. Decided at flow setup: the flow carries the tags of the
// chains and port groups it was decided by, and, when a rule asked for the connection state, its
// connection's. What devices send themselves (replies, rejections) passes unfiltered.
import type { ChainAction, ChainCondition, ChainRule } from '../topology';
import { contains, formatAddress, IpProtocol, parseMac, parsePrefix } from '../packet';
import type { ConnectionState, ConnectionTracking } from './connection-tracking';
import { rejection } from './rejection';
import { chainTag, portGroupTag } from './tags';
import { TokenBuckets } from './token-bucket';
import type { TopologyWalker } from './topology-simulation';
import type { VirtualPort } from './virtual-topology';
import type { Walk } from './walk';

/** Chains a frame may pass through by jumps before the walk gives up. */
const MAX_DEPTH = 16;
/** Kinds of frame (ethertype and protocol) a chain keeps its candidate rules for. */
const MAX_KINDS = 256;
/** Rejections a chain sends: Linux's defaults for ICMP errors, 1000 a second, 50 at once. */
const REJECTS_PER_SECOND = 1000;
const REJECT_BURST = 50;

export interface StateChain { id: string; name: string; rules: ChainRule[] }
export interface StatePortGroup { id: string; ports: string[] }

export interface VirtualChain {
  id: string;
  /** What traces call it: "chain fw", "security group web". */
  name: string;
  /** What its flows carry: a change to the chain re-decides them. */
  tag: string;
  rules: VirtualChainRule[];
  /** What a drop in it is counted as. */
  dropReason: 'chain' | 'securityGroup';
  /** Its rules that may hold for a frame of an ethertype and IP protocol, in order (made as
   *  frames come): a rule for another protocol is not even tried. */
  candidates: Map<number, VirtualChainRule[]>;
}

export interface VirtualChainRule {
  /** Its place (from 1), for traces. */
  number: number;
  action: ChainAction;
  jumpTo: VirtualChain | null;
  conditions: Condition[];
  /** The ethertype and IP protocol it needs (0: any), for `candidates`. */
  ethertype: number;
  protocol: number;
  /** What else decides with it (port groups, security groups it names). */
  tags: string[];
  text: string;
}

/** What conditions read: the frame, the port it entered the device by, the one it leaves by
 *  (outbound chains), and its connection state, looked up when a rule first asks (null: not
 *  IP). One per step, reused: chains do not nest (what a rejection sends is not filtered). */
export class Context {
  w!: Walk;
  inPort!: VirtualPort;
  outPort: VirtualPort | null = null;
  /** Whether a rule asked for the state. */
  asked = false;

  constructor(private readonly tracking: ConnectionTracking) {}

  state(): ConnectionState | null {
    if (!(this.w.ipv4 || this.w.ipv6)) return null;
    this.asked = true;
    return this.tracking.track(this.inPort.zone, this.w).state;
  }
}

export type Condition = (c: Context) => boolean;

/** The state's chains with their rules made into conditions, and jumps to the chains they name. */
export function virtualChains(chains: readonly StateChain[], portGroups: readonly StatePortGroup[]): Map<string, VirtualChain> {
  const byId = new Map(chains.map((c) => [c.id, virtualChain(c.id, `chain ${c.name}`, chainTag(c.id), 'chain')]));
  const members = new Map(portGroups.map((g) => [g.id, new Set(g.ports)]));
  for (const c of chains) {
    byId.get(c.id)!.rules = c.rules.map((rule, i) => ({
      ...virtualRule(rule, i + 1, members), jumpTo: byId.get(rule.jumpTo) ?? null,
      tags: [rule.inPortGroup, rule.outPortGroup].filter(Boolean).map(portGroupTag), text: describe(rule, byId),
    }));
  }
  return byId;
}

export function virtualChain(id: string, name: string, tag: string, dropReason: VirtualChain['dropReason'], rules: VirtualChainRule[] = []): VirtualChain {
  return { id, name, tag, rules, dropReason, candidates: new Map() };
}

/** A rule's conditions and what it needs, for a chain of the model or one made from something else. */
export function virtualRule(rule: ChainRule, number: number, portGroups: ReadonlyMap<string, ReadonlySet<string>> = new Map()): VirtualChainRule {
  return {
    number, action: rule.action, jumpTo: null, conditions: conditionsOf(rule, portGroups), tags: [], text: '',
    ethertype: rule.invert.includes('ethertype') ? 0 : rule.ethertype, protocol: rule.invert.includes('protocol') ? 0 : rule.protocol,
  };
}

export class ChainStep {
  private readonly budgets = new TokenBuckets(REJECTS_PER_SECOND, REJECT_BURST);
  private readonly context: Context;
  /** The chain and rule that gave run's verdict (no rule: the chain ran out). */
  private decidedIn!: VirtualChain;
  private decidedBy: VirtualChainRule | null = null;
  /** Where the chain being run is, for traces. */
  private where = '';

  constructor(private readonly walker: TopologyWalker, private readonly tracking: ConnectionTracking) {
    this.context = new Context(tracking);
  }

  /** Runs a chain (none: passes) over the walk's frame, where `where` says (for traces: "port
   *  vm1 inbound", "router r1 pre-routing"); false when it was dropped or rejected. */
  pass(chain: VirtualChain | null, where: string, inPort: VirtualPort, outPort: VirtualPort | null, w: Walk): boolean {
    if (!chain || w.fromDevice) return true;
    const c = this.context;
    c.w = w;
    c.inPort = inPort;
    c.outPort = outPort;
    c.asked = false;
    this.where = where;
    const action = this.run(chain, c, 0);
    const { decidedIn, decidedBy } = this;
    if (action === 'drop' || action === 'reject') {
      const asked = c.asked;
      if (action === 'reject') this.reject(decidedIn, w);
      w.drop(action === 'drop' ? decidedIn.dropReason : 'rejected', () => {
        const by = decidedBy ? `${decidedIn.name} rule ${decidedBy.number} (${decidedBy.text})` : `${decidedIn.name} (more than ${MAX_DEPTH} chains deep)`;
        return `${where}: ${by}${asked ? `, conntrack ${this.tracking.describe(w.tracking!)}` : ''}`;
      });
      return false;
    }
    if (!decidedBy && w.tracing) w.note(() => `  ${where}: ${chain.name}: no rule decided: accept`);
    // A connection a chain looked at and let through is tracked, so that its replies are known.
    if (c.asked) w.tracking!.allowed = true;
    return true;
  }

  /** The chain's verdict; the chain and rule that gave it are left in decidedIn and decidedBy. */
  private run(chain: VirtualChain, c: Context, depth: number): 'accept' | 'drop' | 'reject' | 'return' {
    const w = c.w;
    w.tags.add(chain.tag);
    this.decidedIn = chain;
    this.decidedBy = null;
    if (depth >= MAX_DEPTH) return 'drop';
    const rules = candidates(chain, w);
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r];
      for (let t = 0; t < rule.tags.length; t++) w.tags.add(rule.tags[t]);
      if (!holds(rule, c)) continue;
      if (w.tracing) this.noteMatch(chain, rule, c);
      if (rule.action === 'continue' || (rule.action === 'jump' && !rule.jumpTo)) continue; // a jump to a chain taken out since: as if not there
      if (rule.action === 'jump') {
        const verdict = this.run(rule.jumpTo!, c, depth + 1);
        if (verdict !== 'return') return verdict;
        continue;
      }
      this.decidedIn = chain;
      this.decidedBy = rule;
      return rule.action;
    }
    this.decidedIn = chain;
    this.decidedBy = null;
    return 'return';
  }

  private noteMatch(chain: VirtualChain, rule: VirtualChainRule, c: Context): void {
    const w = c.w;
    const state = w.tracking ? `, conntrack ${this.tracking.describe(w.tracking)}` : '';
    w.note(() => `  ${this.where}: ${chain.name} rule ${rule.number} (${rule.text})${state}: ${rule.action}${rule.jumpTo ? ` ${rule.jumpTo.name}` : ''}`);
  }

  /** The rejection goes back by the port the frame entered the device by, rate-limited per
   *  chain. A flow that was answered is not cached, so that each of its frames is answered
   *  (a SYN's retransmissions too); one over the limit is, so that a flood meets a cached drop. */
  private reject(chain: VirtualChain, w: Walk): void {
    const ingress = w.ingress;
    const frame = ingress ? rejection(w, { source: ingress.destination, destination: ingress.source }) : null;
    if (!ingress || !frame) return;
    if (!w.dryRun && !this.budgets.take(chain.id)) return w.note(() => '  rejection not sent: over the rate limit');
    w.cache = false;
    w.note(() => `  ${w.fields.ipProtocol === IpProtocol.tcp ? 'TCP reset' : 'ICMP administratively prohibited'} to ${formatAddress(w.fields.networkSource)}`);
    this.walker.emit(ingress.port, frame, w);
  }
}

/** The chain's rules a frame of this ethertype and protocol may match, made once per kind of frame. */
function candidates(chain: VirtualChain, w: Walk): VirtualChainRule[] {
  const ip = w.ipv4 || w.ipv6;
  const protocol = ip ? w.fields.ipProtocol : 0;
  const kind = w.fields.ethertype * 256 + protocol;
  let rules = chain.candidates.get(kind);
  if (!rules) {
    if (chain.candidates.size >= MAX_KINDS) chain.candidates.clear(); // frames of every ethertype, from a hostile VM
    rules = chain.rules.filter((r) => (!r.ethertype || r.ethertype === w.fields.ethertype) && (!r.protocol || (ip && r.protocol === protocol)));
    chain.candidates.set(kind, rules);
  }
  return rules;
}

function holds(rule: VirtualChainRule, c: Context): boolean {
  const conditions = rule.conditions;
  for (let i = 0; i < conditions.length; i++) if (!conditions[i](c)) return false;
  return true;
}

/** The rule's conditions, each one a test (inverted when the rule says so). */
export function conditionsOf(rule: ChainRule, groups: ReadonlyMap<string, ReadonlySet<string>>): Condition[] {
  const tests: [ChainCondition, Condition][] = [];
  const ip = (c: Context) => c.w.ipv4 || c.w.ipv6;
  const ported = (c: Context) => ip(c) && (c.w.fields.ipProtocol === IpProtocol.tcp || c.w.fields.ipProtocol === IpProtocol.udp);
  const icmp = (c: Context) => ip(c) && (c.w.fields.ipProtocol === IpProtocol.icmp || c.w.fields.ipProtocol === IpProtocol.icmpv6);
  if (rule.inPort) tests.push(['inPort', (c) => c.inPort.id === rule.inPort]);
  if (rule.outPort) tests.push(['outPort', (c) => c.outPort?.id === rule.outPort]);
  for (const [condition, port] of [['inPortGroup', (c: Context) => c.inPort], ['outPortGroup', (c: Context) => c.outPort]] as const) {
    if (!rule[condition]) continue;
    const members = groups.get(rule[condition]) ?? new Set<string>();
    tests.push([condition, (c) => members.has(port(c)?.id ?? '')]);
  }
  for (const [condition, mac] of [['sourceMac', (w: Walk) => w.source], ['destinationMac', (w: Walk) => w.destination]] as const) {
    if (!rule[condition]) continue;
    const bytes = parseMac(rule[condition]);
    tests.push([condition, (c) => bytes.every((b, i) => b === mac(c.w)[i])]);
  }
  if (rule.ethertype) tests.push(['ethertype', (c) => c.w.fields.ethertype === rule.ethertype]);
  for (const [condition, address] of [['sourcePrefix', (w: Walk) => w.fields.networkSource], ['destinationPrefix', (w: Walk) => w.fields.networkDestination]] as const) {
    if (!rule[condition]) continue;
    const prefix = parsePrefix(rule[condition]);
    tests.push([condition, (c) => ip(c) && contains(prefix, address(c.w))]);
  }
  if (rule.protocol) tests.push(['protocol', (c) => ip(c) && c.w.fields.ipProtocol === rule.protocol]);
  if (rule.sourcePortMax) tests.push(['sourcePorts', (c) => ported(c) && c.w.fields.transportSource >= rule.sourcePortMin && c.w.fields.transportSource <= rule.sourcePortMax]);
  if (rule.destinationPortMax) tests.push(['destinationPorts', (c) => ported(c) && c.w.fields.transportDestination >= rule.destinationPortMin && c.w.fields.transportDestination <= rule.destinationPortMax]);
  if (rule.icmpType >= 0) tests.push(['icmpType', (c) => icmp(c) && c.w.fields.transportSource === rule.icmpType]);
  if (rule.icmpCode >= 0) tests.push(['icmpCode', (c) => icmp(c) && c.w.fields.transportDestination === rule.icmpCode]);
  if (rule.connectionState) tests.push(['connectionState', (c) => c.state() === rule.connectionState]);
  return tests.map(([condition, test]) => (rule.invert.includes(condition) ? (c: Context) => !test(c) : test));
}

/** A rule's conditions in a line, for traces: "tcp dst 22 ct new", "!src 10.0.0.0/8". */
function describe(rule: ChainRule, chains: ReadonlyMap<string, VirtualChain>): string {
  const not = (condition: ChainCondition) => (rule.invert.includes(condition) ? '!' : '');
  const range = (min: number, max: number) => (max > min ? `${min}-${max}` : `${min}`);
  const parts = [
    rule.inPort && `${not('inPort')}in ${rule.inPort.slice(0, 8)}`,
    rule.outPort && `${not('outPort')}out ${rule.outPort.slice(0, 8)}`,
    rule.inPortGroup && `${not('inPortGroup')}in group ${rule.inPortGroup.slice(0, 8)}`,
    rule.outPortGroup && `${not('outPortGroup')}out group ${rule.outPortGroup.slice(0, 8)}`,
    rule.sourceMac && `${not('sourceMac')}mac src ${rule.sourceMac}`,
    rule.destinationMac && `${not('destinationMac')}mac dst ${rule.destinationMac}`,
    rule.ethertype && `${not('ethertype')}ethertype 0x${rule.ethertype.toString(16).padStart(4, '0')}`,
    rule.sourcePrefix && `${not('sourcePrefix')}src ${rule.sourcePrefix}`,
    rule.destinationPrefix && `${not('destinationPrefix')}dst ${rule.destinationPrefix}`,
    rule.protocol && `${not('protocol')}${PROTOCOL_NAMES[rule.protocol] ?? `protocol ${rule.protocol}`}`,
    rule.sourcePortMax && `${not('sourcePorts')}sport ${range(rule.sourcePortMin, rule.sourcePortMax)}`,
    rule.destinationPortMax && `${not('destinationPorts')}dport ${range(rule.destinationPortMin, rule.destinationPortMax)}`,
    rule.icmpType >= 0 && `${not('icmpType')}type ${rule.icmpType}`,
    rule.icmpCode >= 0 && `${not('icmpCode')}code ${rule.icmpCode}`,
    rule.connectionState && `${not('connectionState')}ct ${rule.connectionState}`,
  ].filter(Boolean);
  const jump = rule.jumpTo && !chains.has(rule.jumpTo) ? ' (its chain is gone)' : '';
  return `${parts.join(' ') || 'any'}${jump}`;
}

const PROTOCOL_NAMES: Record<number, string> = { [IpProtocol.icmp]: 'icmp', [IpProtocol.tcp]: 'tcp', [IpProtocol.udp]: 'udp', [IpProtocol.icmpv6]: 'icmpv6' };
