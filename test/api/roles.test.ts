import test from 'ava';
import { ADMIN, everyKind, HOST, HOST2, HOST2_TOKEN, HOST_TOKEN, setUp } from '../helpers/tenant-api';

const NOBODY = '00000000-0000-0000-0000-000000000000';

test('a tenant is refused (403, before any lookup) every write to bindings, hosts, tunnel zones and migrations, and nothing changes', async (t) => {
  const { call, tenant, store } = await setUp(t);
  const a = await tenant('a');
  const { bindings: port } = await everyKind(call, a);
  t.is((await call(ADMIN, 'POST', '/v1/migrations', { port, destinationHost: HOST2, interface: 'vnet9' })).status, 201);
  const before = (await store.snapshot()).objects;
  const attempts: [string, string, object?][] = [
    ['POST', '/v1/bindings', { port, interface: 'vnet5' }],
    ['POST', '/v1/bindings', { bogus: true }],
    ['PATCH', `/v1/bindings/${port}`, { interface: 'vnet5' }],
    ['DELETE', `/v1/bindings/${port}`],
    ['DELETE', `/v1/bindings/${NOBODY}`],
    ['POST', '/v1/hosts', { name: 'mine' }],
    ['PATCH', `/v1/hosts/${HOST}`, { name: 'mine' }],
    ['DELETE', `/v1/hosts/${HOST}`],
    ['POST', `/v1/hosts/${HOST}/rotate-token`],
    ['POST', `/v1/hosts/${HOST}/revoke-token`],
    ['GET', '/v1/hosts'],
    ['POST', '/v1/tunnel-zones', { name: 'z' }],
    ['POST', '/v1/migrations', { port, destinationHost: HOST2, interface: 'vnet9' }],
    ['POST', `/v1/migrations/${port}/commit`],
    ['POST', `/v1/migrations/${port}/abort`],
    ['DELETE', `/v1/migrations/${port}`],
    ['DELETE', `/v1/migrations/${NOBODY}`],
    ['POST', `/v1/tenants/${NOBODY}/revoke-token`],
  ];
  for (const [method, url, body] of attempts) {
    const r = await call(a, method, url, body);
    t.is(r.status, 403, `${method} ${url}`);
    t.is(r.body.error.code, 'FORBIDDEN', `${method} ${url}`);
  }
  t.deepEqual((await store.snapshot()).objects, before, 'no attempt changed anything');
  t.like((await call(a, 'GET', `/v1/bindings/${port}`)).body, { host: HOST, interface: 'tap0' }, 'the tenant reads its binding');
  t.like((await call(a, 'GET', `/v1/migrations/${port}`)).body, { state: 'mirroring', sourceHost: HOST, destinationHost: HOST2 }, 'and its migration');
});

test("a host's credential binds and migrates on its own host only, and reads nothing else", async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  const bridge = (await call(a, 'POST', '/v1/bridges', {})).body.id;
  const [p1, p2] = [(await call(a, 'POST', '/v1/ports', { device: bridge })).body.id, (await call(a, 'POST', '/v1/ports', { device: bridge })).body.id];

  const own = await call(HOST_TOKEN, 'POST', '/v1/bindings', { port: p1, interface: 'vnet0' });
  t.is(own.status, 201);
  t.like(own.body, { host: HOST, interface: 'vnet0' }, 'a binding with no host is on the caller\'s');
  const elsewhere = await call(HOST_TOKEN, 'POST', '/v1/bindings', { port: p2, interface: 'vnet0', host: HOST2 });
  t.is(elsewhere.status, 403);
  t.is(elsewhere.body.error.field, 'host');
  t.is((await call(HOST_TOKEN, 'PATCH', `/v1/bindings/${p1}`, { host: HOST2 })).status, 403, 'nor moved to another host');
  t.is((await call(HOST2_TOKEN, 'POST', '/v1/bindings', { port: p2, interface: 'vnet0' })).status, 201);
  for (const method of ['GET', 'PATCH', 'DELETE']) {
    t.is((await call(HOST_TOKEN, method, `/v1/bindings/${p2}`, method === 'PATCH' ? { interface: 'vnet1' } : undefined)).status, 404, `${method} another host's binding`);
  }
  t.deepEqual((await call(HOST_TOKEN, 'GET', '/v1/bindings')).body.map((b: { port: string }) => b.port), [p1], 'it lists the bindings on itself');
  t.deepEqual((await call(HOST_TOKEN, 'GET', '/v1/hosts')).body.map((h: { id: string }) => h.id), [HOST], 'and itself among the hosts');
  for (const [method, url] of [['GET', '/v1/ports'], ['POST', '/v1/bridges'], ['GET', '/v1/tenants'], ['POST', '/v1/trace'], ['PATCH', `/v1/hosts/${HOST}`]]) {
    t.is((await call(HOST_TOKEN, method, url, method === 'GET' ? undefined : {})).status, 403, `${method} ${url}`);
  }

  // A migration of p1 (on HOST) to HOST2, as the hosts' libvirt hooks run it.
  t.is((await call(HOST2_TOKEN, 'POST', '/v1/migrations', { port: p2, destinationHost: HOST, interface: 'vnet7' })).status, 201, 'the source may begin one too');
  const begun = await call(HOST2_TOKEN, 'POST', '/v1/migrations', { port: p1, destinationHost: HOST2, interface: 'vnet5' });
  t.is(begun.status, 201, 'the destination begins it');
  t.is((await call(HOST_TOKEN, 'POST', `/v1/migrations/${p1}/commit`)).body.state, 'committed', 'the source commits it');
  t.like((await call(ADMIN, 'GET', `/v1/bindings/${p1}`)).body, { host: HOST2, interface: 'vnet5' });
  t.is((await call(HOST_TOKEN, 'GET', `/v1/bindings/${p1}`)).status, 404, 'gone from the source host\'s view');
  t.is((await call(HOST2_TOKEN, 'DELETE', `/v1/bindings/${p1}`)).status, 204, 'and unbound by the host it is on');
});

