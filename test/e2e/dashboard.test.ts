// The dashboard in a real browser: Debian's chromium, headless, driven by puppeteer-core
// (nothing downloaded). An agent with no ports serves its API and the page on loopback; two
// tenants have networks. Screenshots go to test-output/ for a person to look at.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import { Lab, overlayAgentArgs, overlayHosts, startAgent, trafficUntil, vmOn } from '../../examples/lab';
import { ControlClient } from '../../src/cli/client';

const CHROMIUM = '/usr/bin/chromium';
/** Debian's two browsers, driven alike (Chromium by CDP, Firefox by WebDriver BiDi), one at a
 *  time and at a lower priority than the agents beside them: a browser starting takes both
 *  cores for seconds, and the suite's other tests time their networks' answers. */
const BROWSERS = {
  chromium: { executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] },
  firefox: { browser: 'firefox' as const, executablePath: '/usr/bin/firefox-esr' },
};

/** The browser run by `nice` (in namespace `ns`, when given), through a script puppeteer starts. */
function niced(lab: Lab, executable: string, ns: string | null = null): string {
  const wrapper = path.join(lab.directory('browser'), path.basename(executable));
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${ns ? `ip netns exec ${ns} ` : ''}nice -n 10 ${executable} "$@"\n`, { mode: 0o755 });
  return wrapper;
}
const OUTPUT = path.join(__dirname, '..', '..', '..', 'test-output');
/** A bound on waiting for the page, not a target: the time is measured and logged. */
const BOUND_MS = 15_000;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What the page has drawn: the labels of its nodes. */
const drawn = async (page: Page): Promise<string[]> => JSON.parse((await page.$eval('#graph', (el) => el.getAttribute('data-labels'))) ?? '[]');

/** Whether `check` comes true within BOUND_MS, looked at every 25 ms. */
async function waitFor(check: () => Promise<boolean>): Promise<boolean> {
  for (const end = Date.now() + BOUND_MS; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) if (await check()) return true;
  return check();
}

/** The API inside a lab namespace (where the browser runs too), called from there. */
function apiIn(lab: Lab, ns: string, address: string, token: string) {
  const client = path.join(__dirname, '..', '..', 'src', 'cli', 'client.js');
  const script = `new (require(${JSON.stringify(client)}).ControlClient)(process.argv[1], process.argv[2]).request(process.argv[3], process.argv[4], process.argv[5] ? JSON.parse(process.argv[5]) : undefined).then((r) => process.stdout.write(JSON.stringify(r ?? null)))`;
  return {
    request: async <T>(method: string, url: string, body?: unknown): Promise<T> => {
      const { stdout } = await lab.exec(ns, process.execPath, ['-e', script, address, token, method, url, body === undefined ? '' : JSON.stringify(body)]);
      return JSON.parse(stdout) as T;
    },
  };
}

/** Chromium in a lab namespace: what it reaches is that namespace's. */
async function browserIn(lab: Lab, ns: string): Promise<Browser> {
  return puppeteer.launch({ ...BROWSERS.chromium, executablePath: niced(lab, CHROMIUM, ns), headless: true, pipe: true });
}

async function until(page: Page, what: (labels: string[]) => boolean): Promise<number> {
  const started = Date.now();
  if (await waitFor(async () => what(await drawn(page).catch(() => [])))) return Date.now() - started;
  const said = await page.$eval('#error', (el) => el.textContent).catch(() => '');
  throw new Error(`not drawn in ${BOUND_MS} ms: ${JSON.stringify(await drawn(page))}; the page says: ${said}`);
}

for (const name of ['chromium', 'firefox'] as const) {
test.serial(`${name}: a tenant signs in, sees its own network drawn and no other tenant's; creates a bridge and a port from the page; a binding made through the API appears; an API error is shown as the API words it`, async (t) => {
  const lab = new Lab();
  let browser: Browser | null = null;
  t.teardown(async () => {
    await browser?.close();
    await lab.cleanup();
  });
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const agent = await startAgent(lab, null, ['--api', address]);
  const admin = agent.api;
  const tenants: Record<string, ControlClient> = {};
  const tokens: Record<string, string> = {};
  for (const name of ['blue', 'red']) {
    const { token } = await admin.request<{ token: string }>('POST', '/v1/tenants', { name });
    tokens[name] = token;
    tenants[name] = new ControlClient(address, token);
    const bridge = await tenants[name].request<{ id: string }>('POST', '/v1/bridges', { name: `${name}-net` });
    await tenants[name].request('POST', '/v1/ports', { device: bridge.id, name: `${name}-vm` });
  }

  browser = await puppeteer.launch({ ...BROWSERS[name], executablePath: niced(lab, BROWSERS[name].executablePath), headless: true, pipe: true });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`http://${address}/`);
  t.is(new URL(page.url()).pathname, '/ui/', 'the agent serves the page at /');
  await page.type('#token', tokens.blue);
  await page.click('#sign-in button');
  await until(page, (labels) => labels.includes('blue-net') && labels.includes('blue-vm'));
  const labels = await drawn(page);
  t.false(labels.some((l) => l.startsWith('red')), `another tenant's objects are not drawn: ${labels}`);
  t.true(await waitFor(async () => (await page.evaluate('sessionStorage.getItem("vswitch-token") !== null && localStorage.length === 0')) === true), 'the token is kept for the session only');

  // Created from the page: drawn once the API has it (the event stream says so).
  await page.type('#bridge-name', 'green-net');
  await page.click('#new-bridge button');
  t.log(`a bridge created from the page drawn in ${await until(page, (l) => l.includes('green-net'))} ms`);
  await page.select('#port-device', (await tenants.blue.request<{ id: string; name: string }[]>('GET', '/v1/bridges')).find((b) => b.name === 'green-net')!.id);
  await page.type('#port-name', 'green-vm');
  await page.click('#new-port button');
  t.log(`a port created from the page drawn in ${await until(page, (l) => l.includes('green-vm'))} ms`);

  // Bound through the API, on a host the operator registered: the page follows, with no reload.
  const host = await admin.request<{ id: string }>('POST', '/v1/hosts', { name: 'kvm-02', underlayAddress: '192.0.2.12' });
  const blueVm = (await tenants.blue.request<{ id: string; name: string }[]>('GET', '/v1/ports')).find((p) => p.name === 'blue-vm')!;
  const bound = Date.now();
  await admin.request('POST', '/v1/bindings', { port: blueVm.id, host: host.id, interface: 'tap-blue' });
  await until(page, (l) => l.some((x) => x.startsWith('blue-vm @ ')));
  t.log(`a binding made through the API drawn ${Date.now() - bound} ms after the API's answer`);

  // An error, as the API words it.
  const tooLong = 'x'.repeat(70);
  const refused = await tenants.blue.request('POST', '/v1/bridges', { name: tooLong }).catch((e: Error) => e.message);
  await page.evaluate('document.getElementById("bridge-name").value = ""');
  await page.type('#bridge-name', tooLong);
  await page.click('#new-bridge button');
  await page.waitForSelector('#error:not([hidden])', { timeout: BOUND_MS });
  t.is(await page.$eval('#error', (el) => el.textContent), refused);

  fs.mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, `dashboard-${name}-1280x800.png`) });
  await page.setViewport({ width: 390, height: 844 });
  t.true(await waitFor(async () => page.$eval('body', (b) => b.scrollWidth <= 390 + 1)), 'nothing wider than a phone');
  await page.screenshot({ path: path.join(OUTPUT, `dashboard-${name}-phone.png`) });
});
}

