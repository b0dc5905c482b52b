// A tenant API over an embedded store in a temporary directory, called in-process (inject),
// for the API tests: one host, the admin token ADMIN, and tenants made on demand.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tenantApi, tokenDigest } from '../../src/api';
import { ADMIN_TENANT, EmbeddedStore } from '../../src/topology';

export const ADMIN = 'admin-secret';
export const HOST = '11111111-2222-3333-4444-555555555555';
/** Two hosts with their agents' credentials. */
export const HOST2 = '33333333-2222-3333-4444-555555555555';
export const HOST_TOKEN = 'host1-secret';
export const HOST2_TOKEN = 'host2-secret';

export async function setUp(t: { teardown: (f: () => Promise<void>) => void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vswitch-api-'));
  const store = EmbeddedStore.open(dir);
  await store.put('host', { id: HOST, tenant: ADMIN_TENANT, name: 'h1', underlayAddress: '', tokenSha256: tokenDigest(HOST_TOKEN) });
  await store.put('host', { id: HOST2, tenant: ADMIN_TENANT, name: 'h2', underlayAddress: '', tokenSha256: tokenDigest(HOST2_TOKEN) });
  const app = tenantApi({ store, adminToken: ADMIN, hostId: HOST });
  t.teardown(async () => {
    await app.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const call = async (token: string | null, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await app.inject({
      method: method as 'GET', url, ...(body !== undefined ? { payload: body as object } : {}),
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
  };
  const tenant = async (name: string) => (await call(ADMIN, 'POST', '/v1/tenants', { name })).body.token as string;
  return { app, call, tenant, store };
}

/** One object of every kind a tenant owns (the operator binds its port): path -> id. */
export async function everyKind(call: Awaited<ReturnType<typeof setUp>>['call'], token: string, iface = 'tap0'): Promise<Record<string, string>> {
  const made = async (p: string, body: object) => {
    const r = await call(token, 'POST', `/v1/${p}`, body);
    if (r.status !== 201) throw new Error(`${p}: ${JSON.stringify(r.body)}`);
    return r.body.id as string;
  };
  const bridge = await made('bridges', { name: 'b' });
  const router = await made('routers', { name: 'r' });
  const routerPort = await made('ports', { device: router, addresses: ['10.0.0.1/24'] });
  const port = await made('ports', { device: bridge, name: 'vm' });
  const route = await made('routes', { router, destination: '10.9.0.0/16', nextHop: '10.0.0.9' });
  const bound = await call(ADMIN, 'POST', '/v1/bindings', { port, interface: iface });
  if (bound.status !== 201) throw new Error(`bindings: ${JSON.stringify(bound.body)}`);
  const monitor = await made('ports', { device: bridge, name: 'monitor' });
  const mirror = await made('mirrors', { port, toPort: monitor });
  const group = await made('security-groups', { name: 'web', rules: [{ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 80 }] });
  const portGroup = await made('port-groups', { name: 'vms', ports: [port] });
  const chain = await made('chains', { name: 'in', rules: [{ action: 'drop', inPortGroup: portGroup, protocol: 6, destinationPortMin: 23 }] });
  const attached = await call(token, 'PATCH', `/v1/bridges/${bridge}`, { inboundChain: chain });
  if (attached.status !== 200) throw new Error(`chain: ${JSON.stringify(attached.body)}`);
  const external = await call(ADMIN, 'POST', '/v1/bridges', { name: 'public', external: true, subnets: [{ cidr: '203.0.113.0/24', dhcp: false }] });
  const gateway = await call(token, 'PATCH', `/v1/routers/${router}`, { externalNetwork: external.body.id });
  if (gateway.status !== 200) throw new Error(`gateway: ${JSON.stringify(gateway.body)}`);
  const floatingIp = await made('floating-ips', { network: external.body.id });
  const loadBalancer = await made('load-balancers', { name: 'web', router, vip: '10.0.0.100', port: 80, members: [{ address: '10.0.0.11', port: 8080 }] });
  return {
    bridges: bridge, routers: router, ports: routerPort, routes: route, bindings: port, mirrors: mirror, 'security-groups': group, 'port-groups': portGroup, chains: chain,
    'floating-ips': floatingIp, 'load-balancers': loadBalancer,
  };
}