test('tokens rotate (the old one stops working at once) and are revoked; a tenant rotates its own, the operator any', async (t) => {
  const { call, tenant } = await setUp(t);
  const [a, b] = [await tenant('a'), await tenant('b')];
  const aId = (await call(a, 'GET', '/v1/tenants')).body[0].id;
  const bId = (await call(b, 'GET', '/v1/tenants')).body[0].id;
  const rotated = await call(a, 'POST', `/v1/tenants/${aId}/rotate-token`);
  t.is(rotated.status, 200);
  const a2 = rotated.body.token as string;
  t.truthy(a2);
  t.is((await call(a, 'GET', '/v1/bridges')).status, 401, 'the old token is refused');
  t.is((await call(a2, 'GET', '/v1/bridges')).status, 200);
  t.is((await call(a2, 'POST', `/v1/tenants/${bId}/rotate-token`)).status, 404, "another tenant's token is not its to rotate");
  t.is((await call(b, 'GET', '/v1/bridges')).status, 200);
  t.is((await call(a2, 'POST', `/v1/tenants/${aId}/revoke-token`)).status, 403, 'revoking is the operator\'s');
  const revoked = await call(ADMIN, 'POST', `/v1/tenants/${aId}/revoke-token`);
  t.like(revoked.body, { id: aId, revoked: true });
  t.is(revoked.body.token, undefined);
  t.is((await call(a2, 'GET', '/v1/bridges')).status, 401);
  t.is((await call(ADMIN, 'POST', `/v1/tenants/${aId}/rotate-token`)).status, 200, 'the operator gives it a new one');

  const host = await call(ADMIN, 'POST', `/v1/hosts/${HOST}/rotate-token`);
  t.is((await call(HOST_TOKEN, 'GET', '/v1/bindings')).status, 401);
  t.is((await call(host.body.token, 'GET', '/v1/bindings')).status, 200);
  await call(ADMIN, 'POST', `/v1/hosts/${HOST}/revoke-token`);
  t.is((await call(host.body.token, 'GET', '/v1/bindings')).status, 401);
  const shown = JSON.stringify([(await call(ADMIN, 'GET', '/v1/hosts')).body, (await call(ADMIN, 'GET', '/v1/tenants')).body]);
  t.false(/tokenSha256|"token"/.test(shown), 'no token or digest is shown');
});

test("no answer to tenant A carries an id of tenant B's, whatever A asks", async (t) => {
  const { call, tenant, store } = await setUp(t);
  const [a, b] = [await tenant('a'), await tenant('b')];
  const mine = await everyKind(call, a);
  const theirs = await everyKind(call, b, 'tap1');
  t.is((await call(ADMIN, 'POST', '/v1/migrations', { port: theirs.bindings, destinationHost: HOST2, interface: 'vnet8' })).status, 201);
  const bTenant = (await call(b, 'GET', '/v1/tenants')).body[0].id as string;
  const bIds = new Set<string>([bTenant]);
  for (const o of (await store.snapshot()).objects) if (o.value.tenant === bTenant) bIds.add(o.value.id);
  t.true(bIds.size >= 8, `b's ids collected: ${bIds.size}`);

  const answers: string[] = [];
  const ask = async (method: string, url: string, body?: object) => answers.push(JSON.stringify((await call(a, method, url, body)).body ?? ''));
  const paths = ['tenants', 'bridges', 'routers', 'ports', 'routes', 'bindings', 'mirrors', 'security-groups', 'tunnel-zones', 'hosts', 'migrations'];
  for (const p of paths) await ask('GET', `/v1/${p}`);
  for (const id of bIds) {
    for (const p of paths) {
      await ask('GET', `/v1/${p}/${id}`);
      await ask('PATCH', `/v1/${p}/${id}`, {});
      await ask('DELETE', `/v1/${p}/${id}`);
    }
    await ask('POST', `/v1/tenants/${id}/rotate-token`);
    await ask('POST', '/v1/ports', { device: id });
    await ask('POST', '/v1/ports', { device: mine.bridges, peer: id });
    await ask('POST', '/v1/routes', { router: id, destination: '10.8.0.0/16', nextHop: '10.0.0.8' });
    await ask('POST', '/v1/routes', { router: mine.routers, destination: '10.8.0.0/16', port: id });
    await ask('POST', '/v1/mirrors', { port: id, toPort: mine.bindings });
    await ask('POST', '/v1/mirrors', { port: mine.bindings, toPort: id });
    await ask('PATCH', `/v1/mirrors/${mine.mirrors}`, { toPort: id });
    await ask('PATCH', `/v1/ports/${mine.bindings}`, { securityGroups: [id] });
    await ask('POST', '/v1/security-groups', { rules: [{ direction: 'ingress', remoteGroup: id }] });
    await ask('POST', '/v1/trace', { port: id, flow: 'icmp' });
    await ask('POST', '/v1/migrations', { port: id, destinationHost: HOST2, interface: 'vnet8' });
    await ask('POST', '/v1/bindings', { port: id, interface: 'vnet8' });
  }
  const everything = answers.join('\n');
  for (const id of bIds) t.false(everything.includes(id), `b's id ${id} in an answer to a: ${answers.find((x) => x.includes(id))}`);
  t.true(answers.length > 200);
});

