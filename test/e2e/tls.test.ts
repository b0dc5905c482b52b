// The tenant API over HTTPS and etcd over TLS with client certificates, end to end: a CA made
// with openssl for the run, a real etcd with --client-cert-auth, the real agent and CLI. And
// the refusals: a plain-HTTP client, a CA the client does not know, an agent without a client
// certificate or with the wrong CA; the running agent goes on through all of them.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { certificateAuthority, eventually, Lab, ping, routedHost, startAgent, startEtcd, VSWITCH } from '../../examples/lab';

test('an agent on etcd over TLS serves its API over HTTPS only; wrong or missing certificates are refused, clearly', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  const [pki, stranger] = [await certificateAuthority(lab, 'vswitch'), await certificateAuthority(lab, 'stranger')];
  await startEtcd(lab, { ns: sw, tls: pki });
  const etcdTls = ['--store', 'etcds://127.0.0.1:2379', '--etcd-ca', pki.ca];
  const clientCert = ['--etcd-cert', pki.client.cert, '--etcd-key', pki.client.key];
  const agent = await startAgent(lab, sw, [...etcdTls, ...clientCert, '--api', '127.0.0.1:8443', '--api-tls-cert', pki.server.cert, '--api-tls-key', pki.server.key]);
  const admin = fs.readFileSync(path.join(agent.stateDir, 'admin-token'), 'utf8').trim();
  const cli = (token: string, api: string, ...args: string[]) => lab.exec(sw, process.execPath, [VSWITCH, '--api', api, '--token', token, ...args]).then(
    (r) => r.stdout,
    (e: { stderr: string }) => Promise.reject(new Error(e.stderr)),
  );
  const https = (token: string, ...args: string[]) => cli(token, 'https://127.0.0.1:8443', '--cacert', pki.ca, ...args);

  const tenant = /token: (\S+)/.exec(await https(admin, 'tenant', 'create', 'acme'))![1];
  await https(tenant, 'router', 'create', 'r');
  for (const n of [1, 2]) {
    await https(tenant, 'bridge', 'create', `net${n}`);
    await https(tenant, 'port', 'create', 'r', '--name', `r-net${n}`, '--address', `10.0.${n}.1/24`);
    await https(tenant, 'port', 'create', `net${n}`, '--name', `net${n}-up`, '--peer', `r-net${n}`);
    await https(tenant, 'port', 'create', `net${n}`, '--name', `vm${n}`);
    await https(admin, 'port', 'bind', `vm${n}`, `t${n}`);
  }
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1)), 'routed through a topology made over HTTPS and kept in etcd over TLS');

  const refusal = (promise: Promise<string>) => promise.then(() => 'accepted', (e: Error) => e.message);
  t.regex(await refusal(cli(tenant, '127.0.0.1:8443', 'bridge', 'list')), /served over HTTPS only/, 'a plain-HTTP client is told to use HTTPS');
  t.regex(await refusal(cli(tenant, 'https://127.0.0.1:8443', '--cacert', stranger.ca, 'bridge', 'list')), /does not trust .*--cacert/, 'a CA that did not sign the API\'s certificate');
  t.regex(await refusal(cli(tenant, 'https://127.0.0.1:8443', 'bridge', 'list')), /does not trust .*--cacert/, 'nor do the system\'s CAs');

  // Agents that etcd must refuse: no client certificate; a CA that did not sign etcd's.
  const refusedBy = [
    ['no client certificate', etcdTls, /etcd refused this client's certificate, or the lack of one/],
    ['the wrong CA', [...etcdTls, '--etcd-ca', stranger.ca, ...clientCert], /etcd showed a certificate that etcdCa did not sign/],
  ] as const;
  for (const [what, args, reason] of refusedBy) {
    const started = await startAgent(lab, sw, [...args, '--api', 'off'], lab.directory(`refused-${what.length}`)).then(() => 'started', (e: Error) => e.message);
    t.regex(started, reason, `an agent with ${what} does not start, and says why: ${started.slice(0, 400)}`);
  }

  t.truthy(await agent.stats(), 'the agent goes on');
  t.regex(await https(tenant, 'bridge', 'list'), /net1/);
  t.true(await ping(lab, h1, '10.0.2.5', 1));
});
