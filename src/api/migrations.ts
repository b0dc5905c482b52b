// Live migration of a bound port's VM, as the orchestrator (a libvirt hook, or whoever drives
// QEMU) calls it: begin binds the port on the destination host too (frames to it are delivered
// at the source and copied to the destination, which holds them until the guest runs there),
// commit moves the binding to the destination, abort goes back to the source alone. Each step
// may be repeated; a migration left open past its deadline is ended by the source host's agent.
import type { FastifyInstance } from 'fastify';
import { Migration, Stored, TopologyStore } from '../topology';
import { Caller, EVERYONE, findFor, HOSTS_TOO, scopeOf, visibleTo } from './callers';
import { FromSchema } from './schema-type';
import { ApiError, freeTunnelKey, owned, refuseIfInterfaceBound } from './rules';

/** How long a migration may stay open by default: a big guest over a slow link takes minutes. */
export const DEFAULT_MIGRATION_SECONDS = 600;

export const BEGIN_BODY = {
  type: 'object', additionalProperties: false, required: ['port', 'destinationHost', 'interface'],
  properties: {
    port: { type: 'string', pattern: '^[0-9a-fA-F-]{36}$' },
    destinationHost: { type: 'string', minLength: 1, maxLength: 64 },
    interface: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,15}$' },
    timeoutSeconds: { type: 'integer', minimum: 1, maximum: 86_400 },
  },
} as const;
export type BeginMigration = FromSchema<typeof BEGIN_BODY>;

/** A migration as the API shows it. */
export const MIGRATION_OBJECT = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'the port\'s id' }, tenant: { type: 'string' }, version: { type: 'integer' }, port: { type: 'string' },
    sourceHost: { type: 'string' }, destinationHost: { type: 'string' }, destinationInterface: { type: 'string' },
    state: { enum: ['mirroring', 'committed', 'aborted', 'expired'] },
    begunAt: { type: 'integer', description: 'ms since the epoch' }, deadline: { type: 'integer' },
    guestRunningAt: { type: 'integer', description: 'when the destination first saw the guest send; 0: not yet' },
    endedAt: { type: 'integer' }, reason: { type: 'string', description: 'why it ended' },
    markKey: { type: 'integer', description: 'the tunnel key of the source\'s marks to the destination' },
  },
};

/** Starts a migration, or finds the same one already started (201 or 200). A host's
 *  credential starts one only to or from its own host. */
export async function beginMigration(store: TopologyStore, caller: Caller, body: BeginMigration, now = Date.now()): Promise<{ migration: Stored<'migration'>; created: boolean }> {
  const port = await owned(store, 'port', body.port, scopeOf(caller), 'port');
  const binding = await store.get('binding', body.port);
  if (!binding?.value.interface) throw new ApiError(409, 'NOT_BOUND', `port ${body.port} is not bound to an interface: there is nothing to migrate`, 'port');
  if (caller.role === 'host' && caller.host !== body.destinationHost && caller.host !== binding.value.host) {
    throw new ApiError(403, 'FORBIDDEN', `this credential is host ${caller.host}'s: it migrates ports to or from that host only`, 'destinationHost');
  }
  if (!(await store.get('host', body.destinationHost))) throw new ApiError(400, 'UNKNOWN_REFERENCE', `no host ${body.destinationHost}`, 'destinationHost');
  if (body.destinationHost === binding.value.host) throw new ApiError(400, 'INVALID_VALUE', 'the destination is the host the port is bound on', 'destinationHost');
  const existing = await store.get('migration', body.port);
  if (existing?.value.state === 'mirroring') {
    if (existing.value.destinationHost === body.destinationHost && existing.value.destinationInterface === body.interface) return { migration: existing, created: false };
    throw new ApiError(409, 'MIGRATING', `port ${body.port} is already migrating to ${existing.value.destinationHost} (${existing.value.destinationInterface})`, 'port');
  }
  await refuseIfInterfaceBound(store, body.destinationHost, body.interface);
  const migration: Migration = {
    id: body.port, tenant: port.value.tenant, port: body.port, sourceHost: binding.value.host, destinationHost: body.destinationHost,
    destinationInterface: body.interface, state: 'mirroring', begunAt: now, deadline: now + (body.timeoutSeconds ?? DEFAULT_MIGRATION_SECONDS) * 1000,
    guestRunningAt: 0, endedAt: 0, reason: '', markKey: await freeTunnelKey(store),
  };
  return { migration: await store.put('migration', migration, existing?.version ?? 0), created: true };
}