/** GET /v1/events as `token`: `until` reads the stream until `found` holds for what came. */
async function follow(address: string, token: string, signal: AbortSignal) {
  const response = await fetch(`${address}/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const until = async (found: (text: string) => boolean) => {
    while (!found(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended with: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    return text;
  };
  return { status: response.status, until };
}

test("tenant A's event stream carries nothing of tenant B's; the operator's carries both", async (t) => {
  const { app, call, tenant, store } = await setUp(t);
  const [a, b] = [await tenant('a'), await tenant('b')];
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const streams = new AbortController();
  t.teardown(() => streams.abort());
  const [aStream, operatorStream] = [await follow(address, a, streams.signal), await follow(address, ADMIN, streams.signal)];
  t.is(aStream.status, 200);
  await everyKind(call, b, 'tap1');
  const bTenant = (await call(b, 'GET', '/v1/tenants')).body[0].id as string;
  const bIds = (await store.snapshot()).objects.filter((o) => o.value.tenant === bTenant).map((o) => o.value.id);
  t.true(bIds.length >= 10, `b's ids: ${bIds.length}`);
  await call(b, 'DELETE', `/v1/routes/${(await call(b, 'GET', '/v1/routes')).body[0].id as string}`);
  // What the store does is told in order: once A is told of its own bridge, made last, it
  // has been told all it will be of what came before.
  const marker = (await call(a, 'POST', '/v1/bridges', { name: 'marker' })).body.id as string;
  const seenByA = await aStream.until((text) => text.includes(marker));
  for (const id of bIds) t.false(seenByA.includes(id), `b's ${id} in a's stream`);
  t.regex(seenByA, new RegExp(`"type":"put","kind":"bridge","id":"${marker}"`));
  const seenByOperator = await operatorStream.until((text) => text.includes(marker));
  t.deepEqual(bIds.filter((id) => id !== bTenant && !seenByOperator.includes(id)), [], 'the operator is told of every one of b\'s objects made since');
});

test('standby hosts of a binding are the operator\'s to name: other hosts that exist, each once, for an interface and not a VTEP', async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  const bridge = (await call(a, 'POST', '/v1/bridges', {})).body.id;
  const [p1, p2] = [(await call(a, 'POST', '/v1/ports', { device: bridge })).body.id, (await call(a, 'POST', '/v1/ports', { device: bridge })).body.id];
  const byHost = await call(HOST_TOKEN, 'POST', '/v1/bindings', { port: p1, interface: 'up0', standby: [{ host: HOST2, interface: 'up0' }] });
  t.is(byHost.status, 403, 'a host\'s credential does not name other hosts');
  t.is(byHost.body.error.field, 'standby');
  for (const [standby, field] of [[[{ host: HOST, interface: 'up0' }], 'standby'], [[{ host: NOBODY, interface: 'up0' }], 'standby'], [[{ host: HOST2 }], undefined]] as const) {
    const refused = await call(ADMIN, 'POST', '/v1/bindings', { port: p1, host: HOST, interface: 'up0', standby });
    t.is(refused.status, 400, JSON.stringify(standby));
    if (field) t.is(refused.body.error.field, field);
  }
  t.is((await call(ADMIN, 'POST', '/v1/bindings', { port: p2, host: HOST, vtepAddress: '192.0.2.9', vni: 5, standby: [{ host: HOST2, interface: 'up0' }] })).status, 400, 'a VTEP is where it is');
  const made = await call(ADMIN, 'POST', '/v1/bindings', { port: p1, host: HOST, interface: 'up0', standby: [{ host: HOST2, interface: 'up1' }] });
  t.is(made.status, 201);
  t.like(made.body, { host: HOST, interface: 'up0', standby: [{ host: HOST2, interface: 'up1' }] });
});
