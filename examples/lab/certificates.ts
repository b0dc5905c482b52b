// A private certificate authority for a lab run, made with openssl: a server certificate for
// 127.0.0.1 (the tenant API, etcd) and a client certificate (an agent, for etcd's
// --client-cert-auth), each key beside its certificate, all in the lab's directory.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Lab } from './namespaces';

const run = promisify(execFile);

export interface CertificateAuthority {
  /** The CA's certificate (what clients trust). */
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

/** A CA named `name` and the two certificates it signed; each a PEM file path. */
export async function certificateAuthority(lab: Lab, name: string): Promise<CertificateAuthority> {
  const dir = lab.directory(`pki-${name}`);
  const file = (f: string) => path.join(dir, f);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', `/CN=${name} CA`]);
  const signed = async (role: 'server' | 'client', extensions: string) => {
    fs.writeFileSync(file(`${role}.ext`), extensions);
    await run('openssl', ['req', ...newKey, '-keyout', file(`${role}.key`), '-out', file(`${role}.csr`), '-subj', `/CN=${name} ${role}`]);
    await run('openssl', ['x509', '-req', '-in', file(`${role}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-out', file(`${role}.pem`), '-extfile', file(`${role}.ext`)]);
    return { cert: file(`${role}.pem`), key: file(`${role}.key`) };
  };
  return {
    ca: file('ca.pem'),
    server: await signed('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    client: await signed('client', 'extendedKeyUsage=clientAuth\n'),
  };
}
