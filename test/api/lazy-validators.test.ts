import test from 'ava';
import Fastify from 'fastify';
import { lazyValidators } from '../../src/api/lazy-validators';

function appWith(schema: object) {
  const app = Fastify({ logger: false, schemaController: { compilersFactory: { buildValidator: lazyValidators() } } });
  app.post('/things', { schema: { body: schema } }, async (request) => request.body);
  return app;
}

test("a route's schema is compiled at its first call, not when the API is readied", async (t) => {
  // Ajv refuses this schema: compiled at ready(), it would stop the API from starting.
  const app = appWith({ type: 'no-such-type' });
  await t.notThrowsAsync(app.ready());
  t.is((await app.inject({ method: 'POST', url: '/things', payload: {} })).statusCode, 500);
  await app.close();
});

test('a deferred schema validates as an eager one: the same answers and reasons, call after call', async (t) => {
  const app = appWith({ type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' } } });
  for (let call = 0; call < 3; call++) {
    const good = await app.inject({ method: 'POST', url: '/things', payload: { name: 'a' } });
    t.deepEqual([good.statusCode, good.json()], [200, { name: 'a' }]);
    const missing = await app.inject({ method: 'POST', url: '/things', payload: {} });
    t.is(missing.statusCode, 400);
    t.regex(missing.json().message, /must have required property 'name'/);
    const wrong = await app.inject({ method: 'POST', url: '/things', payload: { name: { first: 'a' } } });
    t.is(wrong.statusCode, 400);
    t.regex(wrong.json().message, /body\/name must be string/);
  }
  await app.close();
});
