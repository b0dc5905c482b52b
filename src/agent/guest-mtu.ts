// The MTU VMs are told (DHCP option 26) when their subnet names none. Behind VXLAN it is the
// underlay interface's less the 50 bytes the tunnel adds (outer IPv4 20, UDP 8, VXLAN 8, inner
// Ethernet 14), so that guests never send what the underlay would fragment; with no underlay
// (one host, no tunnel), Ethernet's 1500.
import fs from 'node:fs';
import os from 'node:os';

export const VXLAN_OVERHEAD = 50;
const ETHERNET_MTU = 1500;

export function guestMtu(underlay: string | undefined): number {
  if (!underlay) return ETHERNET_MTU;
  const iface = Object.entries(os.networkInterfaces()).find(([, addresses]) => addresses?.some((a) => a.address === underlay))?.[0];
  try {
    const mtu = Number(fs.readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8'));
    return Number.isInteger(mtu) && mtu > VXLAN_OVERHEAD ? mtu - VXLAN_OVERHEAD : ETHERNET_MTU - VXLAN_OVERHEAD;
  } catch {
    return ETHERNET_MTU - VXLAN_OVERHEAD; // an interface we cannot read: the common underlay
  }
}
