// The tenant API: REST over HTTP for every topology object, with JSON-schema validation,
// bearer tokens for three roles (callers.ts: the operator sees and changes everything, a host
// binds on itself, a tenant sees and changes only its own topology), compare-and-set on
// updates (If-Match: version), and errors as {error: {code, message, field}}.
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EMPTY, EMPTY_RULE, KindMap, LoadBalancer, newId, Port, PortBinding, Router, SecurityGroup, Stored, StoreConflict, StoreUnavailable, TopologyStore } from '../topology';
import { withMemberHealth } from './load-balancers';
import { openApiDocument } from './openapi';
import { dashboardRoutes, isDashboardPath, SwitchSamples } from './dashboard';
import { bodySchema, Resource, RESOURCES } from './resources';
import { migrationRoutes } from './migrations';
import { credentialRoutes } from './credentials';
import { lazyValidators } from './lazy-validators';
import { authenticate, Caller, findFor, mustBe, newToken, Role, scopeOf, TENANTS_TOO, tokenDigest, visibleTo } from './callers';
import { ApiError, checkObject, deleteDependents, freeTunnelKey, relink } from './rules';
import { refuseGatewayPort, syncGateway } from './gateways';

export interface TenantApiOptions {
  store: TopologyStore;
  adminToken: string;
  /** The host a binding names when it names none (the embedded default's one host). */
  hostId: string;
  /** Traces a frame description arriving on a virtual port bound on this host. */
  trace?: (port: string, flow: string) => unknown;
  /** Serve HTTPS with this certificate and key (PEM); listen with `httpsOnly(app.server)`. */
  tls?: { cert: Buffer; key: Buffer };
  /** The counters of this host's switch, for the dashboard's stream. */
  samples?: SwitchSamples;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** Who may call the route, and what it does (for the 403's sentence). */
    access?: { roles: readonly Role[]; what: string };
  }
}

/** A new security group allows every egress, as Neutron's does: its members reach out, and
 *  take in only what its ingress rules (and connection tracking) allow. */
const DEFAULT_GROUP_RULES = (['IPv4', 'IPv6'] as const).map((ethertype) => ({ ...EMPTY_RULE, direction: 'egress' as const, ethertype }));

const TRACE_BODY = {
  type: 'object', additionalProperties: false, required: ['port', 'flow'],
  properties: { port: { type: 'string' }, flow: { type: 'string', maxLength: 500 } },
};

export function tenantApi(options: TenantApiOptions): FastifyInstance {
  const { store } = options;
  const app = Fastify({
    logger: false,
    ...(options.tls ? { https: options.tls } : {}),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: lazyValidators() } },
  });
  app.decorateRequest('caller', null as never);
  const adminDigest = tokenDigest(options.adminToken);

  app.setErrorHandler((error: Error & { validation?: { instancePath: string; params: Record<string, unknown>; message?: string }[]; statusCode?: number; code?: string }, _request, reply) => {
    if (error instanceof ApiError) return send(reply, error.status, error.code, error.message, error.field);
    const fromSwitch = error as Error & { status?: number; code?: string; field?: string };
    if (typeof fromSwitch.status === 'number' && fromSwitch.code) return send(reply, fromSwitch.status, fromSwitch.code, error.message, fromSwitch.field);
    if (error instanceof StoreConflict) return send(reply, 409, 'VERSION_CONFLICT', error.message);
    if (error instanceof StoreUnavailable) return send(reply, 503, 'STORE_UNAVAILABLE', error.message);
    if (error.validation) {
      const v = error.validation[0];
      // The full path of the field: allowedAddressPairs/0/ipAddress, not ipAddress.
      const leaf = (v.params.missingProperty ?? v.params.additionalProperty) as string | undefined;
      const field = [v.instancePath.replace(/^\//, ''), leaf].filter(Boolean).join('/');
      const message = v.params.additionalProperty ? `unknown field '${field}'` : v.params.missingProperty ? `${field} is required` : `${field || 'body'} ${v.message}`;
      return send(reply, 400, 'INVALID_BODY', message, field || undefined);
    }
    if (error.statusCode && error.statusCode < 500) return send(reply, error.statusCode, error.code ?? 'BAD_REQUEST', error.message);
    return send(reply, 500, 'INTERNAL', error.message);
  });
  // The path is said with its ids as {id}: an answer repeats no id it was sent.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0].replace(/[0-9a-fA-F-]{36}/g, '{id}').slice(0, 200);
    return send(reply, 404, 'NO_SUCH_PATH', `no ${request.method} ${path} in this API (see /openapi.json)`);
  });

  // Who calls, then whether that role may call this route at all: before the body is read or
  // any object looked up.
  app.addHook('onRequest', async (request) => {
    if (request.url === '/openapi.json' || isDashboardPath(request.url)) return;
    request.caller = await authenticate(store, adminDigest, request.headers.authorization);
    const access = request.routeOptions.config.access;
    if (access) mustBe(request.caller, access.roles, access.what);
  });

  app.get('/openapi.json', async () => openApiDocument());
  dashboardRoutes(app, store, options.samples);
  app.post<{ Body: { port: string; flow: string } }>('/v1/trace', { schema: { body: TRACE_BODY }, config: { access: { roles: TENANTS_TOO, what: 'trace' } } }, async (request) => {
    await findFor(store, request.caller, 'port', request.body.port);
    if (!options.trace) throw new ApiError(501, 'NO_TRACE', 'this API runs without a switch to trace on');
    return options.trace(request.body.port, request.body.flow);
  });
  for (const resource of RESOURCES) routes(app, resource, options);
  migrationRoutes(app, store, present);
  credentialRoutes(app, store);
  return app;
}

