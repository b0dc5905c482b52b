// The client of the agent's APIs: HTTP + JSON over a unix socket or TCP, HTTPS for an address
// given as https://HOST:PORT (trusting `ca`, else the system's CAs), with a bearer token for
// the tenant API.
import http from 'node:http';
import https from 'node:https';

export class ControlError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

/** What a TLS client's error code means to whoever runs the command. */
const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

export class ControlClient {
  /** `address`: a unix socket path, HOST:PORT, or https://HOST:PORT; `ca`: the PEM of the CA
   *  that signed an HTTPS API's certificate. */
  constructor(readonly address: string, private readonly token?: string, private readonly ca?: string) {}

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const secure = this.address.startsWith('https://');
      const req = (secure ? https : http).request(
        {
          ...where(this.address.replace(/^https:\/\//, '')), ...(secure && this.ca ? { ca: this.ca } : {}), method, path,
          headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 500;
            const isJson = (res.headers['content-type'] ?? '').includes('json');
            const parsed = isJson && text ? JSON.parse(text) : text;
            if (status >= 400) {
              const e = parsed?.error ?? {};
              reject(new ControlError(status, e.code ?? 'HTTP_' + status, e.message ?? text, e.field));
            } else resolve(parsed as T);
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => reject(this.connectionError(error)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** GETs a stream from the local socket, each chunk to `onData`, until it ends or `signal`
   *  aborts it (then it resolves too). An error answer rejects as `request` does. */
  stream(path: string, onData: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.request({ ...where(this.address), method: 'GET', path, signal }, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const e = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}').error ?? {};
            reject(new ControlError(res.statusCode!, e.code ?? `HTTP_${res.statusCode}`, e.message ?? 'refused', e.field));
          });
          return;
        }
        res.on('data', onData);
        res.on('end', resolve);
        res.on('error', () => resolve());
      });
      req.on('error', (error: NodeJS.ErrnoException) => (signal.aborted ? resolve() : reject(this.connectionError(error))));
      req.end();
    });
  }

  private connectionError(error: NodeJS.ErrnoException): Error {
    if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
      return new ControlError(0, 'AGENT_UNREACHABLE', `no agent answers on ${this.address} (start one with: vswitch agent, or pass --socket / --api)`);
    }
    if (UNTRUSTED.has(error.code ?? '')) {
      return new ControlError(0, 'TLS_UNTRUSTED', `the API at ${this.address} showed a certificate this client does not trust (${error.message}): pass the CA that signed it with --cacert`);
    }
    if (error.code === 'EPROTO' || error.code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
      return new ControlError(0, 'TLS_UNSUPPORTED', `the API at ${this.address} does not speak HTTPS (${error.message}): give it as HOST:PORT`);
    }
    return error;
  }
}

function where(address: string): { socketPath: string } | { host: string; port: number } {
  if (address.includes('/')) return { socketPath: address };
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}
