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
