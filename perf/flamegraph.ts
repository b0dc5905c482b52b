// `npm run bench -- flamegraph`: a 0x flame graph of the agent (every thread, kernel stacks
// included, through perf) while a TCP stream crosses it, written to perf/flamegraphs/l2-tcp.
import path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { ControlClient } from '../src/cli/client';
import { Lab, sleep, twoHostsAndSwitch, VSWITCH } from '../examples/lab';
import { tcpGbps } from './measure';
import { SUBNET } from './systems';

export async function flamegraph(options: { seconds: number; log: (line: string) => void }): Promise<object> {
  const lab = new Lab();
  const output = path.join(__dirname, '..', '..', 'perf', 'flamegraphs', 'l2-tcp');
  let profiler: ChildProcess | undefined;
  try {
    const { sw, a, b } = await twoHostsAndSwitch(lab, SUBNET);
    const socket = `/tmp/${lab.id}-profile.sock`;
    const zeroX = require.resolve('0x/cmd.js');
    profiler = lab.spawn(sw, process.execPath, [zeroX, '--kernel-tracing', '-D', output, '--', process.execPath, VSWITCH, 'agent',
      '--socket', socket, '--port', 'pa', '--port', 'pb', '--log-level', 'warn', '--state-dir', lab.directory('profile-state'), '--api', 'off']);
    const client = new ControlClient(socket);
    for (let tries = 0; !(await client.request('GET', '/health').then(() => true, () => false)); tries++) {
      if (tries > 200) throw new Error('the profiled agent did not start');
      await sleep(100);
    }
    await lab.exec(a, 'ping', ['-c', '3', '-i', '0.1', `${SUBNET}.2`]);
    const gbps = await tcpGbps(lab, b, a, `${SUBNET}.2`, options.seconds);
    options.log(`TCP under the profiler: ${gbps.toFixed(2)} Gbit/s; writing the flame graph`);
    const done = new Promise((resolve) => profiler!.once('exit', resolve));
    profiler.kill('SIGINT');
    await done;
    return { bench: 'flamegraph', tcp_gbps: Number(gbps.toFixed(2)), flamegraph: path.join(output, 'flamegraph.html') };
  } finally {
    await lab.cleanup();
  }
}
