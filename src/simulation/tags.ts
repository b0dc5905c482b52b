// Names of what a flow depends on (MidoNet's tags): a change to the thing named invalidates
// exactly the flows that carry its tag.

/** A datapath port (its number on this host). */
export const portTag = (port: number): string => `port:${port}`;
/** A virtual port: its settings, its binding, its peer. */
export const vportTag = (id: string): string => `vport:${id}`;
/** A bridge or router: its ports, its routes. */
export const deviceTag = (id: string): string => `device:${id}`;
/** Where (vlan, mac) lives in one bridge's MAC table. */
export function macTag(bridge: string, vlan: number, mac: Uint8Array, at = 0): string {
  let hex = '';
  for (let i = 0; i < 6; i++) hex += mac[at + i].toString(16).padStart(2, '0');
  return `mac:${bridge}:${vlan}:${hex}`;
}
/** A router's neighbor entry (ARP or NDP) for an address. */
export const neighborTag = (router: string, address: string): string => `neighbor:${router}:${address}`;
/** Flows of stations a full MAC table could not learn: retried when space frees. */
export const TABLE_SPACE_TAG = 'mac-table:space';
