// The lab's usual shape: a switch namespace `sw` and two hosts `a` and `b`, each joined to it
// by a veth pair whose switch-side ends are named `ports`, with addresses SUBNET.1 and SUBNET.2.
import type { Lab } from './namespaces';
import type { RunningAgent } from './agent-process';

export interface TwoHosts {
  sw: string;
  a: string;
  b: string;
}

export async function twoHostsAndSwitch(lab: Lab, subnet: string, ports: [string, string] = ['pa', 'pb']): Promise<TwoHosts> {
  const sw = await lab.namespace('sw');
  const a = await lab.namespace('a');
  const b = await lab.namespace('b');
  await lab.veth(a, 'eth0', sw, ports[0]);
  await lab.veth(b, 'eth0', sw, ports[1]);
  await lab.ip(a, 'addr', 'add', `${subnet}.1/24`, 'dev', 'eth0');
  await lab.ip(b, 'addr', 'add', `${subnet}.2/24`, 'dev', 'eth0');
  return { sw, a, b };
}

/** A host namespace joined to the switch namespace by a veth pair (its switch end named
 *  `port`), with an address in each family and its default routes through `.1`/`::1`. */
export async function routedHost(lab: Lab, sw: string, role: string, port: string, v4: string, v6?: string): Promise<string> {
  const ns = await lab.namespace(role);
  await lab.veth(ns, 'eth0', sw, port);
  await lab.ip(ns, 'addr', 'add', `${v4}/24`, 'dev', 'eth0');
  await lab.ip(ns, 'route', 'add', 'default', 'via', v4.replace(/\.\d+$/, '.1'));
  if (v6) {
    await lab.ip(ns, 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad');
    await lab.ip(ns, '-6', 'route', 'add', 'default', 'via', v6.replace(/::\w+$/, '::1'));
  }
  return ns;
}

/** The physical network of many hosts: a `core` namespace with a Linux bridge (the simple
 *  core), and a namespace per host joined to it by a veth (`ul0`) with an address in
 *  UNDERLAY.0/24; the core itself is UNDERLAY.1. Its MTU leaves room for VXLAN's 50 bytes
 *  around a 1500-byte frame (RFC 7348 §4.3: the underlay carries them whole). */
export async function underlay(lab: Lab, roles: string[]): Promise<{ core: string; hosts: { ns: string; address: string }[] }> {
  const core = await lab.namespace('core');
  await lab.ip(core, 'link', 'add', 'br0', 'type', 'bridge');
  await lab.ip(core, 'link', 'set', 'br0', 'up');
  await lab.ip(core, 'addr', 'add', `${UNDERLAY}.1/24`, 'dev', 'br0');
  const hosts: { ns: string; address: string }[] = [];
  for (const [i, role] of roles.entries()) {
    const ns = await lab.namespace(role);
    await lab.veth(ns, 'ul0', core, `ul${i}`);
    await lab.ip(core, 'link', 'set', `ul${i}`, 'master', 'br0');
    await lab.ip(core, 'link', 'set', `ul${i}`, 'mtu', String(UNDERLAY_MTU));
    await lab.ip(ns, 'link', 'set', 'ul0', 'mtu', String(UNDERLAY_MTU));
    const address = `${UNDERLAY}.${i + 2}`;
    await lab.ip(ns, 'addr', 'add', `${address}/24`, 'dev', 'ul0');
    hosts.push({ ns, address });
  }
  return { core, hosts };
}

export const UNDERLAY = '192.168.100';
const UNDERLAY_MTU = 1600;

/** A VM stand-in: a namespace whose eth0 is joined to `host` by a veth (the host end named `tap`). */
export async function vmOn(lab: Lab, host: string, role: string, tap: string, address: string): Promise<string> {
  const vm = await lab.namespace(role);
  await lab.veth(vm, 'eth0', host, tap);
  await lab.ip(vm, 'addr', 'add', address, 'dev', 'eth0');
  return vm;
}

/** VM stand-ins vm1..vmN: namespaces joined to `sw` by veth pairs whose switch ends are named
 *  t1..tN, with 10.0.0.1N/24 (and fd00::1N/64, without duplicate address detection, if `ipv6`). */
export async function vmStandIns(lab: Lab, sw: string, count: number, ipv6 = false): Promise<string[]> {
  const vms: string[] = [];
  for (let n = 1; n <= count; n++) {
    const vm = await lab.namespace(`vm${n}`);
    await lab.veth(vm, 'eth0', sw, `t${n}`);
    await lab.ip(vm, 'addr', 'add', `10.0.0.1${n}/24`, 'dev', 'eth0');
    if (ipv6) await lab.ip(vm, 'addr', 'add', `fd00::1${n}/64`, 'dev', 'eth0', 'nodad');
    vms.push(vm);
  }
  return vms;
}

/** The MAC address of an interface in a namespace. */
export async function macOf(lab: Lab, ns: string, dev = 'eth0'): Promise<string> {
  return /link\/ether (\S+)/.exec((await lab.ip(ns, 'link', 'show', dev)).stdout)![1];
}

/** Whether an agent's MAC tables hold every one of `macs` (learned, or shared by other hosts). */
export async function knowsMacs(agent: RunningAgent, macs: string[]): Promise<boolean> {
  const known = new Set((await agent.client.request<{ mac: string }[]>('GET', '/macs')).map((m) => m.mac));
  return macs.every((m) => known.has(m));
}
