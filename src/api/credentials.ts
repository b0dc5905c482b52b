// Rotating and revoking credentials: a tenant's token (the operator, or the tenant itself,
// rotates it) and a host's (the operator's alone). A revoked credential is one rotated to a
// token that nobody is told: every token used before stops working at once.
import type { FastifyInstance } from 'fastify';
import type { TopologyStore } from '../topology';
import { Caller, findFor, newToken, OPERATOR, TENANTS_TOO, tokenDigest } from './callers';

type Credentialed = 'tenant' | 'host';

export function credentialRoutes(app: FastifyInstance, store: TopologyStore): void {
  const rotate = async (caller: Caller, kind: Credentialed, id: string, tell: boolean) => {
    const current = await findFor(store, caller, kind, id);
    const token = newToken();
    const stored = await store.put(kind, { ...current.value, tokenSha256: tokenDigest(token) }, current.version);
    return { id: stored.value.id, version: stored.version, ...(tell ? { token } : { revoked: true }) };
  };
  for (const [kind, path, rotaters] of [['tenant', 'tenants', TENANTS_TOO], ['host', 'hosts', OPERATOR]] as const) {
    app.post<{ Params: { id: string } }>(`/v1/${path}/:id/rotate-token`, { config: { access: { roles: rotaters, what: `rotate ${kind} tokens` } } }, async (request) => {
      return rotate(request.caller, kind, request.params.id, true);
    });
    app.post<{ Params: { id: string } }>(`/v1/${path}/:id/revoke-token`, { config: { access: { roles: OPERATOR, what: `revoke ${kind} tokens` } } }, async (request) => {
      return rotate(request.caller, kind, request.params.id, false);
    });
  }
}
