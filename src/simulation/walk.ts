// One walk of a frame through the virtual topology: where it is, what was decided, and what
// the flow will do. Devices (bridge.ts's VirtualBridge step, router.ts) read and change it.
import { Action, describeKey, DropReason, FlowKeyExtractor, FlowKeyFields, FlowState, KEY_WORDS, KeyFlag, TcpBits } from '../flow';
import { EtherType, formatAddress, formatMac, IpProtocol, isIcmpv4Error, isIcmpv6Error, VLAN_TAG_BYTES, VNET_HEADER_BYTES, ETHERNET_HEADER_BYTES } from '../packet';
import type { Tracking } from './connection-tracking';
import type { PredictedFlow } from './predicted-flows';
import type { VirtualPort } from './virtual-topology';

export interface Ingress {
  port: VirtualPort;
  source: Uint8Array;
  destination: Uint8Array;
}

/** A frame a device sent by itself (a reply, a solicitation) and the outputs it takes. */
export interface Emission {
  frame: Uint8Array;
  actions: Action[];
  /** A service's answer, counted where it was sent. */
  service?: Service;
}

/** The services devices answer for VMs, counted per host. */
export type Service = 'dhcp' | 'routerAdvertisement';

export interface Neighbor {
  router: string;
  address: string;
  mac: string;
}

/** A MAC a bridge learned on one of its ports (a VM's, not a router's). */
export interface LearnedStation {
  bridge: string;
  vlan: number;
  mac: string;
  port: string;
}

/** A frame that waits until its router resolves `address` (`request` asks for it), or, with
 *  `router` NAT_HOLD and `address` a source NAT address (network/address), until the host
 *  leases more of its ports. */
export interface Hold {
  router: string;
  address: string;
  frame: Uint8Array;
  inPort: number;
  request: Emission | null;
}

/** What a frame waiting for source NAT's ports is held under. */
export const NAT_HOLD = 'nat';

export interface SimulationResult {
  actions: Action[];
  tags: string[];
  /** Tags whose flows are stale after what this walk learned. */
  invalidate: string[];
  /** False when a device answered the frame itself: every such frame must come to the slow path. */
  cache: boolean;
  /** The tracked connection of the flow (its slot in the table), or -1. */
  connection: number;
  natShortages: string[];
  probeReplies: Uint8Array[];
  emit: Emission[];
  /** Neighbors the routers heard from: new, moved, or confirmed. */
  learned: Neighbor[];
  stations: LearnedStation[];
  holds: Hold[];
  trace: string[];
  /** Flows to set up with this one, ahead of their first frames (predicted-flows.ts). */
  predicted: PredictedFlow[];
}

/** A walk for a frame that came (`live`); for a trace, which learns nothing and describes
 *  each step; or for a flow set up ahead of its first frame (`predict`: see
 *  predicted-flows.ts), which learns nothing either and changes no state. */
export type WalkMode = 'live' | 'trace' | 'predict';

/** Devices a frame may cross before the walk gives up (a loop in the topology). */
const MAX_HOPS = 16;

export class Walk {
  readonly actions: Action[] = [];
  readonly tags = new Set<string>();
  readonly invalidate = new Set<string>();
  readonly emit: Emission[] = [];
  readonly learned: Neighbor[] = [];
  readonly stations: LearnedStation[] = [];
  readonly holds: Hold[] = [];
  readonly trace: string[] = [];
  cache = true;
  /** A SYN that told another host of its connection: its own flow is not cached, so that a
   *  retransmitted SYN comes up and tells it again if that was lost on the way (the flows set up
   *  ahead of its connection's later segments are cached: they come after an answer). */
  retell = false;
  outputs = 0;
  dropReason: DropReason | null = null;
  hops = 0;
  /** Connection tracking's answer, once a security group or a chain asked. */
  tracking: Tracking | null = null;
  /** The connection the flow belongs to (its slot), or -1. */
  connection = -1;
  /** A connection source NAT translated in this walk (`opened`: opened by it), to be told to
   *  the host where its replies enter. */
  translation: (FlowState & { slot: number; opened: boolean }) | null = null;
  /** Hosts that learn the connection besides those its flow tunnels to (an uplink's standby
   *  gateway hosts, where its replies enter after a failover). */
  readonly alsoTell = new Set<string>();
  /** Source NAT addresses (network/address) this host had no port left on. */
  readonly natShortages: string[] = [];
  /** Replies to the agent's health probes (frames, vnet header first). */
  readonly probeReplies: Uint8Array[] = [];
  /** Sent by a device itself (a router's reply): no security group or chain stands in its way. */
  fromDevice = false;
  /** The frame's MACs as it left by its last output (a branch of a flood may change them
   *  and restore them after). */
  leftWith: { source: Uint8Array; destination: Uint8Array } | null = null;
  /** The device the frame is in: the port it entered by, and its MACs as it entered. */
  ingress: Ingress | null = null;

  readonly fields: FlowKeyFields;
  /** The frame as it is now along the walk (MACs rewritten by routers). */
  source: Uint8Array;
  destination: Uint8Array;
  tagged: boolean;
  ttl: number;
  /** Where the frame's L3 header starts in `frame` (behind the vnet header), or -1. */
  readonly l3At: number;
  /** A TCP segment's control bits (TcpBits), which the key keeps only whether it opens; 0
   *  for anything else. */
  readonly tcpControl: number;

  /** Not live: learns nothing, commits nothing, sends nothing. */
  readonly dryRun: boolean;
  /** A trace: each step is described. */
  readonly tracing: boolean;

