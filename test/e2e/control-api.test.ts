// The control API refuses malformed requests with a JSON error naming the field, a 4xx status,
// and no change to the switch.
import test from 'ava';
import { Lab, RunningAgent, startAgent } from '../../examples/lab';
import { ControlError } from '../../src/cli/client';
import http from 'node:http';

const lab = new Lab();
let agent: RunningAgent;

test.before(async () => {
  const sw = await lab.namespace('sw');
  const host = await lab.namespace('a');
  await lab.veth(host, 'eth0', sw, 'pa');
  agent = await startAgent(lab, sw, ['--port', 'pa']);
});

test.after.always(() => lab.cleanup());

/** The raw exchange, so that a body that is not even JSON can be sent. */
function raw(method: string, path: string, body?: string): Promise<{ status: number; json: { error?: { code: string; message: string; field?: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: agent.socket, method, path }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const cases: [string, string, string, string | undefined, number, string, string | undefined][] = [
  ['not JSON', 'POST', '/ports', '{"name":', 400, 'INVALID_JSON', undefined],
  ['not an object', 'POST', '/ports', '[1,2]', 400, 'INVALID_BODY', undefined],
  ['missing kind', 'POST', '/ports', '{"name":"pa2"}', 400, 'MISSING_FIELD', 'kind'],
  ['bad kind', 'POST', '/ports', '{"name":"pa2","kind":"nic"}', 400, 'INVALID_KIND', 'kind'],
  ['name too long', 'POST', '/ports', '{"name":"a-very-long-interface-name","kind":"packet"}', 400, 'INVALID_NAME', 'name'],
  ['name not a string', 'POST', '/ports', '{"name":7,"kind":"packet"}', 400, 'INVALID_NAME', 'name'],
  ['vlan out of range', 'POST', '/ports', '{"name":"pa2","kind":"packet","vlan":5000}', 400, 'INVALID_VLAN', 'vlan'],
  ['unknown field', 'POST', '/ports', '{"name":"pa2","kind":"packet","mtu":9000}', 400, 'UNKNOWN_FIELD', 'mtu'],
  ['no such interface', 'POST', '/ports', '{"name":"nosuch0","kind":"packet"}', 404, 'NO_SUCH_INTERFACE', 'name'],
  ['port already attached', 'POST', '/ports', '{"name":"pa","kind":"packet"}', 409, 'PORT_EXISTS', 'name'],
  ['unknown port', 'DELETE', '/ports/nosuch0', undefined, 404, 'NO_SUCH_PORT', 'port'],
  ['unknown resource', 'GET', '/bridges', undefined, 404, 'NOT_FOUND', undefined],
  ['wrong method', 'PUT', '/ports', '{}', 405, 'METHOD_NOT_ALLOWED', undefined],
];

for (const [title, method, path, body, status, code, field] of cases) {
  test.serial(`${title}: ${status} ${code}, nothing changed`, async (t) => {
    const before = (await agent.ports()).map((p) => [p.number, p.name, p.state]);
    const answer = await raw(method, path, body);
    t.is(answer.status, status);
    t.is(answer.json.error?.code, code);
    t.is(answer.json.error?.field, field);
    t.true((answer.json.error?.message.length ?? 0) > 10, 'a sentence, not a bare code');
    t.deepEqual((await agent.ports()).map((p) => [p.number, p.name, p.state]), before);
  });
}

test.serial('the client surfaces the error with its field', async (t) => {
  const error = await t.throwsAsync(agent.client.request('POST', '/ports', { name: 'pa2', kind: 'nic' }));
  t.true(error instanceof ControlError);
  t.is((error as ControlError).field, 'kind');
});
