// The dashboard: a tenant's (or, with the admin token, every tenant's) bridges, routers, ports,
// their links and where each bound port runs, drawn as a graph (cytoscape, laid out by its
// force-directed layout), kept up to date from the API's event stream (/v1/events), and the
// same API's calls to create and delete. Errors are shown as the API words them. The token is
// kept for this browser tab's session only.
import cytoscape from 'cytoscape';

interface Obj {
  id: string;
  name?: string;
  tenant?: string;
}
interface Port extends Obj {
  device: string;
  peer: string;
  addresses: string[];
}
interface Binding extends Obj {
  host: string;
  interface: string;
  state?: string;
}
interface Host extends Obj {
  alive: boolean;
}
interface LoadBalancer extends Obj {
  vip: string;
  port: number;
  protocol: string;
  members: { address: string; port: number; health?: string }[];
}
interface FloatingIp extends Obj {
  address: string;
  port: string;
}
interface SecurityGroup extends Obj {
  rules: unknown[];
}
interface Migration {
  id: string;
  port: string;
  sourceHost: string;
  destinationHost: string;
  state: string;
}
interface Sample {
  port: string;
  counters: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
  drops: Record<string, number>;
}
interface Stats {
  at: number;
  ports: Sample[];
  cache?: { cached: number; hits: number; misses: number };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let token = sessionStorage.getItem('vswitch-token') ?? '';
let graph: cytoscape.Core | null = null;
let events: AbortController | null = null;
/** Names of what is drawn, by id, for the tables. */
const names = new Map<string, string>();
let lastStats: Stats | null = null;

class ApiError extends Error {}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 204) return undefined as T;
  const answer = await res.json();
  if (!res.ok) throw new ApiError(answer.error?.message ?? `${res.status}`);
  return answer as T;
}

function showError(error: unknown): void {
  const box = $('error');
  box.textContent = (error as Error).message;
  box.hidden = false;
}

const label = (o: Obj) => o.name || o.id.slice(0, 8);

/** Reads what the caller may see and draws it again. */
async function refresh(): Promise<void> {
  const [bridges, routers, ports, bindings] = await Promise.all(['bridges', 'routers', 'ports', 'bindings'].map((kind) => api<Obj[]>('GET', `/v1/${kind}`)));
  const hosts = await api<Host[]>('GET', '/v1/hosts').catch(() => null); // the operator's only
  const bound = new Map((bindings as Binding[]).map((b) => [b.id, b]));
  for (const o of [...bridges, ...routers, ...ports]) names.set(o.id, label(o));
  const hostName = new Map((hosts ?? []).map((h) => [h.id, label(h)]));
  const elements: cytoscape.ElementDefinition[] = [];
  // The operator sees every tenant's objects, each tenant's drawn inside a box of its own.
  const tenants = hosts ? await api<Obj[]>('GET', '/v1/tenants') : [];
  for (const t of tenants) elements.push({ data: { id: `tenant:${t.id}`, label: `tenant ${label(t)}`, kind: 'tenant' }, selectable: false });
  const owned = new Set(tenants.map((t) => t.id));
  const parent = (o: Obj) => (o.tenant && owned.has(o.tenant) ? { parent: `tenant:${o.tenant}` } : {});
  for (const b of bridges) elements.push({ data: { id: b.id, label: label(b), kind: 'bridge', ...parent(b) } });
  for (const r of routers) elements.push({ data: { id: r.id, label: label(r), kind: 'router', ...parent(r) } });
  const devices = new Set([...bridges, ...routers].map((d) => d.id));
  for (const p of ports as Port[]) {
    const binding = bound.get(p.id);
    const where = binding ? ` @ ${hostName.get(binding.host) ?? binding.host.slice(0, 8)}` : '';
    elements.push({ data: { id: p.id, label: `${label(p)}${where}`, kind: 'port', bound: binding ? 'yes' : 'no', ...parent(p) } });
    if (devices.has(p.device)) elements.push({ data: { id: `${p.id}-device`, source: p.device, target: p.id } });
    if (p.peer && p.id < p.peer) elements.push({ data: { id: `${p.id}-link`, source: p.id, target: p.peer, kind: 'link' } });
  }
  draw(elements.filter((e) => !e.data.source || (elements.some((n) => n.data.id === e.data.source) && elements.some((n) => n.data.id === e.data.target))));
  const device = $<HTMLSelectElement>('port-device');
  const chosen = device.value;
  device.replaceChildren(...[...bridges, ...routers].map((d) => new Option(label(d), d.id)));
  if (chosen) device.value = chosen;
  const trace = $<HTMLSelectElement>('trace-port');
  const traced = trace.value;
  trace.replaceChildren(...(ports as Port[]).filter((p) => bound.has(p.id)).map((p) => new Option(label(p), p.id)));
  if (traced) trace.value = traced;
  const [balancers, floating, groups, migrations] = await Promise.all([
    api<LoadBalancer[]>('GET', '/v1/load-balancers'), api<FloatingIp[]>('GET', '/v1/floating-ips'), api<SecurityGroup[]>('GET', '/v1/security-groups'), api<Migration[]>('GET', '/v1/migrations'),
  ]);
  rows('service-table', [
    ...balancers.map((lb) => ['load balancer', label(lb), `${lb.vip}:${lb.port}/${lb.protocol} → ${lb.members.map((m) => `${m.address}:${m.port} ${m.health ?? ''}`.trim()).join(', ') || 'no member'}`]),
    ...floating.map((f) => ['floating IP', f.address, f.port ? `→ ${names.get(f.port) ?? f.port.slice(0, 8)}` : 'unmapped']),
    ...groups.map((g) => ['security group', label(g), `${g.rules.length} rules`]),
  ]);
  const hostLabel = (id: string) => hostName.get(id) ?? id.slice(0, 8);
  rows('migration-table', migrations.map((m) => [names.get(m.port) ?? m.port.slice(0, 8), hostLabel(m.sourceHost), hostLabel(m.destinationHost), m.state]));
  $('hosts').hidden = hosts === null;
  $('host-list').replaceChildren(...(hosts ?? []).map((h) => Object.assign(document.createElement('li'), { textContent: `${label(h)}: ${h.alive ? 'alive' : 'down'}`, className: h.alive ? '' : 'down' })));
}

