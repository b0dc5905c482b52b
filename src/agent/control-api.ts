// The agent's local control API: HTTP + JSON on a unix socket (root-only by its file mode), for
// the `vswitch` command and for host tooling such as a libvirt hook. Errors are
// {error: {code, message, field?}} with a 4xx status, and a refused request changes nothing.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Registry } from 'prom-client';
import type { AddedPorts } from './added-ports';
import { describeKey, formatActions, formatKey } from '../flow';
import { EtherType, formatIpv4, formatIpv6, formatMac } from '../packet';
import { SwitchError } from './errors';
import { traceRequest } from './trace';
import { serveCapture } from './capture-stream';
import type { PortConfig } from './port-config';
import type { Switch } from './switch';

const MAX_BODY_BYTES = 64 * 1024;
const PORT_FIELDS = new Set(['name', 'kind', 'vlan', 'vnetHdr']);

type Handler = (request: { params: string[]; body: unknown }) => Promise<[number, unknown]> | [number, unknown];

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export class ControlApi {
  private readonly server: http.Server;
  private readonly routes: Route[];

  /** `added`: where the ports attached through this API are remembered, for a restart;
   *  `handOver`: gives this agent's ports to the agent taking over, listening at a socket. */
  constructor(
    private readonly sw: Switch, private readonly metrics: Registry,
    private readonly added?: AddedPorts, private readonly handOver?: (socket: string) => Promise<{ pid: number; ports: number }>,
  ) {
    this.routes = [
      { method: 'GET', pattern: /^\/health$/, handler: () => [200, { ok: true }] },
      { method: 'GET', pattern: /^\/ports$/, handler: () => [200, this.sw.listPorts()] },
      {
        method: 'POST', pattern: /^\/ports$/,
        handler: ({ body }) => {
          const config = portConfig(body);
          const port = this.sw.addPort(config);
          this.added?.remember(config);
          return [201, port];
        },
      },
      { method: 'GET', pattern: /^\/ports\/([^/]+)$/, handler: ({ params }) => [200, this.sw.port(params[0])] },
      {
        method: 'DELETE', pattern: /^\/ports\/([^/]+)$/,
        handler: async ({ params }) => {
          const [which] = params;
          const attached = this.sw.listPorts().find((p) => p.name === which || String(p.number) === which);
          // A remembered port whose interface was gone at the last start is forgotten alone.
          if (attached || !this.added?.has(which)) await this.sw.removePort(attached?.number ?? which);
          this.added?.forget(attached?.name ?? which);
          return [204, undefined];
        },
      },
      {
        method: 'POST', pattern: /^\/takeover$/,
        handler: async ({ body }) => {
          const socket = (body as { socket?: unknown } | null)?.socket;
          if (typeof socket !== 'string' || !path.isAbsolute(socket)) throw new SwitchError('INVALID_BODY', 'body must name the taking-over agent\'s socket: {"socket": "/absolute/path"}', 400, 'socket');
          if (!this.handOver) throw new SwitchError('NOT_SUPPORTED', 'this switch does not hand over', 409);
          return [200, await this.handOver(socket)];
        },
      },
      { method: 'GET', pattern: /^\/flows$/, handler: async () => [200, await this.flows()] },
      { method: 'DELETE', pattern: /^\/flows$/, handler: async () => [200, { removed: await this.sw.flushFlows() }] },
      { method: 'GET', pattern: /^\/stats$/, handler: () => [200, this.sw.stats()] },
      { method: 'POST', pattern: /^\/trace$/, handler: ({ body }) => [200, traceRequest(this.sw, body)] },
      {
        method: 'GET', pattern: /^\/macs$/,
        handler: () => [200, this.sw.macs()],
      },
      { method: 'GET', pattern: /^\/neighbors$/, handler: () => [200, this.sw.topology.neighborList()] },
    ];
    this.server = http.createServer((req, res) => void this.serve(req, res));
  }

  async listen(socketPath: string): Promise<void> {
    await refuseIfTaken(socketPath);
    fs.rmSync(socketPath, { force: true }); // a stale socket file left by an agent that died
    fs.mkdirSync(path.dirname(socketPath), { recursive: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        fs.chmodSync(socketPath, 0o600);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vswitch');
    try {
      if (req.method === 'GET' && url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': this.metrics.contentType });
        res.end(await this.metrics.metrics());
        return;
      }
      if (req.method === 'GET' && url.pathname === '/capture') return serveCapture(this.sw, url.searchParams, req, res);
      const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
      if (matching.length === 0) throw new SwitchError('NOT_FOUND', `no such resource ${url.pathname}`, 404);
      const route = matching.find((r) => r.method === req.method);
      if (!route) throw new SwitchError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}`, 405);
      const params = route.pattern.exec(url.pathname)!.slice(1).map(decodeURIComponent);
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const [status, result] = await route.handler({ params, body });
      reply(res, status, result);
    } catch (error) {
      if (error instanceof SwitchError) {
        reply(res, error.status, { error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) } });
      } else {
        reply(res, 500, { error: { code: 'INTERNAL', message: (error as Error).message } });
      }
    }
  }

  private async flows(): Promise<unknown[]> {
    return (await this.sw.dumpFlows()).map((f) => {
      const fields = describeKey(f.key, 0);
      const address = fields.ethertype === EtherType.ipv6 ? formatIpv6 : formatIpv4;
      return {
        match: formatKey(fields, formatMac, address), actions: formatActions(f.actions),
        packets: f.packets, bytes: f.bytes, idleMs: f.idleMs, tags: f.tags,
      };
    });
  }
}

/** Throws when another agent answers on the socket: checked before anything else starts. */
export async function refuseIfTaken(socketPath: string): Promise<void> {
  if (await answers(socketPath)) {
    throw new SwitchError('AGENT_RUNNING', `another agent answers on ${socketPath} (stop it first, or give this one --socket)`, 409);
  }
}

/** Whether something accepts connections on the socket path. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  if (status === 204) {
    res.writeHead(204).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SwitchError('BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`, 413));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new SwitchError('INVALID_JSON', 'request body is not valid JSON', 400));
      }
    });
    req.on('error', reject);
  });
}

/** A POST /ports body, checked field by field (Switch.addPort checks the values). */
function portConfig(body: unknown): PortConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SwitchError('INVALID_BODY', 'body must be a JSON object such as {"name": "vnet0", "kind": "packet"}', 400);
  }
  for (const field of Object.keys(body)) {
    if (!PORT_FIELDS.has(field)) throw new SwitchError('UNKNOWN_FIELD', `unknown field '${field}' (allowed: ${[...PORT_FIELDS].join(', ')})`, 400, field);
  }
  const config = body as Record<string, unknown>;
  if (config.name === undefined) throw new SwitchError('MISSING_FIELD', 'name is required: the interface to attach', 400, 'name');
  if (config.kind === undefined) throw new SwitchError('MISSING_FIELD', "kind is required: 'tap' or 'packet'", 400, 'kind');
  return config as unknown as PortConfig;
}
