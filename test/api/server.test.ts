import test from 'ava';
import { beginMigration, expireMigration } from '../../src/api';
import { ADMIN_TENANT } from '../../src/topology';
import { ADMIN, everyKind, HOST, setUp } from '../helpers/tenant-api';
import { redoclyLint } from '../helpers/redocly';

test("for every kind, another tenant's object is 404 to read, change or delete, and stays as it was", async (t) => {
  const { call, tenant } = await setUp(t);
  const [a, b] = [await tenant('a'), await tenant('b')];
  const objects = await everyKind(call, a);
  for (const [p, id] of Object.entries(objects)) {
    const before = (await call(a, 'GET', `/v1/${p}/${id}`)).body;
    t.is((await call(b, 'GET', `/v1/${p}/${id}`)).status, 404, `GET ${p}`);
    // Tenants write no bindings at all: 403 before the object is looked up.
    const [status, code] = p === 'bindings' ? [403, 'FORBIDDEN'] : [404, 'NOT_FOUND'];
    const patch = await call(b, 'PATCH', `/v1/${p}/${id}`, {});
    t.is(patch.status, status, `PATCH ${p}`);
    t.is(patch.body.error.code, code);
    t.is((await call(b, 'DELETE', `/v1/${p}/${id}`)).status, status, `DELETE ${p}`);
    t.deepEqual((await call(a, 'GET', `/v1/${p}/${id}`)).body, before, `${p} unchanged`);
    t.false((await call(b, 'GET', `/v1/${p}`)).body.some((o: { id: string }) => o.id === id), `${p} not listed to b`);
    t.true((await call(ADMIN, 'GET', `/v1/${p}`)).body.some((o: { id: string }) => o.id === id), `${p} listed to the admin`);
  }
  const aTenant = (await call(a, 'GET', '/v1/tenants')).body;
  t.is(aTenant.length, 1, 'a tenant sees only itself');
  t.is(aTenant[0].tokenSha256, undefined, 'never its token digest');
  t.is((await call(b, 'GET', `/v1/tenants/${aTenant[0].id}`)).status, 404, "another tenant's tenant object is 404");
  t.is((await call(b, 'GET', `/v1/hosts/${HOST}`)).status, 403, "hosts are the operator's");
  t.is((await call(ADMIN, 'GET', `/v1/hosts/${HOST}`)).status, 200);
  const bOwn = await call(b, 'POST', '/v1/ports', { device: objects.bridges });
  t.is(bOwn.status, 400, "b cannot put a port on a's bridge");
  t.is(bOwn.body.error.field, 'device');
});

test('a missing or invalid token is 401; tenants and hosts are the admin\'s', async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  for (const token of [null, 'not-a-token']) {
    const r = await call(token, 'GET', '/v1/bridges');
    t.is(r.status, 401);
    t.is(r.body.error.code, 'UNAUTHENTICATED');
  }
  t.is((await call(a, 'POST', '/v1/tenants', { name: 'x' })).status, 403);
  t.is((await call(a, 'POST', '/v1/hosts', { name: 'x' })).status, 403);
  t.is((await call(a, 'POST', '/v1/tunnel-zones', { name: 'x' })).status, 403);
  const zone = await call(ADMIN, 'POST', '/v1/tunnel-zones', { name: 'rack1', hosts: [HOST] });
  t.is(zone.status, 201);
  const unknown = await call(ADMIN, 'POST', '/v1/tunnel-zones', { name: 'rack2', hosts: [HOST, 'nope'] });
  t.is(unknown.body.error.field, 'hosts/1');
  const openapi = await call(null, 'GET', '/openapi.json');
  t.is(openapi.status, 200, 'the OpenAPI document is public');
  t.truthy(openapi.body.paths['/v1/migrations/{id}/commit']?.post, 'migrations are in it');
  t.is(redoclyLint(openapi.body), '', 'redocly lint (its recommended rules) finds nothing: every operation has an id and a tag, the examples fit their schemas');
});

