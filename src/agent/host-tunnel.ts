// This host's end of the VXLAN overlay: one UDP socket on the underlay address, which every
// datapath worker sends on and the first receives from, and the map that tells the workers
// which local port each tunnel key delivers to and whose datagrams they take.
import { native, PortSpec, ToDatapath, TUNNEL_PORT } from '../datapath';
import { parseIpv4, VXLAN_UDP_PORT } from '../packet';
import { SwitchError } from './errors';
import type { DatapathPortView, HostTopology } from './host-topology';

export class HostTunnel {
  private socket: PortSpec | null = null;

  /** `underlay` undefined: this host has no overlay, and the tunnel stays closed. */
  constructor(private readonly underlay: string | undefined, private readonly topology: HostTopology) {}

  /** The socket's descriptor, while it is open. */
  get fd(): number | null {
    return this.socket?.fd ?? null;
  }

  /** This host has an underlay but no socket yet: it awaits its predecessor's (takeover). */
  get awaited(): boolean {
    return this.underlay !== undefined && this.socket === null;
  }

  /** Opens the socket anew, or takes the one `inherited` from the agent this one took over
   *  from. A bad underlay address is refused here, with nothing else to clean up. */
  open(inherited?: number): void {
    if (this.underlay === undefined) return;
    try {
      const fd = inherited ?? native.openUdp(this.underlay, VXLAN_UDP_PORT);
      this.socket = { number: TUNNEL_PORT, name: 'vxlan', kind: 'tunnel', fd, vnetHdr: false };
    } catch (error) {
      const e = error as Error & { code?: string };
      throw new SwitchError(`TUNNEL_${e.code ?? 'EIO'}`, e.message, 400, 'underlay');
    }
  }

  /** What a worker must be told to use the tunnel: its socket (the first worker receives on
   *  it) and the map. Nothing while it is closed. */
  attach(receive: boolean, ports: readonly DatapathPortView[]): ToDatapath[] {
    return this.socket ? [{ type: 'addPort', port: this.socket, receive }, this.map(ports)!] : [];
  }

  /** The map as the topology says now, for every worker; null while the tunnel is closed. */
  map(ports: readonly DatapathPortView[]): ToDatapath | null {
    if (!this.socket) return null;
    const { peers, ...keys } = this.topology.tunnelMap(ports);
    return { type: 'tunnelMap', ...keys, peers: peers.flatMap((a) => (/^\d+\.\d+\.\d+\.\d+$/.test(a) ? [parseIpv4(a).reduce((n, b) => n * 256 + b, 0)] : [])) };
  }

  close(): void {
    if (this.socket) native.close(this.socket.fd);
    this.socket = null;
  }
}
