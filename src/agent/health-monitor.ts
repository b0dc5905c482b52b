// Health monitors of load balancers' members (Octavia's, HAProxy's checks), run by the agent of
// the host each member's port is bound on, as OVN's service monitors are: no host checks
// another's VMs, and a check crosses no tunnel. A check is a TCP connection from the address of
// the router's port on the member's network (a real source in the tenant's network, which
// the member's replies reach like any other, and which the router hands back: HEALTH_PROBE_PORTS),
// made by hand: a SYN; a SYN-ACK is a TCP check's success; an HTTP check then sends its GET and
// reads the status line of the answer. A reset, the wrong status or no answer within the
// timeout is a failure. `fall` failures in a row take a member down, `rise` successes bring it
// back; each change (and the first result) is written to the store as the member's status,
// which every host's walk and the API read.
import type { Logger } from 'pino';
import type { Transmission } from '../datapath';
import {
  emitEthernet, emitIpv4, emitIpv6, emitTcp, EtherType, ETHERNET_HEADER_BYTES, formatAddress, IpProtocol, IPV4_HEADER_BYTES, IPV6_HEADER_BYTES, ipv4PseudoSum, Ipv4Packet,
  ipv6PseudoSum, Ipv6Packet, parseAddress, parseMac, parsePrefix, sameAddress, TCP_HEADER_BYTES, TcpFlag, TcpSegment, VNET_HEADER_BYTES,
} from '../packet';
import { HEALTH_PROBE_PORTS, StatePort, TopologyState } from '../simulation';
import { arpRequest, neighborSolicitation } from '../simulation/router-frames';
import { LoadBalancer, memberStatusId, MemberStatus, TopologyStore } from '../topology';

const TICK_MS = 100;

/** One member as this host checks it. */
interface Checked {
  lb: LoadBalancer;
  address: string;
  port: number;
  /** Up as far as this host knows (a member starts up, as HAProxy's do). */
  up: boolean;
  reported: boolean;
  successes: number;
  failures: number;
  transitions: number;
  nextAt: number;
  probe: Probe | null;
}

/** A check under way: the connection it opened, and how far it got. */
interface Probe {
  sourcePort: number;
  sequence: number;
  deadline: number;
  /** Where to send from and to (the router port's MAC and address; the member's MAC). */
  from: { mac: Uint8Array; address: Uint8Array };
  toMac: Uint8Array;
  datapathPort: number;
  asked: boolean;
}

export interface HealthMonitorSink {
  state(): TopologyState;
  send(frames: Transmission[]): void;
}

export class HealthMonitor {
  /** Checks and their results on this host: what the metrics show. */
  readonly stats = { checks: 0, failures: 0 };
  private readonly members = new Map<string, Checked>();
  /** Runs while there are members to check: an agent without any wakes for none. */
  private timer: NodeJS.Timeout | null = null;
  private nextPort: number = HEALTH_PROBE_PORTS.first;