test('malformed bodies are 400 with the field named, and change nothing', async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  const { bridges: bridge, routers: router } = await everyKind(call, a);
  const cases: [string, object, string][] = [
    ['bridges', { name: 7 }, 'name'],
    ['bridges', { colour: 'red' }, 'colour'],
    ['ports', {}, 'device'],
    ['ports', { device: 'nope' }, 'device'],
    ['ports', { device: router, addresses: ['10.0.0.300/24'] }, 'addresses/0'],
    ['ports', { device: router, mac: 'zz:zz' }, 'mac'],
    ['ports', { device: bridge, vlan: 5000 }, 'vlan'],
    ['routes', { router, destination: 'ten/8', nextHop: '10.0.0.1' }, 'destination'],
    ['routes', { router, destination: '10.0.0.0/8', nextHop: 'fe80::1' }, 'nextHop'],
    ['ports', { device: bridge, addresses: ['10.0.0.5/33'] }, 'addresses/0'],
    ['ports', { device: bridge, allowedAddressPairs: [{ ipAddress: 'ten' }] }, 'allowedAddressPairs/0/ipAddress'],
    ['ports', { device: bridge, allowedAddressPairs: [{ ipAddress: '10.0.0.9', macAddress: 'zz' }] }, 'allowedAddressPairs/0/macAddress'],
    ['ports', { device: bridge, allowedAddressPairs: [{ ipAddress: '10.0.0.9', mac: '02:00:00:00:00:01' }] }, 'allowedAddressPairs/0/mac'],
    ['ports', { device: bridge, allowedAddressPairs: [{ macAddress: '02:00:00:00:00:01' }] }, 'allowedAddressPairs/0/ipAddress'],
    ['ports', { device: router, allowedAddressPairs: [{ ipAddress: '10.0.0.9' }] }, 'allowedAddressPairs'],
    ['ports', { device: bridge, portSecurity: 'no' }, 'portSecurity'],
    ['ports', { device: bridge, qos: { sendKbps: -1 } }, 'qos/sendKbps'],
    ['ports', { device: bridge, qos: { rate: 5 } }, 'qos/rate'],
    ['ports', { device: router, addresses: ['10.0.0.1/24'], qos: { sendKbps: 1000 } }, 'qos'],
  ];
  const operatorCases: [string, object, string][] = [
    ['bindings', { interface: 'tap9' }, 'port'],
    ['bindings', { port: bridge, interface: 'tap9' }, 'port'],
  ];
  const count = async () => (await call(a, 'GET', '/v1/ports')).body.length + (await call(a, 'GET', '/v1/routes')).body.length;
  const before = await count();
  for (const [token, [p, body, field]] of [...cases.map((c) => [a, c] as const), ...operatorCases.map((c) => [ADMIN, c] as const)]) {
    const r = await call(token, 'POST', `/v1/${p}`, body);
    t.is(r.status, 400, `${p} ${JSON.stringify(body)}`);
    t.is(r.body.error.field, field, `${p} ${JSON.stringify(body)}: ${r.body.error.message}`);
  }
  const notJson = await call(a, 'POST', '/v1/bridges', '{oops', { 'content-type': 'application/json' });
  t.is(notJson.status, 400);
  t.is(await count(), before);
});

test('updates take If-Match versions; links are kept on both ends; a device with ports is not deleted', async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  const bridge = (await call(a, 'POST', '/v1/bridges', { name: 'b' })).body;
  const renamed = await call(a, 'PATCH', `/v1/bridges/${bridge.id}`, { name: 'c' }, { 'if-match': String(bridge.version) });
  t.is(renamed.status, 200);
  const stale = await call(a, 'PATCH', `/v1/bridges/${bridge.id}`, { name: 'd' }, { 'if-match': String(bridge.version) });
  t.is(stale.status, 409, 'a write from an old version is refused');
  t.is(stale.body.error.code, 'VERSION_CONFLICT');
  t.is((await call(a, 'GET', `/v1/bridges/${bridge.id}`)).body.name, 'c');
  const router = (await call(a, 'POST', '/v1/routers', {})).body;
  const rp = (await call(a, 'POST', '/v1/ports', { device: router.id, addresses: ['10.0.0.1/24'] })).body;
  t.regex(rp.mac, /^02:/, 'a router port gets a locally administered MAC');
  const bp = (await call(a, 'POST', '/v1/ports', { device: bridge.id, peer: rp.id })).body;
  t.is((await call(a, 'GET', `/v1/ports/${rp.id}`)).body.peer, bp.id, 'the router port points back');
  t.is((await call(a, 'DELETE', `/v1/bridges/${bridge.id}`)).status, 409);
  t.is((await call(a, 'DELETE', `/v1/ports/${bp.id}`)).status, 204);
  t.is((await call(a, 'GET', `/v1/ports/${rp.id}`)).body.peer, '', 'deleting one end unlinks the other');
});

