// The client of the agent's APIs: HTTP + JSON over a unix socket, with a bearer token for the
// tenant API.
import http from 'node:http';

export class ControlError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

export class ControlClient {
  /** `address`: a unix socket path, or HOST:PORT. */
  constructor(readonly address: string, private readonly token?: string) {}

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          ...where(this.address), method, path,
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
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
          reject(new ControlError(0, 'AGENT_UNREACHABLE', `no agent answers on ${this.address} (start one with: vswitch agent, or pass --socket / --api)`));
        } else reject(error);
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
}

function where(address: string): { socketPath: string } | { host: string; port: number } {
  if (address.includes('/')) return { socketPath: address };
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}