function rows(table: string, cells: string[][]): void {
  $(table).querySelector('tbody')!.replaceChildren(...cells.map((row) => {
    const tr = document.createElement('tr');
    tr.replaceChildren(...row.map((text) => Object.assign(document.createElement('td'), { textContent: text })));
    return tr;
  }));
}

const rate = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));

/** Rates since the last sample: per port both ways, and the drops by reason. */
function showStats(stats: Stats): void {
  const before = new Map((lastStats?.ports ?? []).map((p) => [p.port, p.counters]));
  const seconds = lastStats ? (stats.at - lastStats.at) / 1000 : 0;
  lastStats = stats;
  if (seconds <= 0) return;
  rows('port-table', stats.ports.map((p) => {
    const was = before.get(p.port) ?? p.counters;
    const per = (now: number, then: number) => rate(Math.max(0, now - then) / seconds);
    const drops = Object.entries(p.drops).map(([reason, n]) => `${reason} ${n}`).join(', ') || '0';
    return [names.get(p.port) ?? p.port.slice(0, 8), per(p.counters.rxPackets, was.rxPackets), per(p.counters.txPackets, was.txPackets), per(8 * p.counters.rxBytes, 8 * was.rxBytes), per(8 * p.counters.txBytes, 8 * was.txBytes), drops];
  }));
  const cache = stats.cache;
  $('cache').hidden = !cache;
  if (cache) $('cache').textContent = `flow cache: ${cache.cached} flows, hit ratio ${cache.hits + cache.misses > 0 ? ((100 * cache.hits) / (cache.hits + cache.misses)).toFixed(1) : '–'} %`;
}