test('mirrors: checked references, a match that parses, one role per port; they go with their ports', async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  const b = await tenant('b');
  const made = async (token: string, p: string, body: object) => (await call(token, 'POST', `/v1/${p}`, body)).body.id as string;
  const bridge = await made(a, 'bridges', { name: 'b' });
  const router = await made(a, 'routers', { name: 'r' });
  const [vm, monitor, other] = [await made(a, 'ports', { device: bridge }), await made(a, 'ports', { device: bridge }), await made(a, 'ports', { device: bridge })];
  const routerPort = await made(a, 'ports', { device: router, addresses: ['10.0.0.1/24'] });
  const theirs = await made(b, 'ports', { device: await made(b, 'bridges', {}) });
  const refused = async (body: object, code: string, field: string) => {
    const r = await call(a, 'POST', '/v1/mirrors', body);
    t.is(r.body.error?.code, code, JSON.stringify(body));
    t.is(r.body.error?.field, field);
  };
  await refused({ port: vm, toPort: vm }, 'INVALID_VALUE', 'toPort');
  await refused({ port: vm, toPort: routerPort }, 'INVALID_VALUE', 'toPort');
  await refused({ port: vm, toPort: theirs }, 'UNKNOWN_REFERENCE', 'toPort');
  await refused({ port: vm, toPort: monitor, match: 'tcp,tp_dst=http' }, 'INVALID_VALUE', 'match');
  await refused({ port: vm, toPort: monitor, direction: 'sideways' }, 'INVALID_BODY', 'direction');
  const created = await call(a, 'POST', '/v1/mirrors', { port: vm, toPort: monitor, direction: 'in', match: 'icmp,nw_src=10.0.0.0/24' });
  t.is(created.status, 201);
  t.like(created.body, { port: vm, toPort: monitor, direction: 'in', match: 'icmp,nw_src=10.0.0.0/24' });
  await refused({ port: monitor, toPort: other }, 'IN_USE', 'port');
  await refused({ port: other, toPort: vm }, 'IN_USE', 'toPort');
  t.is((await call(a, 'DELETE', `/v1/ports/${monitor}`)).status, 204);
  t.is((await call(a, 'GET', `/v1/mirrors/${created.body.id}`)).status, 404, 'the mirror went with its destination');
});

test('migrations: begin binds the destination too, repeats are answered alike, commit moves the binding, abort and deadline end it', async (t) => {
  const { call, store } = await setUp(t);
  const DEST = '99999999-2222-3333-4444-555555555555';
  await store.put('host', { id: DEST, tenant: ADMIN_TENANT, name: 'h2', underlayAddress: '', tokenSha256: '' });
  const bridge = (await call(ADMIN, 'POST', '/v1/bridges', { name: 'b' })).body.id;
  const port = (await call(ADMIN, 'POST', '/v1/ports', { device: bridge, name: 'vm' })).body.id;
  const begin = { port, destinationHost: DEST, interface: 'vnet7' };
  t.is((await call(ADMIN, 'POST', '/v1/migrations', begin)).body.error.code, 'NOT_BOUND');
  await call(ADMIN, 'POST', '/v1/bindings', { port, interface: 'vnet0' });
  t.is((await call(ADMIN, 'POST', '/v1/migrations', { ...begin, destinationHost: HOST })).body.error.field, 'destinationHost', 'not to its own host');
  t.is((await call(ADMIN, 'POST', '/v1/migrations', { ...begin, destinationHost: 'nowhere' })).body.error.code, 'UNKNOWN_REFERENCE');

  const first = await call(ADMIN, 'POST', '/v1/migrations', { ...begin, timeoutSeconds: 30 });
  t.is(first.status, 201);
  t.like(first.body, { id: port, port, sourceHost: HOST, destinationHost: DEST, destinationInterface: 'vnet7', state: 'mirroring', guestRunningAt: 0 });
  t.is(first.body.deadline - first.body.begunAt, 30_000);
  const again = await call(ADMIN, 'POST', '/v1/migrations', begin);
  t.is(again.status, 200, 'the same begin again: the same migration');
  t.is(again.body.version, first.body.version);
  t.is((await call(ADMIN, 'POST', '/v1/migrations', { ...begin, interface: 'vnet8' })).body.error.code, 'MIGRATING');

  const committed = await call(ADMIN, 'POST', `/v1/migrations/${port}/commit`);
  t.like(committed.body, { state: 'committed', reason: 'committed' });
  t.like((await call(ADMIN, 'GET', `/v1/bindings/${port}`)).body, { host: DEST, interface: 'vnet7' });
  t.is((await call(ADMIN, 'POST', `/v1/migrations/${port}/commit`)).body.version, committed.body.version, 'commit again: nothing more');
  t.is((await call(ADMIN, 'POST', `/v1/migrations/${port}/abort`)).body.error.code, 'COMMITTED');

  // Back the other way, then aborted: the binding stays where it was.
  await call(ADMIN, 'POST', '/v1/migrations', { port, destinationHost: HOST, interface: 'vnet0' });
  t.like((await call(ADMIN, 'POST', `/v1/migrations/${port}/abort`)).body, { state: 'aborted' });
  t.like((await call(ADMIN, 'POST', `/v1/migrations/${port}/abort`)).body, { state: 'aborted' }, 'abort again: still aborted');
  t.like((await call(ADMIN, 'GET', `/v1/bindings/${port}`)).body, { host: DEST, interface: 'vnet7' });
  t.is((await call(ADMIN, 'POST', `/v1/migrations/${port}/commit`)).body.error.code, 'ENDED');

  // Past its deadline: back to the source when the guest never ran at the destination, committed when it did.
  const late = await beginMigration(store, { role: 'operator' }, { port, destinationHost: HOST, interface: 'vnet0', timeoutSeconds: 1 });
  t.like((await expireMigration(store, late.migration)).value, { state: 'expired' });
  t.regex((await store.get('migration', port))!.value.reason, /never ran at the destination/);
  const ran = await beginMigration(store, { role: 'operator' }, { port, destinationHost: HOST, interface: 'vnet0', timeoutSeconds: 1 });
  const running = await store.put('migration', { ...ran.migration.value, guestRunningAt: Date.now() }, ran.migration.version);
  t.like((await expireMigration(store, running)).value, { state: 'committed' });
  t.like((await call(ADMIN, 'GET', `/v1/bindings/${port}`)).body, { host: HOST, interface: 'vnet0' });
  t.is((await call(ADMIN, 'DELETE', `/v1/migrations/${port}`)).status, 204);
});