function send(reply: FastifyReply, status: number, code: string, message: string, field?: string): FastifyReply {
  return reply.code(status).send({ error: { code, message, ...(field ? { field } : {}) } });
}

/** An object as the API shows it: its fields and version (never a token's digest); a binding
 *  names its port. */
function present(stored: Stored): Record<string, unknown> {
  const fields = { ...(stored.value as unknown as Record<string, unknown>) };
  delete fields.tokenSha256;
  return { ...fields, ...(stored.kind === 'binding' ? { port: stored.value.id } : {}), version: stored.version };
}

function routes(app: FastifyInstance, resource: Resource, options: TenantApiOptions): void {
  const { store } = options;
  const { kind } = resource;
  const base = `/v1/${resource.path}`;
  const reads = { access: { roles: resource.readers, what: `read ${resource.path}` } };
  const writes = { access: { roles: resource.writers, what: `create, change or delete ${resource.path}` } };
  // A host's credential binds on that host only; the operator's binding names any host, or
  // this API's own.
  const bindingHost = (caller: Caller, host: string, standby: unknown): string => {
    if (caller.role !== 'host') return host || options.hostId;
    if (Array.isArray(standby) && standby.length > 0) throw new ApiError(403, 'FORBIDDEN', 'a host\'s credential binds on its own host: standby hosts are the operator\'s to name', 'standby');
    if (host && host !== caller.host) throw new ApiError(403, 'FORBIDDEN', `this credential is host ${caller.host}'s: it binds interfaces on that host only`, 'host');
    return caller.host;
  };

  // A router written: the gateway its external network asks for is made or taken away.
  const withGateway = async (before: Router | undefined, stored: Stored<'router'>): Promise<Stored> => {
    await syncGateway(store, before, stored.value);
    return (await store.get('router', stored.value.id)) ?? stored;
  };

  // Hosts say whether their agent is alive; bindings, whether their host is; load balancers,
  // their members' health.
  const withState = async (objects: Stored[]) => {
    const alive = kind === 'host' || kind === 'binding' ? await store.liveHosts() : new Set<string>();
    return Promise.all(objects.map(async (o) => {
      const shown = present(o);
      if (o.kind === 'host') shown.alive = alive.has(o.value.id);
      if (o.kind === 'binding') shown.state = alive.has((o.value as PortBinding).host) ? 'up' : 'host-down';
      if (o.kind === 'loadBalancer') shown.members = (await withMemberHealth(store, o.value as LoadBalancer)).members;
      return shown;
    }));
  };

  app.get(base, { config: reads }, async (request) => withState((await store.list(kind)).filter((o) => visibleTo(request.caller, o))));

  app.get<{ Params: { id: string } }>(`${base}/:id`, { config: reads }, async (request) => (await withState([await findFor(store, request.caller, kind, request.params.id)]))[0]);

  app.post<{ Body: Record<string, unknown> }>(base, { schema: { body: bodySchema(resource, true) }, config: writes }, async (request, reply) => {
    // A binding's id is its port's: it names the port, which is not a field of its own.
    const { port, ...rest } = request.body;
    const fields = kind === 'binding' ? { ...rest, host: bindingHost(request.caller, rest.host as string, rest.standby) } : request.body;
    const id = kind === 'binding' ? (port as string) : newId();
    let token: string | undefined;
    const value = { ...EMPTY[kind], ...fields, id, tenant: scopeOf(request.caller) } as KindMap[typeof kind];
    if (kind === 'tenant') {
      token = newToken();
      Object.assign(value, { tenant: id, tokenSha256: tokenDigest(token) });
    }
    if (kind === 'port') (value as Port).tunnelKey = await freeTunnelKey(store);
    if (kind === 'securityGroup' && !('rules' in fields)) (value as SecurityGroup).rules = DEFAULT_GROUP_RULES;
    await checkObject(store, kind, value);
    const stored = await store.put(kind, value, 0).catch((error: unknown) => {
      if (error instanceof StoreConflict) throw new ApiError(409, 'EXISTS', `port ${id} is already bound (unbind it first)`, 'port');
      throw error;
    });
    if (kind === 'port') await relink(store, undefined, value as Port);
    const made = kind === 'router' ? await withGateway(undefined, stored as Stored<'router'>) : stored;
    reply.code(201);
    return { ...present(made), ...(token ? { token } : {}) };
  });

  app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>(`${base}/:id`, { schema: { body: bodySchema(resource, false) }, config: writes }, async (request) => {
    const current = await findFor(store, request.caller, kind, request.params.id);
    const expected = ifMatch(request) ?? current.version;
    for (const field of [...resource.immutable, ...(kind === 'binding' ? ['port'] : [])]) {
      if (field in request.body && request.body[field] !== (current.value as unknown as Record<string, unknown>)[field === 'port' ? 'id' : field]) {
        throw new ApiError(400, 'IMMUTABLE', `${field} is fixed when the ${kind} is created`, field);
      }
    }
    const fields = { ...request.body };
    if (kind === 'binding') {
      delete fields.port;
      fields.host = bindingHost(request.caller, (fields.host as string) ?? (current.value as PortBinding).host, fields.standby);
    }
    const value = { ...current.value, ...fields } as KindMap[typeof kind];
    if (kind === 'port') await refuseGatewayPort(store, current.value as Port);
    await checkObject(store, kind, value);
    const stored = await store.put(kind, value, expected);
    if (kind === 'port') await relink(store, current.value as Port, value as Port);
    return present(kind === 'router' ? await withGateway(current.value as Router, stored as Stored<'router'>) : stored);
  });

  app.delete<{ Params: { id: string } }>(`${base}/:id`, { config: writes }, async (request, reply) => {
    const current = await findFor(store, request.caller, kind, request.params.id);
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
