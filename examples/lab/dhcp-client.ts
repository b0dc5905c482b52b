// A VM stand-in's DHCP client: busybox's udhcpc, whose script writes down what it was told and
// configures the interface with it (address, MTU, default route).
import fs from 'node:fs';
import path from 'node:path';
import type { Lab } from './namespaces';
import { eventually } from './agent-process';

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

/** dhclient runs its script with an environment of its own: where to write goes in the text. */
const script6 = (out: string) => `#!/bin/sh
case "$reason" in BOUND6|REBOOT6|RENEW6|REBIND6) ;; *) exit 0 ;; esac
echo "address=$new_ip6_address dns=$new_dhcp6_name_servers domain=$new_dhcp6_domain_search" > "${out}"
[ -n "$new_ip6_address" ] && ip -6 addr add "$new_ip6_address/64" dev "$interface" nodad
exit 0
`;

/** Asks DHCPv6 on `iface` with ISC's dhclient (`stateless`: information only, -S), its script
 *  our own (it touches nothing but the interface), run in the foreground and stopped once it
 *  has an answer: what the server said (`address=… dns=… domain=…`), or null when none
 *  answered within 30 s. */
export async function dhcpv6Lease(lab: Lab, vm: string, stateless = false, iface = 'eth0'): Promise<string | null> {
  const dir = lab.directory('dhcp6');
  const kind = stateless ? 'stateless' : 'stateful';
  const told = path.join(dir, `${vm}-${kind}.lease`);
  const script = path.join(dir, `${vm}-${kind}.script`);
  fs.writeFileSync(script, script6(told), { mode: 0o755 });
  const files = ['-lf', path.join(dir, `${vm}.leases`), '-pf', path.join(dir, `${vm}.pid`)];
  const client = lab.spawn(vm, 'dhclient', ['-6', '-d', ...(stateless ? ['-S'] : []), '-sf', script, ...files, iface]);
  const answered = await eventually(async () => fs.existsSync(told));
  client.kill(); // the process this lab started, by its PID
  return answered ? fs.readFileSync(told, 'utf8').trim() : null;
}
