// The OpenAPI 3.1 document of the tenant API, made from the resource table.
import { BEGIN_BODY, MIGRATION_OBJECT } from './migrations';
import { bodySchema, RESOURCES } from './resources';

const ERROR = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, required: ['code', 'message'] } },
};

/** What each kind is, for its tag; and a body that creates one, for the document's examples. */
const TAGS: Record<string, string> = {
  tenants: 'Tenants, each with its own objects and token (operator only)',
  bridges: 'Virtual L2 networks, with their subnets (and the operator\'s external networks)',
  routers: 'Virtual routers between a tenant\'s networks, and to an external network',
  ports: 'Ports of bridges and routers: a VM\'s port, or one end of a link',
  routes: 'Static routes of a router',
  bindings: 'Where a port is bound: a host\'s interface, or a VTEP',
  mirrors: 'Copies of a port\'s traffic to another port',
  'security-groups': 'Allow rules on VMs\' ports, with connection tracking',
  chains: 'Ordered rule lists on ports and devices (MidoNet\'s chains)',
  'load-balancers': 'L4 load balancers: a VIP, its members and their health checks',
  'floating-ips': 'External addresses mapped to VMs, and forwarded ports',
  'port-groups': 'Sets of ports that chains\' rules name',
  'tunnel-zones': 'Hosts that reach each other over the overlay (operator only)',
  hosts: 'Hosts and their agents\' liveness (operator only)',
  migrations: 'Live migrations of a VM\'s port between hosts, with mirroring',
  events: 'Changes as they happen (the dashboard follows them)',
};
const ID = ['3f2a4c1e-8b7d-4e6a-9c5b-1a2b3c4d5e6f', '7c9e6679-7425-40de-944b-e07fc1f90ae7', 'a3bb189e-8bf9-4888-9912-ace4e6543002'];
const EXAMPLES: Record<string, object> = {
  tenants: { name: 'acme' },
  bridges: { name: 'net1', subnets: [{ cidr: '10.0.1.0/24', gateway: '10.0.1.1', dhcp: true }] },
  routers: { name: 'r1', externalNetwork: ID[0] },
  ports: { name: 'vm1', device: ID[0], addresses: ['10.0.1.5'] },
  routes: { router: ID[0], destination: '192.0.2.0/24', nextHop: '10.0.1.254' },
  bindings: { port: ID[0], host: 'kvm-01', interface: 'tap-vm1' },
  mirrors: { name: 'span', port: ID[0], toPort: ID[1], direction: 'both', match: 'tcp,tp_dst=80' },
  'security-groups': { name: 'web', rules: [{ direction: 'ingress', protocol: 'tcp', portMin: 443, portMax: 443 }] },
  chains: { name: 'inbound', rules: [{ action: 'drop', inPort: ID[0] }] },
  'load-balancers': { name: 'web', router: ID[0], vip: '10.0.2.100', port: 80, members: [{ address: '10.0.2.11', port: 8080 }, { address: '10.0.2.12', port: 8080, weight: 2 }] },
  'floating-ips': { network: ID[0], port: ID[1] },
  'port-groups': { name: 'frontends', ports: [ID[0], ID[1]] },
  'tunnel-zones': { name: 'rack1', hosts: ['kvm-01', 'kvm-02'] },
  hosts: { name: 'kvm-01', underlayAddress: '192.0.2.11' },
};
/** `security-groups` -> `SecurityGroups`, for operation ids. */
const pascal = (words: string) => words.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');

