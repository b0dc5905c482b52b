// Many hosts on one underlay, each with its agent, sharing the lab's etcd on the core.
import fs from 'node:fs';
import path from 'node:path';
import { RunningAgent, startAgent } from './agent-process';
import { startEtcd } from './etcd';
import type { Lab } from './namespaces';
import { underlay, UNDERLAY } from './topologies';

/** What an agent on an overlay host is started with: the lab's etcd, its underlay address. */
export const overlayAgentArgs = (address: string): string[] => ['--store', `etcd://${UNDERLAY}.1:2379`, '--underlay', address];

/** The underlay of `roles` (see `underlay`), etcd on its core, an agent on each host (with
 *  `extra` arguments first), and the host id each agent registered. */
export async function overlayHosts(lab: Lab, roles: string[], extra: string[] = []) {
  const { core, hosts } = await underlay(lab, roles);
  await startEtcd(lab, { ns: core, address: `${UNDERLAY}.1` });
  const agents: RunningAgent[] = [];
  for (const h of hosts) agents.push(await startAgent(lab, h.ns, [...extra, ...overlayAgentArgs(h.address)]));
  const ids = agents.map((a) => fs.readFileSync(path.join(a.stateDir, 'host-id'), 'utf8').trim());
  return { core, hosts, agents, ids };
}
