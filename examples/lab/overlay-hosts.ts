// Many hosts on one underlay, each with its agent, sharing the lab's etcd on the core: one
// member, or a cluster of three.
import fs from 'node:fs';
import path from 'node:path';
import { RunningAgent, startAgent } from './agent-process';
import { EtcdCluster, startEtcd, startEtcdCluster } from './etcd';
import type { Lab } from './namespaces';
import { underlay, UNDERLAY } from './topologies';

/** What an agent on an overlay host is started with: the lab's etcd, its underlay address. */
export const overlayAgentArgs = (address: string): string[] => ['--store', `etcd://${UNDERLAY}.1:2379`, '--underlay', address];

/** Where the members of a 3-member etcd cluster run: addresses of the core's on the underlay. */
const ETCD_MEMBERS = [201, 202, 203].map((n) => `${UNDERLAY}.${n}`);

/** The underlay of `roles` (see `underlay`), etcd on its core (`etcdMembers` 3: a cluster, the
 *  returned `etcd`), an agent on each host (with `extra` arguments first; `command`: another
 *  checkout's vswitch), and the host id each agent registered. */
export async function overlayHosts(lab: Lab, roles: string[], extra: string[] = [], { etcdMembers = 1, command }: { etcdMembers?: 1 | 3; command?: string } = {}) {
  const { core, hosts } = await underlay(lab, roles);
  let etcd: EtcdCluster | null = null;
  if (etcdMembers === 3) {
    for (const address of ETCD_MEMBERS) await lab.ip(core, 'addr', 'add', `${address}/24`, 'dev', 'br0');
    etcd = await startEtcdCluster(lab, core, ETCD_MEMBERS);
  } else await startEtcd(lab, { ns: core, address: `${UNDERLAY}.1` });
  const args = (address: string) => (etcd ? ['--store', `etcd://${etcd.endpoints}`, '--underlay', address] : overlayAgentArgs(address));
  const agents: RunningAgent[] = [];
  for (const h of hosts) agents.push(await startAgent(lab, h.ns, [...extra, ...args(h.address)], undefined, command));
  const ids = agents.map((a) => fs.readFileSync(path.join(a.stateDir, 'host-id'), 'utf8').trim());
  return { core, hosts, agents, ids, etcd };
}
