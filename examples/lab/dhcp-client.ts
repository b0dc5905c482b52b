// A VM stand-in's DHCP client: busybox's udhcpc, whose script writes down what it was told and
// configures the interface with it (address, MTU, default route).
import fs from 'node:fs';
import path from 'node:path';
import type { Lab } from './namespaces';

const SCRIPT = `#!/bin/sh
[ "$1" = bound ] || exit 0
echo "ip=$ip mask=$mask router=$router dns=$dns domain=$domain mtu=$mtu" > "$OUT"
ip link set "$interface" mtu "$mtu"
ip addr add "$ip/$mask" dev "$interface"
ip route add default via "$router"
`;

/** Asks for a lease on `iface` (five discovers, a second apart): what the server said
 *  (`ip=… mask=… router=… dns=… domain=… mtu=…`), or null when none answered. */
export async function dhcpLease(lab: Lab, vm: string, iface = 'eth0'): Promise<string | null> {
  const dir = lab.directory('dhcp');
  const script = path.join(dir, 'udhcpc.script');
  if (!fs.existsSync(script)) fs.writeFileSync(script, SCRIPT, { mode: 0o755 });
  const told = path.join(dir, `${vm}.lease`);
  try {
    await lab.exec(vm, 'env', [`OUT=${told}`, 'busybox', 'udhcpc', '-i', iface, '-f', '-q', '-n', '-t', '5', '-T', '1', '-O', 'mtu', '-s', script], 30_000);
    return fs.readFileSync(told, 'utf8').trim();
  } catch {
    return null;
  }
}
