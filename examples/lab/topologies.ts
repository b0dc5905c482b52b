// The lab's usual shape: a switch namespace `sw` and two hosts `a` and `b`, each joined to it
// by a veth pair whose switch-side ends are named `ports`, with addresses SUBNET.1 and SUBNET.2.
import type { Lab } from './namespaces';

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
