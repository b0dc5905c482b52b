// Changes while a ping stream flows: three subnets behind a router (the switch's virtual router,
// or the kernel's for comparison), 10.0.9.1 on both h2 and h3 so that a route picks which one
// gets the stream; and what each host's kernel counts as received, outside any switch.
import { RunningAgent, sleep, startAgent } from './agent-process';
import type { Lab } from './namespaces';
import { TenantNetwork, tenantNetwork } from './tenant-network';
import { routedHost } from './topologies';

/** Where the route for 10.0.9.0/24 first points, and where a change sends it. */
export const TARGET = '10.0.9.1';

export interface ThreeSubnets {
  sw: string;
  h1: string;
  h2: string;
  h3: string;
}

async function threeHosts(lab: Lab): Promise<ThreeSubnets> {
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  const h2 = await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  const h3 = await routedHost(lab, sw, 'h3', 't3', '10.0.3.5');
  for (const ns of [h2, h3]) await lab.ip(ns, 'addr', 'add', `${TARGET}/32`, 'dev', 'lo');
  return { sw, h1, h2, h3 };
}

/** The hosts behind a vswitch agent's virtual router, made through the tenant API. */
export async function threeSubnets(lab: Lab, agentArgs: string[] = []): Promise<ThreeSubnets & { agent: RunningAgent; net: TenantNetwork }> {
  const hosts = await threeHosts(lab);
  const agent = await startAgent(lab, hosts.sw, agentArgs);
  const net = await tenantNetwork(agent.api, 'acme', [
    { gateway: ['10.0.1.1/24'], interfaces: ['t1'] }, { gateway: ['10.0.2.1/24'], interfaces: ['t2'] }, { gateway: ['10.0.3.1/24'], interfaces: ['t3'] },
  ]);
  return { ...hosts, agent, net };
}

/** The same hosts behind the kernel's router (ip_forward in the switch namespace), the route
 *  for TARGET through h2. */
export async function threeSubnetsKernel(lab: Lab): Promise<ThreeSubnets> {
  const hosts = await threeHosts(lab);
  for (const n of [1, 2, 3]) await lab.ip(hosts.sw, 'addr', 'add', `10.0.${n}.1/24`, 'dev', `t${n}`);
  await lab.exec(hosts.sw, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await lab.ip(hosts.sw, 'route', 'add', '10.0.9.0/24', 'via', '10.0.2.5');
  return hosts;
}

/** An ICMP counter of a host's kernel (/proc/net/snmp): InEchos, or OutEchos for what it sent. */
export async function echoes(lab: Lab, ns: string, counter: 'InEchos' | 'OutEchos' = 'InEchos'): Promise<number> {
  const { stdout } = await lab.exec(ns, 'cat', ['/proc/net/snmp']);
  const [names, values] = stdout.split('\n').filter((line) => line.startsWith('Icmp:'));
  return Number(values.split(/\s+/)[names.split(/\s+/).indexOf(counter)]);
}

/** Milliseconds until `ns` receives `count` more echo requests; Infinity past `boundMs`. */
export async function msUntilReceiving(lab: Lab, ns: string, count: number, boundMs: number): Promise<number> {
  const started = Date.now();
  const before = await echoes(lab, ns);
  while (Date.now() - started < boundMs) {
    if ((await echoes(lab, ns)) - before >= count) return Date.now() - started;
    await sleep(20);
  }
  return Infinity;
}

/** Milliseconds from now until `to` stops receiving what `from` sends: the start of the first
 *  stretch in which `from` sent `count` echo requests and `to` received none. Infinity past
 *  `boundMs`. */
export async function msUntilCutOff(lab: Lab, from: string, to: string, count: number, boundMs: number): Promise<number> {
  const started = Date.now();
  let since = { at: started, sent: await echoes(lab, from, 'OutEchos'), received: await echoes(lab, to) };
  while (Date.now() - started < boundMs) {
    await sleep(20);
    const now = { at: Date.now(), sent: await echoes(lab, from, 'OutEchos'), received: await echoes(lab, to) };
    if (now.received !== since.received) since = now;
    else if (now.sent - since.sent >= count) return since.at - started;
  }
  return Infinity;
}
