// The tenant API: REST over HTTP for every topology object, with JSON-schema validation,
// bearer tokens (a tenant sees and changes only its own objects; the admin token sees all),
// compare-and-set on updates (If-Match: version), and errors as {error: {code, message, field}}.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_TENANT, EMPTY, KindMap, newId, Port, PortBinding, Stored, StoreConflict, StoreUnavailable, TopologyStore } from '../topology';
import { openApiDocument } from './openapi';
import { bodySchema, Resource, RESOURCES } from './resources';
import { migrationRoutes } from './migrations';
import { ApiError, checkObject, deleteDependents, freeTunnelKey, owned, relink } from './rules';

export interface TenantApiOptions {
  store: TopologyStore;
  adminToken: string;
  /** The host a binding names when it names none (the embedded default's one host). */
  hostId: string;
  /** Traces a frame description arriving on a virtual port bound on this host. */
  trace?: (port: string, flow: string) => unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    tenant: string;
  }
}

const TRACE_BODY = {
  type: 'object', additionalProperties: false, required: ['port', 'flow'],
  properties: { port: { type: 'string' }, flow: { type: 'string', maxLength: 500 } },
};

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function tenantApi(options: TenantApiOptions): FastifyInstance {
  const { store } = options;
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } } });
  app.decorateRequest('tenant', '');
  const adminDigest = Buffer.from(sha256(options.adminToken), 'hex');

  app.setErrorHandler((error: Error & { validation?: { instancePath: string; params: Record<string, unknown>; message?: string }[]; statusCode?: number; code?: string }, _request, reply) => {
    if (error instanceof ApiError) return send(reply, error.status, error.code, error.message, error.field);
    const fromSwitch = error as Error & { status?: number; code?: string; field?: string };
    if (typeof fromSwitch.status === 'number' && fromSwitch.code) return send(reply, fromSwitch.status, fromSwitch.code, error.message, fromSwitch.field);
    if (error instanceof StoreConflict) return send(reply, 409, 'VERSION_CONFLICT', error.message);
    if (error instanceof StoreUnavailable) return send(reply, 503, 'STORE_UNAVAILABLE', error.message);
    if (error.validation) {
      const v = error.validation[0];
      const field = (v.params.missingProperty ?? v.params.additionalProperty ?? v.instancePath.replace(/^\//, '')) as string;
      const message = v.params.additionalProperty ? `unknown field '${field}'` : `${field || 'body'} ${v.message}`;
      return send(reply, 400, 'INVALID_BODY', message, field || undefined);
    }
    if (error.statusCode && error.statusCode < 500) return send(reply, error.statusCode, error.code ?? 'BAD_REQUEST', error.message);
    return send(reply, 500, 'INTERNAL', error.message);
  });
  app.setNotFoundHandler((request, reply) => send(reply, 404, 'NO_SUCH_PATH', `no ${request.method} ${request.url} in this API (see /openapi.json)`));

  app.addHook('onRequest', async (request) => {
    if (request.url === '/openapi.json') return;
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer <token>');
    const digest = sha256(token);
    if (timingSafeEqual(Buffer.from(digest, 'hex'), adminDigest)) {
      request.tenant = ADMIN_TENANT;
      return;
    }
    const tenant = (await store.list('tenant')).find((t) => t.value.tokenSha256 === digest);
    if (!tenant) throw new ApiError(401, 'UNAUTHENTICATED', 'the bearer token is not valid');
    request.tenant = tenant.value.id;
  });

  app.get('/openapi.json', async () => openApiDocument());
  app.post<{ Body: { port: string; flow: string } }>('/v1/trace', { schema: { body: TRACE_BODY } }, async (request) => {
    await owned(store, 'port', request.body.port, request.tenant, 'port');
    if (!options.trace) throw new ApiError(501, 'NO_TRACE', 'this API runs without a switch to trace on');
    return options.trace(request.body.port, request.body.flow);
  });
  for (const resource of RESOURCES) routes(app, resource, options);
  migrationRoutes(app, store, present);
  return app;
}

function send(reply: FastifyReply, status: number, code: string, message: string, field?: string): FastifyReply {
  return reply.code(status).send({ error: { code, message, ...(field ? { field } : {}) } });
}

/** An object as the API shows it: its fields and version; a binding names its port. */
function present(stored: Stored): Record<string, unknown> {
  const fields = { ...(stored.value as unknown as Record<string, unknown>) };
  delete fields.tokenSha256;
  return { ...fields, ...(stored.kind === 'binding' ? { port: stored.value.id } : {}), version: stored.version };
}

function routes(app: FastifyInstance, resource: Resource, options: TenantApiOptions): void {
  const { store } = options;
  const { kind } = resource;
  const base = `/v1/${resource.path}`;
  const visible = (request: FastifyRequest, stored: Stored) => request.tenant === ADMIN_TENANT || stored.value.tenant === request.tenant;
  const mayWrite = (request: FastifyRequest) => {
    if (resource.adminOnly && request.tenant !== ADMIN_TENANT) throw new ApiError(403, 'ADMIN_ONLY', `only the admin token may change ${resource.path}`);
  };

  // Hosts say whether their agent is alive; bindings, whether their host is.
  const withState = async (objects: Stored[]) => {
    const alive = kind === 'host' || kind === 'binding' ? await store.liveHosts() : new Set<string>();
    return objects.map((o) => {
      const shown = present(o);
      if (o.kind === 'host') shown.alive = alive.has(o.value.id);
      if (o.kind === 'binding') shown.state = alive.has((o.value as PortBinding).host) ? 'up' : 'host-down';
      return shown;
    });
  };

  app.get(base, async (request) => withState((await store.list(kind)).filter((o) => visible(request, o))));

  app.get<{ Params: { id: string } }>(`${base}/:id`, async (request) => (await withState([await owned(store, kind, request.params.id, request.tenant)]))[0]);

  app.post<{ Body: Record<string, unknown> }>(base, { schema: { body: bodySchema(resource, true) } }, async (request, reply) => {
    mayWrite(request);
    // A binding's id is its port's: it names the port, which is not a field of its own.
    const { port, ...rest } = request.body;
    const fields = kind === 'binding' ? rest : request.body;
    const id = kind === 'binding' ? (port as string) : newId();
    let token: string | undefined;
    const value = { ...EMPTY[kind], ...fields, id, tenant: request.tenant } as KindMap[typeof kind] & { tokenSha256?: string };
    if (kind === 'tenant') {
      token = randomBytes(24).toString('base64url');
      Object.assign(value, { tenant: id, tokenSha256: sha256(token) });
    }
    if (kind === 'port') (value as Port).tunnelKey = await freeTunnelKey(store);
    await checkObject(store, kind, value, options.hostId);
    const stored = await store.put(kind, value, 0).catch((error: unknown) => {
      if (error instanceof StoreConflict) throw new ApiError(409, 'EXISTS', `port ${id} is already bound (unbind it first)`, 'port');
      throw error;
    });
    if (kind === 'port') await relink(store, undefined, value as Port);
    reply.code(201);
    return { ...present(stored), ...(token ? { token } : {}) };
  });

  app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(`${base}/:id`, { schema: { body: bodySchema(resource, false) } }, async (request) => {
    mayWrite(request);
    const current = await owned(store, kind, request.params.id, request.tenant);
    const expected = ifMatch(request) ?? current.version;
    for (const field of [...resource.immutable, ...(kind === 'binding' ? ['port'] : [])]) {
      if (field in request.body && request.body[field] !== (current.value as unknown as Record<string, unknown>)[field === 'port' ? 'id' : field]) {
        throw new ApiError(400, 'IMMUTABLE', `${field} is fixed when the ${kind} is created`, field);
      }
    }
    const fields = { ...request.body };
    if (kind === 'binding') delete fields.port;
    const value = { ...current.value, ...fields } as KindMap[typeof kind];
    await checkObject(store, kind, value, options.hostId);
    const stored = await store.put(kind, value, expected);
    if (kind === 'port') await relink(store, current.value as Port, value as Port);
    return present(stored);
  });

  app.delete<{ Params: { id: string } }>(`${base}/:id`, async (request, reply) => {
    mayWrite(request);
    const current = await owned(store, kind, request.params.id, request.tenant);
    await deleteDependents(store, kind, current.value.id);
    await store.delete(kind, current.value.id, ifMatch(request) ?? current.version);
    reply.code(204);
  });
}

function ifMatch(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const version = Number(String(header).replace(/"/g, ''));
  if (!Number.isInteger(version) || version < 0) throw new ApiError(400, 'INVALID_HEADER', 'If-Match must be an object version (a whole number)', 'If-Match');
  return version;
}