  constructor(key: Uint32Array, at: number, readonly frame: Uint8Array | null, readonly mode: WalkMode) {
    this.dryRun = mode !== 'live';
    this.tracing = mode === 'trace';
    this.fields = describeKey(key, at);
    this.source = this.fields.sourceMac.slice();
    this.destination = this.fields.destinationMac.slice();
    this.tagged = (this.fields.flags & KeyFlag.vlan) !== 0;
    this.l3At = frame ? VNET_HEADER_BYTES + ETHERNET_HEADER_BYTES + (this.tagged ? VLAN_TAG_BYTES : 0) : -1;
    this.ttl = this.readTtl();
    this.tcpControl = this.readTcpControl();
  }

  get ipv4(): boolean {
    return this.fields.ethertype === EtherType.ipv4;
  }

  get ipv6(): boolean {
    return this.fields.ethertype === EtherType.ipv6;
  }

  /** Whether the frame is an ICMP error, which quotes the packet it is about. */
  get icmpError(): boolean {
    const f = this.fields;
    if (this.ipv4) return f.ipProtocol === IpProtocol.icmp && isIcmpv4Error(f.transportSource);
    return this.ipv6 && f.ipProtocol === IpProtocol.icmpv6 && isIcmpv6Error(f.transportSource);
  }

  /** Records a step of a trace; the text is made only when tracing. */
  note(text: () => string): void {
    if (this.tracing) this.trace.push(`${'  '.repeat(Math.max(0, this.hops - 1))}${text()}`);
  }

  /** Counts a device crossed; false (and a drop) past the limit. */
  enterDevice(): boolean {
    if (++this.hops <= MAX_HOPS) return true;
    this.drop('loop', () => `more than ${MAX_HOPS} devices: a loop in the topology`);
    return false;
  }

  drop(reason: DropReason, why: () => string): void {
    this.dropReason ??= reason;
    this.note(() => `drop (${reason}): ${why()}`);
  }

  /** Takes back every output decided so far: the frame goes nowhere, for this reason. */
  refuse(reason: DropReason, why: () => string): void {
    this.actions.length = 0;
    this.outputs = 0;
    this.dropReason = reason;
    this.note(() => `drop (${reason}): ${why()}`);
  }

  /** Rewrites the frame's source or destination address and port (NAT, port forwarding, a
   *  load balancer): the actions (either family; an ICMP echo's identifier is its port) and
   *  the fields the rest of the walk sees. */
  rewrite(field: 'source' | 'destination', address: Uint8Array, port: number): void {
    const f = this.fields;
    this.actions.push({ type: address.length === 4 ? 'set_ipv4' : 'set_ipv6', field, address: formatAddress(address) }, { type: 'set_l4_port', field, port });
    if (field === 'source') f.networkSource = address;
    else f.networkDestination = address;
    if (f.ipProtocol === IpProtocol.icmp || f.ipProtocol === IpProtocol.icmpv6) f.icmpIdentifier = port;
    else if (field === 'source') f.transportSource = port;
    else f.transportDestination = port;
  }

  output(port: number): void {
    this.actions.push({ type: 'output', port });
    this.outputs++;
    this.leftWith = { source: this.source, destination: this.destination };
  }

  tunnel(key: number, remote: string): void {
    this.actions.push({ type: 'tunnel', key, remote });
    this.outputs++;
  }

  /** The walk's state, to restore after a branch of a flood that may change it. */
  save(): () => void {
    const { source, destination, tagged, ttl, ingress } = this;
    return () => Object.assign(this, { source, destination, tagged, ttl, ingress });
  }

  result(): SimulationResult {
    // A frame a device took in (a ping to a router, an ARP for it) is neither sent nor dropped.
    const consumed = !this.cache && this.dropReason === null;
    const reason = this.dropReason ?? 'noOutput';
    const actions: Action[] = this.outputs > 0 || consumed ? this.actions : [{ type: 'drop', reason }];
    return {
      actions, tags: [...this.tags], invalidate: [...this.invalidate], cache: this.cache && !this.retell, connection: this.connection, natShortages: this.natShortages, probeReplies: this.probeReplies,
      emit: this.emit, learned: this.learned, stations: this.stations, holds: this.holds, trace: this.trace, predicted: [],
    };
  }

  describe(): string {
    return `${formatMac(this.source)} > ${formatMac(this.destination)}`;
  }

  private readTtl(): number {
    const f = this.frame;
    if (f && this.ipv4 && this.l3At + 9 <= f.length) return f[this.l3At + 8];
    if (f && this.ipv6 && this.l3At + 8 <= f.length) return f[this.l3At + 7];
    return this.fields.flags & KeyFlag.lastHop ? 1 : 64;
  }

  /** Read from the frame where there is one; a trace of a key alone has an opening's SYN or a
   *  later segment's ACK. */
  private readTcpControl(): number {
    if (this.fields.ipProtocol !== IpProtocol.tcp || !(this.ipv4 || this.ipv6)) return 0;
    if (this.frame && reader.extract(this.frame, VNET_HEADER_BYTES, this.frame.length, 0, scratch, 0)) return reader.tcpControl;
    return this.fields.flags & KeyFlag.tcpOpening ? TcpBits.syn : TcpBits.ack;
  }
}

/** What the key leaves out of a frame is read again by one extractor. */
const reader = new FlowKeyExtractor();
const scratch = new Uint32Array(KEY_WORDS);
