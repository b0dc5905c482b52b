// `npm run bench -- idle`: the CPU an agent with ten attached ports uses when no frame flows,
// once settled: V8 compiles and collects on its own threads for the first seconds after start.
import { Lab, sleep, startAgent } from '../examples/lab';
import { cpuSeconds } from './measure';

/** Settled: V8's memory reducer compacts each heap once, about 30 s after start (seen with
 *  --trace-gc: two mark-compacts of the agent's heap at 33-34 s, 30 ms of work with their
 *  concurrent marking on V8's threads). A window that holds it reads 1.2 % where the agent
 *  settled uses 0.3 %. */
export const IDLE_WARM_UP_SECONDS = 45;

export async function idle(options: { ports: number; warmUpSeconds: number; seconds: number; agentArgs: string[]; log: (line: string) => void }): Promise<object> {
  const lab = new Lab();
  try {
    const sw = await lab.namespace('sw');
    const host = await lab.namespace('h');
    const args: string[] = [];
    for (let i = 0; i < options.ports; i++) {
      await lab.veth(host, `eth${i}`, sw, `p${i}`);
      args.push('--port', `p${i}`);
    }
    // Silence the host side: no IPv6 autoconfiguration traffic on the idle ports.
    await lab.exec(host, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    const agent = await startAgent(lab, sw, [...args, '--log-level', 'warn', ...options.agentArgs]);
    await sleep(options.warmUpSeconds * 1000);
    const before = cpuSeconds(agent.pid);
    await sleep(options.seconds * 1000);
    const used = cpuSeconds(agent.pid) - before;
    const ports = (await agent.ports()).filter((p) => p.state === 'up').length;
    options.log(`${ports} ports up; ${used.toFixed(3)} CPU s in ${options.seconds} s`);
    return { bench: 'idle', agent_args: options.agentArgs.join(' '), ports, warm_up_s: options.warmUpSeconds, seconds: options.seconds, cpu_s: Number(used.toFixed(3)), cpu_percent: Number(((100 * used) / options.seconds).toFixed(3)), target_cpu_percent: 1 };
  } finally {
    await lab.cleanup();
  }
}