test('an interface is bound to one port at most; the operator is told which holds it', async (t) => {
  const { call, tenant, store } = await setUp(t);
  const host2 = '22222222-2222-3333-4444-555555555555';
  await store.put('host', { id: host2, tenant: ADMIN_TENANT, name: 'h2', underlayAddress: '', tokenSha256: '' });
  const a = await tenant('a');
  const bridge = (await call(a, 'POST', '/v1/bridges', { name: 'net' })).body.id as string;
  const [port, port2] = [(await call(a, 'POST', '/v1/ports', { device: bridge })).body.id as string, (await call(a, 'POST', '/v1/ports', { device: bridge })).body.id as string];
  t.is((await call(ADMIN, 'POST', '/v1/bindings', { port, interface: 'vnet1', host: host2 })).status, 201);
  const refused = await call(ADMIN, 'POST', '/v1/bindings', { port: port2, interface: 'vnet1', host: host2 });
  t.is(refused.status, 409);
  t.is(refused.body.error.code, 'INTERFACE_BOUND');
  t.regex(refused.body.error.message, new RegExp(`vnet1 on host ${host2} is bound to port ${port}`));
  t.is((await call(ADMIN, 'POST', '/v1/bindings', { port: port2, interface: 'vnet1' })).status, 201, 'the same name on another host is another interface');
  t.like((await call(a, 'GET', `/v1/bindings/${port}`)).body, { host: host2, interface: 'vnet1', tenant: (await call(a, 'GET', '/v1/tenants')).body[0].id }, "the port's tenant reads its binding");
});