test.serial('live: a ping between two VMs moves both their ports\' rates on the page; a migration begun through the API shows as mirroring, then committed; a trace from the page shows its steps', async (t) => {
  const lab = new Lab();
  let browser: Browser | null = null;
  t.teardown(async () => {
    await browser?.close();
    await lab.cleanup();
  });
  const sw = await lab.namespace('sw');
  const vm1 = await vmOn(lab, sw, 'vm1', 'tap1', '10.0.0.1/24');
  await vmOn(lab, sw, 'vm2', 'tap2', '10.0.0.2/24');
  const address = '127.0.0.1:8780';
  const agent = await startAgent(lab, sw, ['--api', address]);
  const adminToken = fs.readFileSync(path.join(agent.stateDir, 'admin-token'), 'utf8').trim();
  const admin = apiIn(lab, sw, address, adminToken);
  const { token } = await admin.request<{ token: string }>('POST', '/v1/tenants', { name: 'blue' });
  const blue = apiIn(lab, sw, address, token);
  const bridge = await blue.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const ports: Record<string, string> = {};
  for (const [name, dev] of [['vm1', 'tap1'], ['vm2', 'tap2']]) {
    ports[name] = (await blue.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name, portSecurity: false })).id;
    await admin.request('POST', '/v1/bindings', { port: ports[name], interface: dev });
  }
  browser = await browserIn(lab, sw);
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`http://${address}/ui/`);
  await page.type('#token', token);
  await page.click('#sign-in button');
  await until(page, (labels) => labels.some((l) => l.startsWith('vm1 @')) && labels.some((l) => l.startsWith('vm2 @')));

  const moving = async () => {
    const cells = await page.$$eval('#port-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    const pps = (name: string) => cells.filter((c) => c[0] === name).map((c) => Number(c[1]) + Number(c[2]))[0] ?? 0;
    return pps('vm1') > 0 && pps('vm2') > 0;
  };
  const moved = waitFor(moving);
  await trafficUntil(moved, () => lab.exec(vm1, 'ping', ['-c', '5', '-i', '0.1', '10.0.0.2']));
  t.true(await moved, 'both ports\' packet rates moved while the ping ran');

  const host = await admin.request<{ id: string }>('POST', '/v1/hosts', { name: 'kvm-02', underlayAddress: '192.0.2.12' });
  const state = async () => (await page.$$eval('#migration-table tbody td', (tds) => tds.map((td) => td.textContent ?? ''))).at(-1);
  await admin.request('POST', '/v1/migrations', { port: ports.vm1, destinationHost: host.id, interface: 'tap-arriving' });
  t.true(await waitFor(async () => (await state()) === 'mirroring'), 'shown as mirroring');
  await admin.request('POST', `/v1/migrations/${ports.vm1}/commit`);
  t.true(await waitFor(async () => (await state()) === 'committed'), 'then committed');

  // Services are listed as they come: a security group made through the API.
  await blue.request('POST', '/v1/security-groups', { name: 'web' });
  t.true(await waitFor(async () => (await page.$$eval('#service-table td', (tds) => tds.map((td) => td.textContent))).includes('web')), 'a security group made through the API is listed');

  await page.select('#trace-port', ports.vm2);
  await page.type('#trace-flow', 'icmp,dl_src=02:00:00:00:00:02,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=10.0.0.2,nw_dst=10.0.0.9');
  await page.click('#trace button');
  t.true(await waitFor(async () => /flood|drop|output|tunnel/.test((await page.$eval('#trace-steps', (el) => el.textContent)) ?? '')), 'the trace\'s steps are shown');
  fs.mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, 'dashboard-live.png'), fullPage: true });
});


