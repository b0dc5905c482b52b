// `npm run bench -- flamegraph [--traffic tcp|udp|ping]`: a 0x flame graph of the agent (every
// thread, kernel stacks included, through perf) while a TCP stream, a flood of 64-byte UDP or
// 3000 pings at 2 ms cross it, written to perf/flamegraphs/l2-TRAFFIC.
import path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { ControlClient } from '../src/cli/client';
import { Lab, sleep, twoHostsAndSwitch, VSWITCH } from '../examples/lab';
import { pingRtt, tcpGbps, udp64 } from './measure';
import { SUBNET } from './systems';

export type Traffic = 'tcp' | 'udp' | 'ping';

export async function flamegraph(options: { seconds: number; traffic: Traffic; agentArgs: string[]; log: (line: string) => void }): Promise<object> {
  const lab = new Lab();
  const output = path.join(__dirname, '..', '..', 'perf', 'flamegraphs', `l2-${options.traffic}`);
  let profiler: ChildProcess | undefined;
  try {
    const { sw, a, b } = await twoHostsAndSwitch(lab, SUBNET);
    const socket = `/tmp/${lab.id}-profile.sock`;
    const zeroX = require.resolve('0x/cmd.js');
    profiler = lab.spawn(sw, process.execPath, [zeroX, '--kernel-tracing', '-D', output, '--', process.execPath, VSWITCH, 'agent',
      '--socket', socket, '--port', 'pa', '--port', 'pb', '--log-level', 'warn', '--state-dir', lab.directory('profile-state'), '--api', 'off', ...options.agentArgs]);
    const client = new ControlClient(socket);
    for (let tries = 0; !(await client.request('GET', '/health').then(() => true, () => false)); tries++) {
      if (tries > 200) throw new Error('the profiled agent did not start');
      await sleep(100);
    }
    await lab.exec(a, 'ping', ['-c', '3', '-i', '0.1', `${SUBNET}.2`]);
    const address = `${SUBNET}.2`;
    const measured = options.traffic === 'tcp' ? { tcp_gbps: Number((await tcpGbps(lab, b, a, address, options.seconds)).toFixed(2)) }
      : options.traffic === 'udp' ? { udp64_pps: Math.round((await udp64(lab, b, a, address, options.seconds)).pps) }
      : { rtt_p99_us: Math.round((await pingRtt(lab, a, address, 3000)).p99Us) };
    options.log(`under the profiler: ${JSON.stringify(measured)}; writing the flame graph`);
    const done = new Promise((resolve) => profiler!.once('exit', resolve));
    profiler.kill('SIGINT');
    await done;
    return { bench: 'flamegraph', traffic: options.traffic, agent_args: options.agentArgs.join(' '), ...measured, flamegraph: path.join(output, 'flamegraph.html') };
  } finally {
    await lab.cleanup();
  }
}