test('security groups: rules are checked, a new group lets everything out, and a group in use is not deleted', async (t) => {
  const { call, tenant } = await setUp(t);
  const [a, b] = [await tenant('a'), await tenant('b')];
  const theirs = (await call(b, 'POST', '/v1/security-groups', { name: 'x' })).body.id as string;
  const fresh = await call(a, 'POST', '/v1/security-groups', { name: 'web' });
  t.is(fresh.status, 201);
  t.deepEqual(fresh.body.rules.map((r: { direction: string; ethertype: string }) => `${r.direction} ${r.ethertype}`), ['egress IPv4', 'egress IPv6']);
  for (const [rule, field] of [
    [{ direction: 'ingress', protocol: 'tcp', portMin: 90, portMax: 80 }, 'rules/0/portMax'],
    [{ direction: 'ingress', protocol: 'icmp', portMin: 80 }, 'rules/0/portMin'],
    [{ direction: 'ingress', protocol: 'tcp', icmpType: 8 }, 'rules/0/icmpType'],
    [{ direction: 'ingress', ethertype: 'IPv6', protocol: 'icmp' }, 'rules/0/ethertype'],
    [{ direction: 'ingress', remotePrefix: '2001:db8::/32' }, 'rules/0/remotePrefix'],
    [{ direction: 'ingress', remoteGroup: theirs }, 'rules/0/remoteGroup'],
    [{ direction: 'sideways' }, 'rules/0/direction'],
  ] as const) {
    const r = await call(a, 'POST', '/v1/security-groups', { rules: [rule] });
    t.is(r.status, 400, JSON.stringify(rule));
    t.is(r.body.error.field, field, JSON.stringify(rule));
  }
  const single = await call(a, 'POST', '/v1/security-groups', { rules: [{ direction: 'ingress', protocol: 'tcp', portMin: 22 }] });
  t.like(single.body.rules[0], { portMin: 22, portMax: 22, ethertype: 'IPv4', icmpType: -1 }, 'one port is portMin alone');
  const bridge = (await call(a, 'POST', '/v1/bridges', {})).body.id;
  t.is((await call(a, 'POST', '/v1/ports', { device: bridge, securityGroups: [theirs] })).body.error.field, 'securityGroups/0');
  const port = (await call(a, 'POST', '/v1/ports', { device: bridge, securityGroups: [fresh.body.id] })).body.id;
  const naming = (await call(a, 'POST', '/v1/security-groups', { rules: [{ direction: 'ingress', remoteGroup: single.body.id }] })).body.id;
  t.is((await call(a, 'DELETE', `/v1/security-groups/${fresh.body.id}`)).body.error.code, 'IN_USE', 'a member port holds it');
  t.is((await call(a, 'DELETE', `/v1/security-groups/${single.body.id}`)).body.error.code, 'IN_USE', 'another group\'s rule names it');
  await call(a, 'PATCH', `/v1/ports/${port}`, { securityGroups: [] });
  t.is((await call(a, 'DELETE', `/v1/security-groups/${fresh.body.id}`)).status, 204);
  t.is((await call(a, 'DELETE', `/v1/security-groups/${naming}`)).status, 204);
  t.is((await call(a, 'DELETE', `/v1/security-groups/${single.body.id}`)).status, 204);
});

