// Objects of the tenant API by name or id, as the commands take them.
import { ResourcePath, TenantApi } from './tenant-api';

/** Each command's word for a kind, and the API's path for it. */
export const PATHS = {
  tenant: 'tenants', host: 'hosts', bridge: 'bridges', router: 'routers', route: 'routes', port: 'ports', mirror: 'mirrors',
  'security-group': 'security-groups', chain: 'chains', 'port-group': 'port-groups', lb: 'load-balancers',
} as const satisfies Record<string, ResourcePath>;
export type Noun = keyof typeof PATHS;

/** The ids of the caller's objects of a kind whose id or name is `nameOrId`. An API error
 *  (a refused token, an agent that does not answer) is thrown as it is: it is not "no such". */
async function matching(api: TenantApi, noun: Noun, nameOrId: string): Promise<string[]> {
  const objects: { id: string; name?: string }[] = await api.list(PATHS[noun]);
  return objects.filter((o) => o.id === nameOrId || o.name === nameOrId).map((o) => o.id);
}

/** An object's id from its id or its name (which must be unique among the caller's). */
export async function resolve(api: TenantApi, noun: Noun, nameOrId: string): Promise<string> {
  const ids = await matching(api, noun, nameOrId);
  if (ids.length === 1) return ids[0];
  throw new Error(ids.length === 0 ? `no ${noun} named ${nameOrId}` : `${ids.length} ${noun}s are named ${nameOrId}: give the id`);
}

/** A bridge's or else a router's id from its id or name. */
export async function resolveDevice(api: TenantApi, nameOrId: string): Promise<string> {
  for (const noun of ['bridge', 'router'] as const) {
    const ids = await matching(api, noun, nameOrId);
    if (ids.length === 1) return ids[0];
    if (ids.length > 1) throw new Error(`${ids.length} ${noun}s are named ${nameOrId}: give the id`);
  }
  throw new Error(`no bridge or router named ${nameOrId}`);
}
