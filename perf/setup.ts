// `npm run bench -- setup`: how long a new VM port takes to carry traffic. A host namespace
// appears with its interface, its virtual port is created, and the clock starts when the API
// call that binds the port returns; it stops at the first ping reply through that port, from a
// ping started right then (ARP through the new port included, and ping's own start-up).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Lab, ping, routedHost, startAgent, tenantNetwork } from '../examples/lab';

const run = promisify(execFile);

export async function setup(options: { tries: number; log: (line: string) => void }): Promise<object> {
  const lab = new Lab();
  try {
    const sw = await lab.namespace('sw');
    const peer = await routedHost(lab, sw, 'peer', 'peer', '10.0.1.2');
    const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
    const net = await tenantNetwork(agent.api, 'bench', [{ gateway: ['10.0.1.1/24'], interfaces: ['peer'] }]);
    if (!(await ping(lab, peer, '10.0.1.1', 1))) throw new Error('the peer cannot reach its router');
    const times: number[] = [];
    for (let i = 0; i < options.tries; i++) {
      const vm = await routedHost(lab, sw, `vm${i}`, `vm${i}`, `10.0.1.${10 + i}`);
      const port = await net.api.request<{ id: string }>('POST', '/v1/ports', { device: net.bridges[0], name: `vm${i}` });
      await agent.api.request('POST', '/v1/bindings', { port: port.id, interface: `vm${i}` });
      const bound = performance.now();
      let replied = false;
      while (!replied && performance.now() - bound < 5000) {
        replied = await run('ip', ['netns', 'exec', vm, 'ping', '-c', '1', '-W', '1', '10.0.1.2']).then(() => true, () => false);
      }
      if (!replied) throw new Error(`no reply through port ${i} after 5 s`);
      times.push(performance.now() - bound);
      options.log(`try ${i + 1}: ${times[i].toFixed(1)} ms`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
    return { bench: 'setup', tries: times.length, median_ms: round(at(0.5)), p99_ms: round(at(0.99)), min_ms: round(sorted[0]), times_ms: times.map(round) };
  } finally {
    await lab.cleanup();
  }
}

const round = (x: number) => Number(x.toFixed(1));