test('chains: rules are checked, what they name is the tenant\'s own, jumps may not loop, and what is in use is not deleted', async (t) => {
  const { call, tenant } = await setUp(t);
  const [a, b] = [await tenant('a'), await tenant('b')];
  const theirs = (await call(b, 'POST', '/v1/chains', { name: 'x' })).body.id as string;
  const bridge = (await call(a, 'POST', '/v1/bridges', {})).body.id;
  const port = (await call(a, 'POST', '/v1/ports', { device: bridge })).body.id;
  const group = (await call(a, 'POST', '/v1/port-groups', { name: 'g', ports: [port] })).body.id;
  const target = (await call(a, 'POST', '/v1/chains', { name: 'target' })).body.id;
  for (const [rule, field] of [
    [{ action: 'jump' }, 'rules/0/jumpTo'],
    [{ action: 'accept', jumpTo: target }, 'rules/0/jumpTo'],
    [{ action: 'jump', jumpTo: theirs }, 'rules/0/jumpTo'],
    [{ action: 'drop', protocol: 1, destinationPortMin: 80 }, 'rules/0/destinationPortMin'],
    [{ action: 'drop', protocol: 6, sourcePortMin: 90, sourcePortMax: 80 }, 'rules/0/sourcePortMax'],
    [{ action: 'drop', protocol: 6, icmpType: 3 }, 'rules/0/icmpType'],
    [{ action: 'drop', ethertype: 0x86dd, sourcePrefix: '10.0.0.0/8' }, 'rules/0/sourcePrefix'],
    [{ action: 'drop', destinationPrefix: 'ten' }, 'rules/0/destinationPrefix'],
    [{ action: 'drop', invert: ['sourcePrefix'] }, 'rules/0/invert'],
    [{ action: 'drop', invert: ['everything'] }, 'rules/0/invert/0'],
    [{ action: 'drop', connectionState: 'tired' }, 'rules/0/connectionState'],
    [{ action: 'drop', inPortGroup: port }, 'rules/0/inPortGroup'],
    [{ action: 'maybe' }, 'rules/0/action'],
  ] as const) {
    const r = await call(a, 'POST', '/v1/chains', { rules: [rule] });
    t.is(r.status, 400, JSON.stringify(rule));
    t.is(r.body.error.field, field, JSON.stringify(rule));
    t.false(JSON.stringify(r.body).includes(theirs), 'no answer names b\'s chain');
  }
  const first = await call(a, 'POST', '/v1/chains', { name: 'first', rules: [{ action: 'accept', protocol: 6, destinationPortMin: 22 }, { action: 'jump', jumpTo: target }] });
  t.like(first.body.rules[0], { destinationPortMin: 22, destinationPortMax: 22, icmpType: -1, invert: [] }, 'one port is the Min alone; rules are completed');
  const loop = await call(a, 'PATCH', `/v1/chains/${target}`, { rules: [{ action: 'jump', jumpTo: first.body.id }] });
  t.is(loop.status, 400, 'target -> first -> target');
  t.is(loop.body.error.field, 'rules/0/jumpTo');
  t.is((await call(a, 'PATCH', `/v1/bridges/${bridge}`, { inboundChain: theirs })).body.error.field, 'inboundChain');
  t.is((await call(a, 'PATCH', `/v1/ports/${port}`, { outboundChain: first.body.id })).status, 200);
  const named = (await call(a, 'POST', '/v1/chains', { rules: [{ action: 'drop', outPort: port }, { action: 'drop', outPortGroup: group }] })).body.id;
  t.is((await call(a, 'DELETE', `/v1/chains/${first.body.id}`)).body.error.code, 'IN_USE', 'a port filters with it');
  t.is((await call(a, 'DELETE', `/v1/chains/${target}`)).body.error.code, 'IN_USE', 'a rule jumps to it');
  t.is((await call(a, 'DELETE', `/v1/port-groups/${group}`)).body.error.code, 'IN_USE', 'a rule names it');
  t.is((await call(a, 'DELETE', `/v1/ports/${port}`)).body.error.code, 'IN_USE', 'a rule names the port');
  t.is((await call(a, 'DELETE', `/v1/chains/${named}`)).status, 204);
  t.is((await call(a, 'DELETE', `/v1/ports/${port}`)).status, 204);
  t.deepEqual((await call(a, 'GET', `/v1/port-groups/${group}`)).body.ports, [], 'a deleted port leaves its groups');
  t.is((await call(a, 'DELETE', `/v1/chains/${first.body.id}`)).status, 204);
  t.is((await call(a, 'DELETE', `/v1/chains/${target}`)).status, 204);
});

test('subnets: checked and completed; ports made without an address get the pool\'s next free one, until it is exhausted', async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  for (const [subnets, field] of [
    [[{ cidr: '10.0.0.1/24' }], 'subnets/0/cidr'],
    [[{ cidr: '10.0.0.0/31' }], 'subnets/0/cidr'],
    [[{ cidr: '10.0.0.0/24', gateway: '10.0.1.1' }], 'subnets/0/gateway'],
    [[{ cidr: '10.0.0.0/24' }, { cidr: '10.0.0.128/25' }], 'subnets/1/cidr'],
    [[{ cidr: '10.0.0.0/24', poolStart: '10.0.0.20', poolEnd: '10.0.0.10' }], 'subnets/0/poolEnd'],
    [[{ cidr: '10.0.0.0/24', routes: [{ destination: '172.16.0.0/12', nextHop: '192.168.0.1' }] }], 'subnets/0/routes/0/nextHop'],
    [[{ cidr: '10.0.0.0/24', dnsServers: ['dns'] }], 'subnets/0/dnsServers/0'],
    [[{ cidr: '10.0.0.0/24', domain: 'not a domain' }], 'subnets/0/domain'],
  ] as const) {
    const r = await call(a, 'POST', '/v1/bridges', { subnets });
    t.is(r.status, 400, JSON.stringify(subnets));
    t.is(r.body.error.field, field, JSON.stringify(subnets));
  }
  const bridge = await call(a, 'POST', '/v1/bridges', { subnets: [{ cidr: '10.0.0.0/24', poolStart: '10.0.0.10', poolEnd: '10.0.0.12' }, { cidr: '2001:db8::/64' }] });
  t.like(bridge.body.subnets[0], { gateway: '10.0.0.1', dhcp: true, leaseSeconds: 86400, mtu: 0 });
  t.like(bridge.body.subnets[1], { gateway: '2001:db8::1', dhcp: false }, 'IPv6 is advertised by routers, not served by DHCP');
  const fixed = await call(a, 'POST', '/v1/ports', { device: bridge.body.id, addresses: ['10.0.0.11'] });
  t.deepEqual(fixed.body.addresses, ['10.0.0.11'], 'an address given is kept');
  const made = [];
  for (let i = 0; i < 2; i++) made.push((await call(a, 'POST', '/v1/ports', { device: bridge.body.id })).body.addresses);
  t.deepEqual(made, [['10.0.0.10'], ['10.0.0.12']], 'the pool\'s free addresses, in order, past the one taken');
  const full = await call(a, 'POST', '/v1/ports', { device: bridge.body.id });
  t.is(full.status, 409);
  t.is(full.body.error.code, 'POOL_EXHAUSTED');
});