export function openApiDocument(): object {
  const paths: Record<string, object> = {};
  const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: 'error', content: { 'application/json': { schema: ERROR } } }]));
  const json = (schema: object, example?: object) => ({ content: { 'application/json': { schema, ...(example && { example }) } } });
  for (const r of RESOURCES) {
    const object = { type: 'object', properties: { id: { type: 'string' }, tenant: { type: 'string' }, version: { type: 'integer' }, ...r.properties } };
    const [plural, kind, tags] = [pascal(r.path), pascal(r.kind), [r.path]];
    paths[`/v1/${r.path}`] = {
      description: `read: ${r.readers.join(', ')}; write: ${r.writers.join(', ')} (docs/SECURITY.md)`,
      get: { operationId: `list${plural}`, tags, summary: `list ${r.path}`, responses: { 200: { description: 'the caller\'s objects', ...json({ type: 'array', items: object }) }, ...errors(401) } },
      post: { operationId: `create${kind}`, tags, summary: `create a ${r.kind}`, requestBody: json(bodySchema(r, true), EXAMPLES[r.path]), responses: { 201: { description: 'created', ...json(object) }, ...errors(400, 401, 403, 409) } },
    };
    paths[`/v1/${r.path}/{id}`] = {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: { operationId: `get${kind}`, tags, summary: `read a ${r.kind}`, responses: { 200: { description: 'the object', ...json(object) }, ...errors(401, 404) } },
      patch: {
        operationId: `update${kind}`, tags, summary: `change a ${r.kind} (If-Match: version for compare-and-set)`, requestBody: json(bodySchema(r, false), EXAMPLES[r.path]),
        responses: { 200: { description: 'changed', ...json(object) }, ...errors(400, 401, 403, 404, 409) },
      },
      delete: { operationId: `delete${kind}`, tags, summary: `delete a ${r.kind}`, responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404, 409) } },
    };
  }
  const id = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'the port\'s id' }];
  const migrations = ['migrations'];
  const migration = (operationId: string, summary: string, codes: number[]) => ({ operationId, tags: migrations, summary, responses: { 200: { description: 'the migration', ...json(MIGRATION_OBJECT) }, ...errors(...codes) } });
  paths['/v1/migrations'] = {
    get: { operationId: 'listMigrations', tags: migrations, summary: 'list migrations', responses: { 200: { description: 'the caller\'s migrations', ...json({ type: 'array', items: MIGRATION_OBJECT }) }, ...errors(401) } },
    post: {
      operationId: 'beginMigration', tags: migrations,
      summary: 'begin a migration: the port is bound on the destination too, which holds what it is sent until the guest runs there',
      requestBody: json(BEGIN_BODY, { port: ID[2], destinationHost: 'kvm-02', interface: 'tap-vm1' }),
      responses: { 201: { description: 'begun', ...json(MIGRATION_OBJECT) }, 200: { description: 'the same migration, already begun', ...json(MIGRATION_OBJECT) }, ...errors(400, 401, 403, 404, 409) },
    },
  };
  paths['/v1/migrations/{id}'] = {
    parameters: id,
    get: migration('getMigration', 'read a migration', [401, 404]),
    delete: { operationId: 'deleteMigration', tags: migrations, summary: 'delete a migration (aborted first if it is mirroring)', responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404) } },
  };
  paths['/v1/migrations/{id}/commit'] = { parameters: id, post: migration('commitMigration', 'commit: the binding moves to the destination', [401, 403, 404, 409]) };
  paths['/v1/migrations/{id}/abort'] = { parameters: id, post: migration('abortMigration', 'abort: back to the source alone', [401, 403, 404, 409]) };
  paths['/v1/events'] = {
    get: {
      operationId: 'followEvents', tags: ['events'], summary: 'what changes that the caller may see, as Server-Sent Events (event: change, data: {type, kind, id}), pushed from the store\'s watch',
      responses: { 200: { description: 'the stream, open until the caller closes it', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(401) },
    },
  };
  const credential = { type: 'object', properties: { id: { type: 'string' }, version: { type: 'integer' }, token: { type: 'string' }, revoked: { type: 'boolean' } } };
  for (const path of ['tenants', 'hosts']) {
    for (const [verb, summary] of [['rotate', 'a new token, in the answer; the old one stops working'], ['revoke', 'no token works until the next rotation']]) {
      paths[`/v1/${path}/{id}/${verb}-token`] = {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: { operationId: `${verb}${pascal(path).slice(0, -1)}Token`, tags: [path], summary, responses: { 200: { description: 'done', ...json(credential) }, ...errors(401, 403, 404) } },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'vswitch tenant API', version: '1', license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } },
    servers: [{ url: '/', description: 'the agent that serves this document (GET /openapi.json)' }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
