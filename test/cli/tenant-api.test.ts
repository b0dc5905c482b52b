// The CLI's client of the tenant API against the API's own document and schemas: every request
// it can make is an operation of the OpenAPI document, and (checked when this file compiles)
// a body the schemas would refuse does not type-check.
import test from 'ava';
import { openApiDocument } from '../../src/api/openapi';
import { RESOURCES } from '../../src/api/resources';
import { ControlClient } from '../../src/cli/client';
import { TenantApi } from '../../src/cli/tenant-api';

/** A client that keeps what it is asked, and answers nothing. */
class Recorder extends ControlClient {
  readonly asked: { method: string; path: string }[] = [];
  constructor() {
    super('/nowhere');
  }
  override request<T>(method: string, path: string): Promise<T> {
    this.asked.push({ method, path });
    return Promise.resolve(undefined as T);
  }
}

const ID = '3f2a4c1e-8b7d-4e6a-9c5b-1a2b3c4d5e6f';

test('every request the CLI\'s client makes is an operation of the OpenAPI document', async (t) => {
  const recorder = new Recorder();
  const api = new TenantApi(recorder);
  for (const { path } of RESOURCES) {
    await api.list(path);
    await api.get(path, ID);
    await api.update(path, ID, {});
    await api.delete(path, ID);
  }
  await api.create('bridges', { name: 'net1' });
  for (const path of ['tenants', 'hosts'] as const) for (const verb of ['rotate', 'revoke'] as const) await api.credential(path, ID, verb);
  await api.migrations();
  await api.beginMigration({ port: ID, destinationHost: 'kvm-02', interface: 'tap-vm1' });
  for (const how of ['commit', 'abort'] as const) await api.endMigration(ID, how);
  const paths = (openApiDocument() as { paths: Record<string, Record<string, { operationId?: string }>> }).paths;
  const operations = recorder.asked.map(({ method, path }) => paths[path.replace(ID, '{id}')]?.[method.toLowerCase()]?.operationId);
  t.is(recorder.asked.length, RESOURCES.length * 4 + 9);
  t.deepEqual(recorder.asked.filter((_, i) => operations[i] === undefined), [], 'no request outside the document');
  t.true(operations.includes('createBridge') && operations.includes('beginMigration') && operations.includes('revokeHostToken'));
});

test('a body the API\'s schemas would refuse does not compile (the lines below are compile-time checks)', (t) => {
  const api = new TenantApi(new Recorder());
  const refused = [
    // @ts-expect-error: a bridge has no field `nmae`
    () => api.create('bridges', { nmae: 'net1' }),
    // @ts-expect-error: a port is made on a device, which it names
    () => api.create('ports', { name: 'vm1' }),
    // @ts-expect-error: a chain rule's action is one of the schema's enum
    () => api.update('chains', ID, { rules: [{ action: 'allow' }] }),
    // @ts-expect-error: a QoS rate is a number
    () => api.update('ports', ID, { qos: { sendKbps: '100' } }),
    // @ts-expect-error: a migration names the interface it arrives on
    () => api.beginMigration({ port: ID, destinationHost: 'kvm-02' }),
    // @ts-expect-error: there are no `widgets`
    () => api.list('widgets'),
  ];
  t.is(refused.length, 6);
});
