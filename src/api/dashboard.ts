// The dashboard's side of the tenant API: the page itself (ui/, bundled into dist/ui at npm
// install: served from here, nothing from a CDN, since hosts are often offline) at / and /ui/,
// and GET /v1/events, a Server-Sent Events stream of what changes in the store that the caller
// may see, pushed from the store's watch (the page reads the lists again on each, instead of
// polling them); and once a second the counters of the caller's ports bound on this host (and
// for the operator, this host's flow cache and which hosts are alive, when that changed).
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TopologyStore } from '../topology';
import { EVERYONE, visibleTo } from './callers';

const UI_DIR = path.join(__dirname, '..', '..', 'ui');
const FILES: Record<string, string> = { 'index.html': 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8' };
/** Counters go out this often; with them, a comment line that keeps an idle stream open. */
const STATS_MS = 1000;

/** A port bound on this host, as the switch counts it. */
export interface PortSample {
  /** The virtual port's id. */
  port: string;
  tenant: string;
  counters: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
  /** What it sent that was dropped, by reason. */
  drops: Record<string, number>;
}

/** What the switch of the API's host says, for the stream. */
export interface SwitchSamples {
  ports(): PortSample[];
  /** The flow cache: flows held, hits and misses so far. */
  cache(): { cached: number; hits: number; misses: number };
}

/** Paths any caller may fetch without a token: the page signs in itself. */
export const isDashboardPath = (url: string): boolean => url === '/' || url === '/ui' || url.startsWith('/ui/');

export function dashboardRoutes(app: FastifyInstance, store: TopologyStore, samples?: SwitchSamples): void {
  app.get('/', async (_request, reply) => reply.redirect('/ui/'));
  app.get<{ Params: { file?: string } }>('/ui/:file?', async (request, reply) => {
    const file = request.params.file || 'index.html';
    const type = FILES[file];
    if (!type) return reply.code(404).send({ error: { code: 'NO_SUCH_FILE', message: `no ${file} in the dashboard` } });
    let body: Buffer;
    try {
      body = fs.readFileSync(path.join(UI_DIR, file));
    } catch {
      return reply.code(503).send({ error: { code: 'NOT_BUILT', message: 'the dashboard is not built: run npm install (it bundles ui/ into dist/ui)' } });
    }
    return reply.type(type).header('cache-control', 'no-cache').send(body);
  });

  app.get('/v1/events', { config: { access: { roles: EVERYONE, what: 'follow changes' } } }, async (request, reply) => {
    const caller = request.caller;
    const { revision } = await store.snapshot();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': following the store\n\n');
    const stop = store.watch(revision, (event) => {
      const object = event.type === 'put' ? event.object : event.previous;
      if (!visibleTo(caller, object)) return;
      res.write(`event: change\ndata: ${JSON.stringify({ type: event.type, kind: object.kind, id: object.value.id })}\n\n`);
    }, () => res.end());
    let alive = '';
    const tick = async () => {
      const ports = (samples?.ports() ?? []).filter((p) => caller.role === 'operator' || (caller.role === 'tenant' && p.tenant === caller.tenant));
      const operator = caller.role === 'operator' ? { cache: samples?.cache() } : {};
      res.write(`event: stats\ndata: ${JSON.stringify({ at: Date.now(), ports: ports.map(({ port, counters, drops }) => ({ port, counters, drops })), ...operator })}\n\n`);
      if (caller.role !== 'operator') return;
      const now = [...(await store.liveHosts())].sort().join();
      if (alive && now !== alive) res.write(`event: change\ndata: ${JSON.stringify({ type: 'liveness', kind: 'host' })}\n\n`);
      alive = now;
    };
    const timer = setInterval(() => void tick().catch(() => undefined), STATS_MS);
    request.raw.on('close', () => {
      clearInterval(timer);
      stop();
    });
  });
}