function draw(elements: cytoscape.ElementDefinition[]): void {
  graph?.destroy();
  // What is drawn, in words, for assistive technology and for the browser tests.
  $('graph').dataset.labels = JSON.stringify(elements.filter((e) => !e.data.source).map((e) => e.data.label));
  graph = cytoscape({
    container: $('graph'), elements, maxZoom: 1.3,
    style: [
      { selector: 'node', style: { label: 'data(label)', 'font-size': 11, 'text-valign': 'bottom', 'text-margin-y': 4 } },
      { selector: 'node[kind = "bridge"]', style: { shape: 'round-rectangle', 'background-color': '#2e6fd8', width: 48, height: 28 } },
      { selector: 'node[kind = "router"]', style: { shape: 'diamond', 'background-color': '#d8842e', width: 40, height: 40 } },
      { selector: 'node[kind = "port"]', style: { 'background-color': '#7b8799', width: 14, height: 14 } },
      { selector: 'node[kind = "tenant"]', style: { shape: 'round-rectangle', 'background-color': '#eef2f8', 'border-width': 1, 'border-color': '#b7bfcc', 'text-valign': 'top', 'text-margin-y': -4, padding: '16px' } },
      { selector: 'node[bound = "yes"]', style: { 'background-color': '#2ea44f' } },
      { selector: 'edge', style: { width: 2, 'line-color': '#b7bfcc' } },
      { selector: 'edge[kind = "link"]', style: { 'line-style': 'dashed', 'line-color': '#d8842e' } },
      { selector: ':selected', style: { 'border-width': 3, 'border-color': '#c0392b' } },
    ],
    layout: { name: 'cose', animate: false, padding: 30, nodeRepulsion: () => 8000, idealEdgeLength: () => 60 },
  });
  graph.on('select unselect', () => ($<HTMLButtonElement>('delete-selected').disabled = graph!.$('node:selected').empty()));
}

let refreshing = false;
let again = false;

/** Something changed: drawn again, once for a burst; a change during a redraw, which may have
 *  read the lists before it, draws once more after it. */
function changed(): void {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  setTimeout(async () => {
    try {
      do {
        again = false;
        await refresh();
      } while (again);
    } catch (error) {
      showError(error);
    } finally {
      refreshing = false;
    }
  }, 50);
}

/** The event stream: any change the caller may see draws the topology again. */
async function follow(): Promise<void> {
  events?.abort();
  events = new AbortController();
  const res = await fetch('/v1/events', { headers: { authorization: `Bearer ${token}` }, signal: events.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const messages = buffered.split('\n\n');
    buffered = messages.pop() ?? '';
    for (const message of messages) {
      const type = /^event: (\w+)/m.exec(message)?.[1];
      const data = /^data: (.*)$/m.exec(message)?.[1];
      if (type === 'stats' && data) showStats(JSON.parse(data) as Stats);
      if (type === 'change') changed();
    }
  }
}

async function signIn(): Promise<void> {
  try {
    await refresh();
  } catch (error) {
    sessionStorage.removeItem('vswitch-token');
    token = '';
    return showError(error);
  }
  sessionStorage.setItem('vswitch-token', token);
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('sign-out').hidden = false;
  $('error').hidden = true;
  $('who').textContent = 'signed in';
  graph?.resize();
  graph?.fit();
  follow().catch(() => undefined);
}

function submit(form: string, act: () => Promise<unknown>): void {
  $(form).addEventListener('submit', (event) => {
    event.preventDefault();
    $('error').hidden = true;
    act().then(refresh).catch(showError);
  });
}

$('sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $<HTMLInputElement>('token').value.trim();
  void signIn();
});
$('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem('vswitch-token');
  location.reload();
});
submit('trace', async () => {
  const result = await api<{ flow: string; steps: string[]; actions: string }>('POST', '/v1/trace', { port: $<HTMLSelectElement>('trace-port').value, flow: $<HTMLInputElement>('trace-flow').value });
  $('trace-steps').textContent = [result.flow, ...result.steps, `actions: ${result.actions}`].join('\n');
});
submit('new-bridge', () => api('POST', '/v1/bridges', { name: $<HTMLInputElement>('bridge-name').value }));
submit('new-router', () => api('POST', '/v1/routers', { name: $<HTMLInputElement>('router-name').value }));
submit('new-port', () => api('POST', '/v1/ports', { device: $<HTMLSelectElement>('port-device').value, name: $<HTMLInputElement>('port-name').value }));
$('delete-selected').addEventListener('click', () => {
  const node = graph?.$('node:selected').first();
  if (!node || node.empty()) return;
  const kind = node.data('kind') as string;
  api('DELETE', `/v1/${kind}s/${node.id()}`).then(refresh).catch(showError);
});
if (token) void signIn();
