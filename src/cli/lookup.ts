// Objects of the tenant API by name or id, as the commands take them.
import { ControlClient } from './client';

export interface ApiObject { id: string; name?: string; tenant: string; version: number; [field: string]: unknown }

/** Each command's word for a kind, and the API's path for it. */
export const PATHS: Record<string, string> = {
  tenant: 'tenants', host: 'hosts', bridge: 'bridges', router: 'routers', route: 'routes', port: 'ports', mirror: 'mirrors', migration: 'migrations',
  'security-group': 'security-groups', chain: 'chains', 'port-group': 'port-groups', lb: 'load-balancers',
};

/** The ids of the caller's objects of a kind whose id or name is `nameOrId`. An API error
 *  (a refused token, an agent that does not answer) is thrown as it is: it is not "no such". */
async function matching(api: ControlClient, kind: string, nameOrId: string): Promise<string[]> {
  const objects = await api.request<ApiObject[]>('GET', `/v1/${PATHS[kind]}`);
  return objects.filter((o) => o.id === nameOrId || o.name === nameOrId).map((o) => o.id);
}

/** An object's id from its id or its name (which must be unique among the caller's). */
export async function resolve(api: ControlClient, kind: string, nameOrId: string): Promise<string> {
  const ids = await matching(api, kind, nameOrId);
  if (ids.length === 1) return ids[0];
  throw new Error(ids.length === 0 ? `no ${kind} named ${nameOrId}` : `${ids.length} ${kind}s are named ${nameOrId}: give the id`);
}

/** A bridge's or else a router's id from its id or name. */
export async function resolveDevice(api: ControlClient, nameOrId: string): Promise<string> {
  for (const kind of ['bridge', 'router']) {
    const ids = await matching(api, kind, nameOrId);
    if (ids.length === 1) return ids[0];
    if (ids.length > 1) throw new Error(`${ids.length} ${kind}s are named ${nameOrId}: give the id`);
  }
  throw new Error(`no bridge or router named ${nameOrId}`);
}

