// Who calls the tenant API, known by the bearer token: the operator (the admin token), a host's
// agent or its libvirt hook (the host's credential), or a tenant. Only digests of tokens are
// kept; a token is never logged or stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ADMIN_TENANT, Kind, Stored, TopologyStore } from '../topology';
import { ApiError, notFound, owned } from './rules';

export type Caller =
  | { role: 'operator' }
  | { role: 'host'; host: string }
  | { role: 'tenant'; tenant: string };
export type Role = Caller['role'];

export const OPERATOR: readonly Role[] = ['operator'];
export const TENANTS_TOO: readonly Role[] = ['operator', 'tenant'];
export const HOSTS_TOO: readonly Role[] = ['operator', 'host'];
export const EVERYONE: readonly Role[] = ['operator', 'host', 'tenant'];

export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');
export const newToken = (): string => randomBytes(24).toString('base64url');

const sameDigest = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));

/** The caller an Authorization header names, or 401 saying what is wrong with it. */
export async function authenticate(store: TopologyStore, adminDigest: string, authorization: string | undefined): Promise<Caller> {
  const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer <token>');
  const digest = tokenDigest(token);
  if (sameDigest(digest, adminDigest)) return { role: 'operator' };
  const tenant = (await store.list('tenant')).find((t) => sameDigest(t.value.tokenSha256, digest));
  if (tenant) return { role: 'tenant', tenant: tenant.value.id };
  const host = (await store.list('host')).find((h) => sameDigest(h.value.tokenSha256, digest));
  if (host) return { role: 'host', host: host.value.id };
  throw new ApiError(401, 'UNAUTHENTICATED', 'the bearer token is not valid (revoked, rotated, or never issued)');
}

/** Whose objects a caller may name by id: a tenant its own; the operator and hosts anyone's
 *  (a host is further held to its own bindings and migrations by `visibleTo`). */
export const scopeOf = (caller: Caller): string => (caller.role === 'tenant' ? caller.tenant : ADMIN_TENANT);

/** Whether a caller sees a stored object at all: a host sees itself, the bindings on it and
 *  the migrations to or from it. */
export function visibleTo(caller: Caller, stored: Stored): boolean {
  if (caller.role === 'operator') return true;
  // External networks are the operator's, for every tenant to put gateways and floating IPs on.
  if (caller.role === 'tenant') return stored.value.tenant === caller.tenant || (stored.kind === 'bridge' && (stored as Stored<'bridge'>).value.external);
  switch (stored.kind) {
    case 'host': return stored.value.id === caller.host;
    case 'binding': return (stored as Stored<'binding'>).value.host === caller.host;
    case 'migration': {
      const m = (stored as Stored<'migration'>).value;
      return m.sourceHost === caller.host || m.destinationHost === caller.host;
    }
    default: return false;
  }
}

/** 403 unless the caller's role is one of `roles`: said before anything is looked up. */
export function mustBe(caller: Caller, roles: readonly Role[], what: string): void {
  if (roles.includes(caller.role)) return;
  const who = caller.role === 'tenant' ? "a tenant's token" : "a host's credential";
  throw new ApiError(403, 'FORBIDDEN', `${who} may not ${what} (${roles.map((r) => (r === 'operator' ? 'the operator' : `a ${r}`)).join(' or ')} may)`);
}

/** The object a caller names by id, or 404 (never 403: another's id leaks nothing). */
export async function findFor<K extends Kind>(store: TopologyStore, caller: Caller, kind: K, id: string): Promise<Stored<K>> {
  const found = await owned(store, kind, id, scopeOf(caller));
  if (!visibleTo(caller, found)) throw notFound(kind);
  return found;
}
