// Names of what a flow depends on (MidoNet's tags): a change to the thing named invalidates
// exactly the flows that carry its tag.

/** A datapath port (its number on this host). */
export const portTag = (port: number): string => `port:${port}`;
/** A virtual port: its settings, its binding, its peer. */
export const vportTag = (id: string): string => `vport:${id}`;
/** A host: where its ports' tunnels go (its underlay address). */
export const hostTag = (id: string): string => `host:${id}`;
/** A bridge or router: its ports, its routes. */
export const deviceTag = (id: string): string => `device:${id}`;
/** A bridge's floods: the ports a frame to no known station goes out of. A port that comes or
 *  goes changes them, and the flows to known stations not at all. */
export const floodTag = (bridge: string): string => `flood:${bridge}`;
/** Where (vlan, mac) lives in one bridge's MAC table. */
export function macTag(bridge: string, vlan: number, mac: Uint8Array, at = 0): string {
  let hex = '';
  for (let i = 0; i < 6; i++) hex += mac[at + i].toString(16).padStart(2, '0');
  return `mac:${bridge}:${vlan}:${hex}`;
}
/** One bridge's station tags, each made once: a walk that adds the same string again costs
 *  no formatting and no hashing (V8 keeps a string's hash). Starts over past a bound, so a
 *  MAC flood cannot grow it without end. */
export class MacTags {
  private readonly byMac = new Map<number, Map<number, string>>();

  constructor(private readonly bridge: string, private readonly most = 65536) {}

  get(vlan: number, mac: Uint8Array): string {
    const key = mac[0] * 2 ** 40 + mac[1] * 2 ** 32 + (((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0);
    let byVlan = this.byMac.get(key);
    if (!byVlan) {
      if (this.byMac.size >= this.most) this.byMac.clear();
      this.byMac.set(key, (byVlan = new Map()));
    }
    let tag = byVlan.get(vlan);
    if (tag === undefined) byVlan.set(vlan, (tag = macTag(this.bridge, vlan, mac)));
    return tag;
  }
}

/** A router's neighbor entry (ARP or NDP) for an address. */
export const neighborTag = (router: string, address: string): string => `neighbor:${router}:${address}`;
/** Flows of stations a full MAC table could not learn: retried when space frees. */
export const TABLE_SPACE_TAG = 'mac-table:space';
/** A security group: its rules, and its members' addresses (which other groups' rules name). */
export const securityGroupTag = (id: string): string => `sg:${id}`;
/** A chain: its rules (and those of the chains it jumps to carry their own). */
export const chainTag = (id: string): string => `chain:${id}`;
/** A port group: its members, which chains' rules name. */
export const portGroupTag = (id: string): string => `pg:${id}`;
/** An external network: its floating IPs, which every flow through a gateway on it depends on. */
export const externalTag = (network: string): string => `external:${network}`;
/** A load balancer: its VIP, members and their health. */
export const loadBalancerTag = (id: string): string => `lb:${id}`;
/** New connections a full connection table refused: retried when space frees. */
export const CONNTRACK_SPACE_TAG = 'conntrack:space';