/** Moves the binding to the destination: every host's flows toward the port now go there. */
export async function commitMigration(store: TopologyStore, current: Stored<'migration'>, reason = 'committed', now = Date.now()): Promise<Stored<'migration'>> {
  const m = current.value;
  if (m.state === 'committed') return current;
  if (m.state !== 'mirroring') throw new ApiError(409, 'ENDED', `the migration of port ${m.port} has ended (${m.state}): begin it again`);
  const binding = await store.get('binding', m.port);
  if (!binding) throw new ApiError(409, 'NOT_BOUND', `port ${m.port} was unbound during its migration`);
  if (binding.value.host !== m.destinationHost || binding.value.interface !== m.destinationInterface) {
    await store.put('binding', { ...binding.value, host: m.destinationHost, interface: m.destinationInterface }, binding.version);
  }
  return store.put('migration', { ...m, state: 'committed', endedAt: now, reason }, current.version);
}

/** Back to the source alone; `state` is `expired` when the deadline ended it. */
export async function abortMigration(store: TopologyStore, current: Stored<'migration'>, reason = 'aborted', state: 'aborted' | 'expired' = 'aborted', now = Date.now()): Promise<Stored<'migration'>> {
  const m = current.value;
  if (m.state === 'aborted' || m.state === 'expired') return current;
  if (m.state === 'committed') throw new ApiError(409, 'COMMITTED', `the migration of port ${m.port} is committed: the port is bound on ${m.destinationHost} now`);
  return store.put('migration', { ...m, state, endedAt: now, reason }, current.version);
}

/** Ends a migration past its deadline: committed if the guest already runs at the destination
 *  (its source is gone or going), else back to the source. */
export async function expireMigration(store: TopologyStore, current: Stored<'migration'>, now = Date.now()): Promise<Stored<'migration'>> {
  const late = `no commit or abort within ${Math.round((current.value.deadline - current.value.begunAt) / 1000)} s`;
  if (current.value.guestRunningAt > 0) return commitMigration(store, current, `${late}; the guest runs at the destination: committed`, now);
  return abortMigration(store, current, `${late}; the guest never ran at the destination: back to the source`, 'expired', now);
}

/** The routes: /v1/migrations (GET, POST to begin), /v1/migrations/ID (GET, DELETE), and
 *  /v1/migrations/ID/commit and /abort. The operator and the hosts involved (their libvirt
 *  hooks) migrate a port; its tenant sees the migration. */
export function migrationRoutes(app: FastifyInstance, store: TopologyStore, present: (stored: Stored) => object): void {
  const reads = { access: { roles: EVERYONE, what: 'read migrations' } };
  const writes = { access: { roles: HOSTS_TOO, what: 'begin, commit, abort or delete migrations' } };
  const find = (caller: Caller, id: string) => findFor(store, caller, 'migration', id);

  app.get('/v1/migrations', { config: reads }, async (request) => (await store.list('migration')).filter((m) => visibleTo(request.caller, m)).map(present));
  app.get<{ Params: { id: string } }>('/v1/migrations/:id', { config: reads }, async (request) => present(await find(request.caller, request.params.id)));
  app.post<{ Body: BeginMigration }>('/v1/migrations', { schema: { body: BEGIN_BODY }, config: writes }, async (request, reply) => {
    const { migration, created } = await beginMigration(store, request.caller, request.body);
    reply.code(created ? 201 : 200);
    return present(migration);
  });
  app.post<{ Params: { id: string } }>('/v1/migrations/:id/commit', { config: writes }, async (request) => {
    return present(await commitMigration(store, await find(request.caller, request.params.id)));
  });
  app.post<{ Params: { id: string } }>('/v1/migrations/:id/abort', { config: writes }, async (request) => {
    return present(await abortMigration(store, await find(request.caller, request.params.id)));
  });
  app.delete<{ Params: { id: string } }>('/v1/migrations/:id', { config: writes }, async (request, reply) => {
    const current = await find(request.caller, request.params.id);
    const ended = current.value.state === 'mirroring' ? await abortMigration(store, current, 'deleted while mirroring') : current;
    await store.delete('migration', ended.value.id, ended.version);
    reply.code(204);
  });
}
