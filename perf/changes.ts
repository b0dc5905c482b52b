// `npm run bench -- changes`: how fast a change reaches traffic that already flows, beside the
// kernel's router doing the same, in alternating rounds. A ping stream (100/s) from h1 to
// 10.0.9.1, which h2 and h3 both have:
//   redirect_ms: the route moved from h2 to h3 (the API's PATCH, `ip route replace`) until h3
//     has received 20 of the stream;
//   stop_ms: h3's port deleted (the API's DELETE, `ip link del`) until h3 gets nothing more;
//   restart_ms (the switch alone): its agent killed with SIGKILL and started again, from the
//     start until h2 has received 20 of a stream to it;
//   host_down_ms (the switch alone, two hosts on etcd, a 3 s lease): one host's agent killed
//     with SIGKILL until the API reports that host down.
// Each ms is polled every 20 ms from outside (the hosts' ICMP counters).
import { Lab, msUntilCutOff, msUntilReceiving, overlayHosts, ping, sleep, startAgent, TARGET, threeSubnets, threeSubnetsKernel, WAIT_MS } from '../examples/lab';

const LEASE_SECONDS = 3;
const TARGETS = { redirect_ms: 1000, stop_ms: 1000, restart_ms: 2000, host_down_ms: (LEASE_SECONDS + 1) * 1000 };

interface Round {
  redirect_ms: number;
  stop_ms: number;
  restart_ms?: number;
  host_down_ms?: number;
}

async function vswitchRound(): Promise<Round> {
  const lab = new Lab();
  try {
    const { sw, h1, h2, h3, agent, net } = await threeSubnets(lab, ['--log-level', 'warn']);
    const route = await net.api.request<{ id: string }>('POST', '/v1/routes', { router: net.router, destination: '10.0.9.0/24', nextHop: '10.0.2.5' });
    await flowing(lab, h1, h2);
    await net.api.request('PATCH', `/v1/routes/${route.id}`, { nextHop: '10.0.3.5' });
    const redirect = await msUntilReceiving(lab, h3, 20, WAIT_MS);
    await net.api.request('DELETE', `/v1/ports/${net.ports.get('t3')}`);
    const stop = await msUntilCutOff(lab, h1, h3, 50, WAIT_MS);

    lab.spawn(h1, 'ping', ['-i', '0.01', '-q', '10.0.2.5']);
    if ((await msUntilReceiving(lab, h2, 20, WAIT_MS)) === Infinity) throw new Error('no stream to h2');
    process.kill(agent.pid, 'SIGKILL');
    if ((await msUntilCutOff(lab, h1, h2, 50, WAIT_MS)) === Infinity) throw new Error('the stream went on without the agent');
    const started = Date.now();
    await startAgent(lab, sw, ['--log-level', 'warn'], agent.stateDir);
    if ((await msUntilReceiving(lab, h2, 20, WAIT_MS)) === Infinity) throw new Error('no stream to h2 after the restart');
    const restart = Date.now() - started;
    return { redirect_ms: redirect, stop_ms: stop, restart_ms: restart };
  } finally {
    await lab.cleanup();
  }
}

async function hostDownMs(): Promise<number> {
  const lab = new Lab();
  try {
    const { agents, ids } = await overlayHosts(lab, ['host1', 'host2'], ['--log-level', 'warn', '--host-lease', String(LEASE_SECONDS)]);
    const alive = async () => (await agents[0].api.request<{ id: string; alive: boolean }[]>('GET', '/v1/hosts')).find((h) => h.id === ids[1])!.alive;
    process.kill(agents[1].pid, 'SIGKILL');
    const killed = Date.now();
    while (await alive()) {
      if (Date.now() - killed > WAIT_MS) throw new Error('the killed host never went down');
      await sleep(20);
    }
    return Date.now() - killed;
  } finally {
    await lab.cleanup();
  }
}

async function kernelRound(): Promise<Round> {
  const lab = new Lab();
  try {
    const { sw, h1, h2, h3 } = await threeSubnetsKernel(lab);
    await flowing(lab, h1, h2);
    await lab.ip(sw, 'route', 'replace', '10.0.9.0/24', 'via', '10.0.3.5');
    const redirect = await msUntilReceiving(lab, h3, 20, WAIT_MS);
    await lab.ip(sw, 'link', 'del', 't3');
    const stop = await msUntilCutOff(lab, h1, h3, 50, WAIT_MS);
    return { redirect_ms: redirect, stop_ms: stop };
  } finally {
    await lab.cleanup();
  }
}

/** The stream from h1 reaches h2, and the router has resolved h3 already: ready for a change. */
async function flowing(lab: Lab, h1: string, h2: string): Promise<void> {
  for (const address of [TARGET, '10.0.3.5']) {
    if (!(await ping(lab, h1, address, 1)) && !(await ping(lab, h1, address, 3))) throw new Error(`h1 cannot reach ${address}`);
  }
  lab.spawn(h1, 'ping', ['-i', '0.01', '-q', TARGET]);
  if ((await msUntilReceiving(lab, h2, 20, WAIT_MS)) === Infinity) throw new Error('the stream does not reach h2');
}

export async function changes(options: { rounds: number; log: (line: string) => void }): Promise<object> {
  const rounds: { vswitch: Round[]; kernel: Round[] } = { vswitch: [], kernel: [] };
  for (let i = 0; i < options.rounds; i++) {
    rounds.vswitch.push({ ...(await vswitchRound()), host_down_ms: await hostDownMs() });
    options.log(`round ${i + 1} vswitch: ${JSON.stringify(rounds.vswitch[i])}`);
    rounds.kernel.push(await kernelRound());
    options.log(`round ${i + 1} kernel: ${JSON.stringify(rounds.kernel[i])}`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (rs: Round[], field: keyof Round) => {
    const values = rs.map((r) => r[field]!);
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  const vswitch = {
    redirect_ms: summary(rounds.vswitch, 'redirect_ms'), stop_ms: summary(rounds.vswitch, 'stop_ms'),
    restart_ms: summary(rounds.vswitch, 'restart_ms'), host_down_ms: summary(rounds.vswitch, 'host_down_ms'),
  };
  const kernel = { redirect_ms: summary(rounds.kernel, 'redirect_ms'), stop_ms: summary(rounds.kernel, 'stop_ms') };
  return {
    bench: 'changes',
    rounds: options.rounds,
    systems: { vswitch, kernel },
    // Each round's own difference, vswitch less kernel (the machine's load changes between
    // rounds; a difference, since the kernel's stop is often 0 ms, where a ratio means nothing).
    differences_ms: {
      redirect: rounds.vswitch.map((r, i) => r.redirect_ms - rounds.kernel[i].redirect_ms),
      stop: rounds.vswitch.map((r, i) => r.stop_ms - rounds.kernel[i].stop_ms),
    },
    targets: TARGETS,
    met: {
      redirect_ms: vswitch.redirect_ms.median <= TARGETS.redirect_ms,
      stop_ms: vswitch.stop_ms.median <= TARGETS.stop_ms,
      restart_ms: vswitch.restart_ms.median <= TARGETS.restart_ms,
      host_down_ms: vswitch.host_down_ms.median <= TARGETS.host_down_ms,
    },
  };
}