test.serial('the operator signs in with the admin token: every tenant\'s network is drawn, each in its tenant\'s box, and the hosts with their liveness as an agent dies and comes back', async (t) => {
  const lab = new Lab();
  let browser: Browser | null = null;
  t.teardown(async () => {
    await browser?.close();
    await lab.cleanup();
  });
  // Each host's agent serves the API on its own namespace's loopback; the browser is in host 1's.
  const address = '127.0.0.1:8780';
  const leased = ['--host-lease', '2', '--api', address];
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2'], leased);
  const adminToken = fs.readFileSync(path.join(agents[0].stateDir, 'admin-token'), 'utf8').trim();
  const admin = apiIn(lab, hosts[0].ns, address, adminToken);
  for (const name of ['blue', 'red']) {
    const { token } = await admin.request<{ token: string }>('POST', '/v1/tenants', { name });
    await apiIn(lab, hosts[0].ns, address, token).request('POST', '/v1/bridges', { name: `${name}-net` });
  }
  // Named as an operator would: the agents took the machine's one hostname.
  const names = new Map(ids.map((id, i) => [id, `kvm-0${i + 1}`]));
  for (const [id, name] of names) await admin.request('PATCH', `/v1/hosts/${id}`, { name });
  browser = await browserIn(lab, hosts[0].ns);
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`http://${address}/ui/`);
  await page.type('#token', adminToken);
  await page.click('#sign-in button');
  await until(page, (labels) => ['blue-net', 'red-net', 'tenant blue', 'tenant red'].every((l) => labels.includes(l)));

  const hostStates = async () => Object.fromEntries((await page.$$eval('#host-list li', (lis) => lis.map((li) => li.textContent ?? ''))).map((line) => line.split(': ')));
  const states = (host1: string, host2: string) => async () => {
    const shown = await hostStates();
    return shown[names.get(ids[0])!] === host1 && shown[names.get(ids[1])!] === host2;
  };
  t.true(await waitFor(states('alive', 'alive')), `both hosts alive: ${JSON.stringify(await hostStates())}`);
  process.kill(agents[1].pid, 'SIGKILL');
  const killed = Date.now();
  t.true(await waitFor(states('alive', 'down')), `host 2 shown down once its lease ran out: ${JSON.stringify(await hostStates())}`);
  t.log(`host 2 shown down ${Date.now() - killed} ms after its agent was killed (lease 2 s)`);
  await startAgent(lab, hosts[1].ns, [...leased, ...overlayAgentArgs(hosts[1].address)], agents[1].stateDir);
  t.true(await waitFor(states('alive', 'alive')), `host 2 shown alive again: ${JSON.stringify(await hostStates())}`);
  fs.mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, 'dashboard-operator.png'), fullPage: true });
});