test('external networks: the operator\'s; a router\'s gateway is made on one, with its address; floating IPs from its pool, for VMs behind such a router', async (t) => {
  const { call, tenant } = await setUp(t);
  const a = await tenant('a');
  const subnets = [{ cidr: '203.0.113.0/24', dhcp: false }];
  t.is((await call(a, 'POST', '/v1/bridges', { external: true, subnets })).status, 403, 'a tenant makes no external network');
  const ext = (await call(ADMIN, 'POST', '/v1/bridges', { name: 'public', external: true, subnets })).body.id as string;
  t.true((await call(a, 'GET', '/v1/bridges')).body.some((b: { id: string }) => b.id === ext), 'tenants see external networks');
  const own = (await call(a, 'POST', '/v1/bridges', { name: 'net1', subnets: [{ cidr: '10.0.1.0/24' }] })).body.id as string;
  const router = (await call(a, 'POST', '/v1/routers', { name: 'r' })).body.id as string;
  t.is((await call(a, 'PATCH', `/v1/routers/${router}`, { externalNetwork: own })).body.error.field, 'externalNetwork', 'not an external network');
  const withGateway = (await call(a, 'PATCH', `/v1/routers/${router}`, { externalNetwork: ext })).body;
  t.truthy(withGateway.gatewayPort);
  const gateway = (await call(a, 'GET', `/v1/ports/${withGateway.gatewayPort}`)).body;
  t.like(gateway, { name: 'gateway', device: router, addresses: ['203.0.113.2/24'] }, 'the network\'s first free address (.1 is its gateway)');
  t.is((await call(a, 'GET', `/v1/ports/${gateway.peer}`)).status, 404, 'its peer on the external network is the operator\'s');
  t.is((await call(a, 'DELETE', `/v1/ports/${gateway.id}`)).body.error.code, 'GATEWAY_PORT');
  t.is((await call(a, 'PATCH', `/v1/ports/${gateway.id}`, { addresses: ['203.0.113.9/24'] })).body.error.code, 'GATEWAY_PORT');

  const inside = (await call(a, 'POST', '/v1/ports', { device: router, addresses: ['10.0.1.1/24'] })).body.id;
  await call(a, 'POST', '/v1/ports', { device: own, peer: inside });
  const vm = (await call(a, 'POST', '/v1/ports', { device: own, name: 'vm' })).body.id;
  const stray = (await call(a, 'POST', '/v1/ports', { device: (await call(a, 'POST', '/v1/bridges', {})).body.id, addresses: ['10.9.0.5'] })).body.id;
  const fip = (await call(a, 'POST', '/v1/floating-ips', { network: ext })).body;
  t.is(fip.address, '203.0.113.3', 'the next free address');
  t.is((await call(a, 'PATCH', `/v1/floating-ips/${fip.id}`, { port: stray })).body.error.field, 'port', 'no router joins that port to the network');
  t.is((await call(a, 'PATCH', `/v1/floating-ips/${fip.id}`, { port: vm })).status, 200);
  t.is((await call(a, 'POST', '/v1/floating-ips', { network: ext, port: vm })).body.error.code, 'IN_USE', 'one floating IP per port');
  const forward = (port: string, externalPort = 2222) => ({ protocol: 'tcp', externalPort, port, internalPort: 22 });
  t.is((await call(a, 'POST', '/v1/floating-ips', { network: ext, port: vm, portForwards: [forward(vm)] })).body.error.field, 'portForwards', 'whole, or some ports: not both');
  t.is((await call(a, 'POST', '/v1/floating-ips', { network: ext, portForwards: [forward(stray)] })).body.error.field, 'portForwards/0/port');
  t.is((await call(a, 'POST', '/v1/floating-ips', { network: ext, portForwards: [forward(vm), forward(vm)] })).body.error.code, 'IN_USE');
  t.is((await call(a, 'POST', '/v1/floating-ips', { network: ext, portForwards: [forward(vm)] })).body.error.field, 'portForwards/0/port', 'vm has a floating IP whole');
  await call(a, 'PATCH', `/v1/floating-ips/${fip.id}`, { port: '' });
  const forwarding = (await call(a, 'POST', '/v1/floating-ips', { network: ext, portForwards: [forward(vm), forward(vm, 2223)] })).body;
  t.is(forwarding.portForwards.length, 2);
  t.is((await call(a, 'PATCH', `/v1/floating-ips/${fip.id}`, { port: vm })).body.error.code, 'IN_USE', 'ports are forwarded to vm: no floating IP whole');
  t.is((await call(a, 'DELETE', `/v1/routers/${router}`)).body.error.code, 'HAS_GATEWAY');
  await call(a, 'PATCH', `/v1/routers/${router}`, { externalNetwork: '' });
  t.is((await call(a, 'GET', `/v1/ports/${gateway.id}`)).status, 404, 'unset, the gateway port goes');
  t.is((await call(a, 'GET', `/v1/routers/${router}`)).body.gatewayPort, '');
  await call(a, 'DELETE', `/v1/ports/${vm}`);
  t.is((await call(a, 'GET', `/v1/floating-ips/${fip.id}`)).body.port, '', 'a deleted port leaves its floating IP');
  t.deepEqual((await call(a, 'GET', `/v1/floating-ips/${forwarding.id}`)).body.portForwards, [], 'and the floating IPs that forwarded to it');
});

