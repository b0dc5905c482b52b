// The tenant API as the commands call it: each request's body is typed by the schema the API
// checks it with (src/api/resources.ts, the same table the OpenAPI document is made from),
// and each answer by what the API stores, so the CLI and the API cannot drift apart.
import type { BeginMigration } from '../api/migrations';
import type { CreateBody, ResourcePath, Shown, UpdateBody } from '../api/resources';
import type { Migration } from '../topology';
import { ControlClient } from './client';

export type { CreateBody, ResourcePath, Shown, UpdateBody };
/** A migration as the API shows it. */
export type ShownMigration = Migration & { version: number };
/** What rotating or revoking a credential answers: the new token, once. */
export interface Credential { id: string; version: number; token?: string; revoked?: boolean }

export class TenantApi {
  constructor(readonly client: ControlClient) {}

  list<P extends ResourcePath>(path: P): Promise<Shown<P>[]> {
    return this.client.request('GET', `/v1/${path}`);
  }

  get<P extends ResourcePath>(path: P, id: string): Promise<Shown<P>> {
    return this.client.request('GET', `/v1/${path}/${encodeURIComponent(id)}`);
  }

  /** A tenant is answered with its token, the only time it is shown. */
  create<P extends ResourcePath>(path: P, body: CreateBody<P>): Promise<Shown<P> & { token?: string }> {
    return this.client.request('POST', `/v1/${path}`, body);
  }

  update<P extends ResourcePath>(path: P, id: string, body: UpdateBody<P>): Promise<Shown<P>> {
    return this.client.request('PATCH', `/v1/${path}/${encodeURIComponent(id)}`, body);
  }

  async delete(path: ResourcePath, id: string): Promise<void> {
    await this.client.request('DELETE', `/v1/${path}/${encodeURIComponent(id)}`);
  }

  credential(path: 'tenants' | 'hosts', id: string, verb: 'rotate' | 'revoke'): Promise<Credential> {
    return this.client.request('POST', `/v1/${path}/${encodeURIComponent(id)}/${verb}-token`);
  }

  migrations(): Promise<ShownMigration[]> {
    return this.client.request('GET', '/v1/migrations');
  }

  beginMigration(body: BeginMigration): Promise<ShownMigration> {
    return this.client.request('POST', '/v1/migrations', body);
  }

  /** Commits or aborts the migration of port `id`. */
  endMigration(id: string, how: 'commit' | 'abort'): Promise<ShownMigration> {
    return this.client.request('POST', `/v1/migrations/${encodeURIComponent(id)}/${how}`);
  }
}
