// The OpenAPI 3.1 document of the tenant API, made from the resource table.
import { BEGIN_BODY, MIGRATION_OBJECT } from './migrations';
import { bodySchema, RESOURCES } from './resources';

const ERROR = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, required: ['code', 'message'] } },
};

export function openApiDocument(): object {
  const paths: Record<string, object> = {};
  const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: 'error', content: { 'application/json': { schema: ERROR } } }]));
  const json = (schema: object) => ({ content: { 'application/json': { schema } } });
  for (const r of RESOURCES) {
    const object = { type: 'object', properties: { id: { type: 'string' }, tenant: { type: 'string' }, version: { type: 'integer' }, ...r.properties } };
    paths[`/v1/${r.path}`] = {
      description: `read: ${r.readers.join(', ')}; write: ${r.writers.join(', ')} (docs/SECURITY.md)`,
      get: { summary: `list ${r.path}`, responses: { 200: { description: 'the caller\'s objects', ...json({ type: 'array', items: object }) }, ...errors(401) } },
      post: { summary: `create a ${r.kind}`, requestBody: json(bodySchema(r, true)), responses: { 201: { description: 'created', ...json(object) }, ...errors(400, 401, 403, 409) } },
    };
    paths[`/v1/${r.path}/{id}`] = {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: { summary: `read a ${r.kind}`, responses: { 200: { description: 'the object', ...json(object) }, ...errors(401, 404) } },
      patch: {
        summary: `change a ${r.kind} (If-Match: version for compare-and-set)`, requestBody: json(bodySchema(r, false)),
        responses: { 200: { description: 'changed', ...json(object) }, ...errors(400, 401, 403, 404, 409) },
      },
      delete: { summary: `delete a ${r.kind}`, responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404, 409) } },
    };
  }
  const id = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'the port\'s id' }];
  const migration = (summary: string, codes: number[]) => ({ summary, responses: { 200: { description: 'the migration', ...json(MIGRATION_OBJECT) }, ...errors(...codes) } });
  paths['/v1/migrations'] = {
    get: { summary: 'list migrations', responses: { 200: { description: 'the caller\'s migrations', ...json({ type: 'array', items: MIGRATION_OBJECT }) }, ...errors(401) } },
    post: {
      summary: 'begin a migration: the port is bound on the destination too, which holds what it is sent until the guest runs there',
      requestBody: json(BEGIN_BODY),
      responses: { 201: { description: 'begun', ...json(MIGRATION_OBJECT) }, 200: { description: 'the same migration, already begun', ...json(MIGRATION_OBJECT) }, ...errors(400, 401, 403, 404, 409) },
    },
  };
  paths['/v1/migrations/{id}'] = {
    parameters: id,
    get: migration('read a migration', [401, 404]),
    delete: { summary: 'delete a migration (aborted first if it is mirroring)', responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404) } },
  };
  paths['/v1/migrations/{id}/commit'] = { parameters: id, post: migration('commit: the binding moves to the destination', [401, 403, 404, 409]) };
  paths['/v1/migrations/{id}/abort'] = { parameters: id, post: migration('abort: back to the source alone', [401, 403, 404, 409]) };
  const credential = { type: 'object', properties: { id: { type: 'string' }, version: { type: 'integer' }, token: { type: 'string' }, revoked: { type: 'boolean' } } };
  for (const path of ['tenants', 'hosts']) {
    for (const [verb, summary] of [['rotate', 'a new token, in the answer; the old one stops working'], ['revoke', 'no token works until the next rotation']]) {
      paths[`/v1/${path}/{id}/${verb}-token`] = {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary, responses: { 200: { description: 'done', ...json(credential) }, ...errors(401, 403, 404) } },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'vswitch tenant API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