test('load balancers: a router of the tenant\'s, a VIP in one of its networks and no one else\'s, members of the VIP\'s family named once; defaults filled; health shown', async (t) => {
  const { call, tenant } = await setUp(t);
  const [a, b] = [await tenant('a'), await tenant('b')];
  const router = (await call(a, 'POST', '/v1/routers', { name: 'r' })).body.id;
  await call(a, 'POST', '/v1/ports', { device: router, addresses: ['10.0.0.1/24', '2001:db8::1/64'] });
  const lb = (body: object, token = a) => call(token, 'POST', '/v1/load-balancers', { name: 'web', router, vip: '10.0.0.100', port: 80, ...body });
  for (const [body, status, field, token] of [
    [{ router: '00000000-0000-0000-0000-000000000000' }, 400, 'router', a],
    [{}, 400, 'router', b],
    [{ vip: '10.9.9.9' }, 400, 'vip', a],
    [{ vip: '10.0.0.1' }, 409, 'vip', a],
    [{ vip: 'nonsense' }, 400, 'vip', a],
    [{ members: [{ address: '2001:db8::11', port: 80 }] }, 400, 'members/0/address', a],
    [{ members: [{ address: '10.0.0.11', port: 80 }, { address: '10.0.0.11', port: 80 }] }, 409, 'members/1', a],
    [{ monitor: { type: 'tcp', intervalSeconds: 1, timeoutSeconds: 5 } }, 400, 'monitor/timeoutSeconds', a],
    [{ algorithm: 'random' }, 400, undefined, a],
    [{ members: [{ address: '10.0.0.11', port: 80, weight: 0 }] }, 400, undefined, a],
  ] as const) {
    const refused = await lb(body, token);
    t.is(refused.status, status, JSON.stringify(body));
    if (field) t.is(refused.body.error.field, field, JSON.stringify(body));
  }
  const made = await lb({ members: [{ address: '10.0.0.11', port: 8080 }], monitor: { type: 'tcp', intervalSeconds: 1 } });
  t.is(made.status, 201);
  t.like(made.body, { algorithm: 'roundRobin', protocol: 'tcp', monitor: { type: 'tcp', intervalSeconds: 1, timeoutSeconds: 1, rise: 2, fall: 3 } }, 'defaults, the timeout at most the interval');
  t.like((await call(a, 'GET', `/v1/load-balancers/${made.body.id}`)).body.members, [{ address: '10.0.0.11', weight: 1, health: 'unchecked' }]);
  t.is((await lb({ name: 'again' })).status, 409, 'the same VIP, protocol and port twice');
  t.is((await call(a, 'POST', '/v1/load-balancers', { router, vip: '2001:db8::64', port: 80, members: [{ address: '2001:db8::11', port: 80 }] })).status, 201, 'an IPv6 VIP');
  t.is((await call(a, 'DELETE', `/v1/routers/${router}`)).status, 409, 'a router with load balancers is not deleted');
});