  constructor(private readonly store: TopologyStore, private readonly hostId: string, private readonly sink: HealthMonitorSink, private readonly logger: Logger) {}

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Members this host checks, with what it knows of them (the metrics' view). */
  checked(): { loadBalancer: string; member: string; up: boolean; transitions: number }[] {
    return [...this.members.values()].map((m) => ({ loadBalancer: m.lb.id, member: `${m.address}:${m.port}`, up: m.up, transitions: m.transitions }));
  }

  /** The load balancers as the store has them now. */
  follow(balancers: LoadBalancer[]): void {
    const wanted = new Set<string>();
    for (const lb of balancers) {
      if (lb.monitor.type === 'none') continue;
      for (const m of lb.members) {
        const key = memberStatusId(lb.id, m.address, m.port);
        wanted.add(key);
        const known = this.members.get(key);
        if (known) known.lb = lb;
        else this.members.set(key, { lb, address: m.address, port: m.port, up: true, reported: false, successes: 0, failures: 0, transitions: 0, nextAt: 0, probe: null });
      }
    }
    for (const key of [...this.members.keys()]) if (!wanted.has(key)) this.members.delete(key);
    if (this.members.size === 0) this.stop();
    else if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
  }

  /** Frames the router handed over: replies to this host's probes. */
  replies(frames: Uint8Array[]): void {
    for (const frame of frames) {
      const l3 = VNET_HEADER_BYTES + ETHERNET_HEADER_BYTES;
      const v6 = ((frame[l3 - 2] << 8) | frame[l3 - 1]) === EtherType.ipv6;
      const ip = v6 ? new Ipv6Packet() : new Ipv4Packet();
      if (ip.point(frame, l3, frame.length) !== null || (v6 ? (ip as Ipv6Packet).nextHeader : (ip as Ipv4Packet).protocol) !== IpProtocol.tcp) continue;
      const tcp = new TcpSegment();
      if (tcp.point(frame, ip.payloadAt, Math.min(frame.length, ip.payloadAt + ip.payloadLength)) !== null) continue;
      const source = formatAddress(frame.subarray(ip.sourceAt, ip.sourceAt + (v6 ? 16 : 4)));
      const member = [...this.members.values()].find((m) => m.probe?.sourcePort === tcp.destinationPort && m.port === tcp.sourcePort && sameAddress(parseAddress(m.address), parseAddress(source)));
      if (member) this.answered(member, frame, tcp);
    }
  }

  private answered(m: Checked, frame: Uint8Array, tcp: TcpSegment): void {
    const probe = m.probe!;
    if (tcp.flags & TcpFlag.rst) return this.result(m, false, 'reset');
    if ((tcp.flags & (TcpFlag.syn | TcpFlag.ack)) === (TcpFlag.syn | TcpFlag.ack) && tcp.acknowledgment === ((probe.sequence + 1) >>> 0)) {
      if (m.lb.monitor.type === 'tcp') {
        this.sink.send([this.segment(m, probe, probe.sequence + 1, 0, TcpFlag.rst)]);
        return this.result(m, true, 'connected');
      }
      if (probe.asked) return;
      probe.asked = true;
      const request = new TextEncoder().encode(`GET ${m.lb.monitor.path} HTTP/1.0\r\nHost: ${m.address}\r\nUser-Agent: vswitch-health-monitor\r\n\r\n`);
      this.sink.send([this.segment(m, probe, probe.sequence + 1, (tcp.sequence + 1) >>> 0, TcpFlag.psh | TcpFlag.ack, request)]);
      return;
    }
    const payload = new TextDecoder().decode(frame.subarray(tcp.payloadAt, Math.min(frame.length, tcp.payloadAt + 64)));
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(payload);
    if (!status) return;
    this.sink.send([this.segment(m, probe, (tcp.acknowledgment) >>> 0, 0, TcpFlag.rst)]);
    this.result(m, Number(status[1]) === m.lb.monitor.expectStatus, `HTTP ${status[1]}`);
  }

  private tick(): void {
    const now = Date.now();
    let state: TopologyState | null = null;
    for (const m of this.members.values()) {
      if (m.probe && now >= m.probe.deadline) this.result(m, false, 'no answer in time');
      if (m.probe || now < m.nextAt) continue;
      state ??= this.sink.state();
      m.nextAt = now + m.lb.monitor.intervalSeconds * 1000;
      this.start(m, state, now);
    }
  }

  /** Sends a check's SYN, if the member's port is bound here (else another host checks it). */
  private start(m: Checked, state: TopologyState, now: number): void {
    const where = placeOf(state, m);
    if (!where) return;
    if (!where.toMac) {
      // Not resolved yet: ask, as the router would (its answer is learned in the walk).
      const a = parseAddress(m.address);
      const ask = a.length === 4 ? arpRequest(where.from.mac, where.from.address, a) : neighborSolicitation(where.from.mac, where.from.address, a);
      this.sink.send([{ frame: ask, actions: [{ type: 'output', port: where.datapathPort }] }]);
      return;
    }
    const sourcePort = this.nextPort;
    this.nextPort = sourcePort === HEALTH_PROBE_PORTS.last ? HEALTH_PROBE_PORTS.first : sourcePort + 1;
    m.probe = { sourcePort, sequence: (Math.random() * 2 ** 32) >>> 0, deadline: now + m.lb.monitor.timeoutSeconds * 1000, from: where.from, toMac: where.toMac, datapathPort: where.datapathPort, asked: false };
    this.stats.checks++;
    this.sink.send([this.segment(m, m.probe, m.probe.sequence, 0, TcpFlag.syn)]);
  }

  private result(m: Checked, ok: boolean, why: string): void {
    m.probe = null;
    if (!ok) this.stats.failures++;
    m.successes = ok ? m.successes + 1 : 0;
    m.failures = ok ? 0 : m.failures + 1;
    const flips = m.up ? m.failures >= m.lb.monitor.fall : m.successes >= m.lb.monitor.rise;
    if (flips) {
      m.up = !m.up;
      m.transitions++;
      this.logger.info({ loadBalancer: m.lb.id, member: `${m.address}:${m.port}`, up: m.up, why }, m.up ? 'load balancer member is up' : 'load balancer member is down');
    }
    if (flips || !m.reported) void this.report(m);
  }

  private async report(m: Checked): Promise<void> {
    m.reported = true;
    const status: MemberStatus = {
      id: memberStatusId(m.lb.id, m.address, m.port), tenant: m.lb.tenant, loadBalancer: m.lb.id, address: m.address, port: m.port, up: m.up, since: Date.now(), transitions: m.transitions, host: this.hostId,
    };
    await this.store.put('memberStatus', status).catch((error: unknown) => {
      m.reported = false; // said again at the next result
      this.logger.warn({ err: error, member: status.id }, 'could not write a load balancer member\'s health');
    });
  }

  /** A TCP segment of a check, from the router port's address to the member (IPv4 or IPv6). */
  private segment(m: Checked, probe: Probe, sequence: number, acknowledgment: number, flags: number, payload = new Uint8Array(0)): Transmission {
    const length = TCP_HEADER_BYTES + payload.length;
    const v6 = probe.from.address.length === 16;
    const frame = new Uint8Array(VNET_HEADER_BYTES + ETHERNET_HEADER_BYTES + (v6 ? IPV6_HEADER_BYTES : IPV4_HEADER_BYTES) + length);
    const ipAt = emitEthernet(frame, VNET_HEADER_BYTES, { source: probe.from.mac, destination: probe.toMac, ethertype: v6 ? EtherType.ipv6 : EtherType.ipv4 });
    const [source, destination] = [probe.from.address, parseAddress(m.address)];
    const tcpAt = v6
      ? emitIpv6(frame, ipAt, { trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.tcp, hopLimit: 64, source, destination, payloadLength: length })
      : emitIpv4(frame, ipAt, { dscp: 0, ecn: 0, identification: 0, dontFragment: true, ttl: 64, protocol: IpProtocol.tcp, source, destination, payloadLength: length });
    emitTcp(frame, tcpAt, { sourcePort: probe.sourcePort, destinationPort: m.port, sequence: sequence >>> 0, acknowledgment, flags, window: 65535 });
    frame.set(payload, tcpAt + TCP_HEADER_BYTES);
    const pseudo = v6 ? ipv6PseudoSum(frame, ipAt, IpProtocol.tcp, length) : ipv4PseudoSum(frame, ipAt, IpProtocol.tcp, length);
    new TcpSegment(frame, tcpAt, frame.length).fillChecksum(pseudo);
    return { frame, actions: [{ type: 'output', port: probe.datapathPort }] };
  }
}

/** Where a member is checked from, when its port is bound on this host: the router's port on
 *  its network (MAC and address), the member's MAC (as the router resolved it, or its port's),
 *  and its datapath port here. */
function placeOf(state: TopologyState, m: Checked): { from: { mac: Uint8Array; address: Uint8Array }; toMac: Uint8Array | null; datapathPort: number } | null {
  const ports = new Map(state.ports.map((p) => [p.id, p]));
  const target = parseAddress(m.address);
  const member = state.ports.find((p) => p.datapathPort > 0 && !p.remote && p.addresses.some((a) => sameAddress(parsePrefix(a).address, target)));
  if (!member) return null;
  const routerPort = state.ports.find((p) => p.device === m.lb.router && ports.get(p.peer)?.device === member.device);
  const from = routerPort && sourceOn(routerPort, target.length);
  if (!routerPort || !from) return null;
  const resolved = state.neighbors.find((n) => n.router === m.lb.router && sameAddress(parseAddress(n.address), target))?.mac || member.mac;
  return { from: { mac: parseMac(routerPort.mac), address: from }, toMac: resolved ? parseMac(resolved) : null, datapathPort: member.datapathPort };
}

/** The router port's address of the member's family (a global one, for IPv6). */
function sourceOn(port: StatePort, length: number): Uint8Array | null {
  const address = port.addresses.map((a) => parsePrefix(a).address).find((a) => a.length === length);
  return port.mac && address ? address : null;
}
