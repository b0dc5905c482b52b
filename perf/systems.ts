// The switches a benchmark compares, each built in its own lab: two host namespaces a and b
// (10.88.0.1, 10.88.0.2) and, but for the direct veth pair, a switch namespace between them.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Lab, processGone, RunningAgent, startAgent, twoHostsAndSwitch } from '../examples/lab';

const run = promisify(execFile);
/** Hosts a and b are SUBNET.1 and SUBNET.2. */
export const SUBNET = '10.88.0';

export interface SystemUnderTest {
  lab: Lab;
  a: string;
  b: string;
  /** The process doing the switching in userspace, if any. */
  pid?: number;
  /** This switch's agent, to read its stats. */
  agent?: RunningAgent;
  config: string;
  stop(): Promise<void>;
  /** Open vSwitch's ovs-vswitchd, to be stopped and started again (its ovsdb keeps the bridge). */
  vswitchd?: { kill(): Promise<void>; exit(): Promise<void>; start(): Promise<void> };
}

export async function vethPair(): Promise<SystemUnderTest> {
  const lab = new Lab();
  const a = await lab.namespace('a');
  const b = await lab.namespace('b');
  await lab.veth(a, 'eth0', b, 'eth0');
  await lab.ip(a, 'addr', 'add', `${SUBNET}.1/24`, 'dev', 'eth0');
  await lab.ip(b, 'addr', 'add', `${SUBNET}.2/24`, 'dev', 'eth0');
  return { lab, a, b, config: 'veth pair, default offloads', stop: () => lab.cleanup() };
}

const switched = (lab: Lab) => twoHostsAndSwitch(lab, SUBNET);

export async function linuxBridge(): Promise<SystemUnderTest> {
  const lab = new Lab();
  const { a, b, sw } = await switched(lab);
  await lab.ip(sw, 'link', 'add', 'br0', 'type', 'bridge');
  await lab.ip(sw, 'link', 'set', 'pa', 'master', 'br0');
  await lab.ip(sw, 'link', 'set', 'pb', 'master', 'br0');
  await lab.ip(sw, 'link', 'set', 'br0', 'up');
  return { lab, a, b, config: 'Linux bridge, default offloads', stop: () => lab.cleanup() };
}

/** Open vSwitch's userspace datapath, its daemons started by hand inside the switch namespace
 *  with a private run directory (FACTS.md), userspace TSO on (its best configuration). */
export async function ovsNetdev(): Promise<SystemUnderTest> {
  const lab = new Lab();
  const { a, b, sw } = await switched(lab);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${lab.id}-ovs-`));
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const db = `unix:${dir}/db.sock`;
  const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=${db}`, ...args], { env });
  const inSwitch = (command: string, args: string[]) => run('ip', ['netns', 'exec', sw, command, ...args], { env });
  const pidOf = (name: string) => Number(fs.readFileSync(path.join(dir, `${name}.pid`), 'utf8'));
  const startVswitchd = () => inSwitch('ovs-vswitchd', [db, `--unixctl=${dir}/ovs-vswitchd.ctl`, `--pidfile=${dir}/ovs-vswitchd.pid`, `--log-file=${dir}/ovs-vswitchd.log`, '--detach', '--no-chdir']);
  const stop = async () => {
    for (const name of ['ovs-vswitchd', 'ovsdb-server']) {
      try {
        process.kill(pidOf(name), 'SIGTERM');
      } catch {
        // not started, or gone
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(dir, { recursive: true, force: true });
    await lab.cleanup();
  };
  try {
    await run('ovsdb-tool', ['create', `${dir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema'], { env });
    const common = ['--detach', '--no-chdir'];
    await inSwitch('ovsdb-server', [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--unixctl=${dir}/ovsdb-server.ctl`,
      `--pidfile=${dir}/ovsdb-server.pid`, `--log-file=${dir}/ovsdb-server.log`, ...common]);
    await vsctl('--no-wait', 'init');
    await vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true');
    await startVswitchd();
    await vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
    await vsctl('add-port', 'br0', 'pa');
    await vsctl('add-port', 'br0', 'pb');
    await inSwitch('ip', ['link', 'set', 'br0', 'up']);
  } catch (error) {
    await stop();
    throw error;
  }
  const { stdout: version } = await run('ovs-vswitchd', ['--version']);
  /** Once the process has gone: a pidfile's process that still runs makes a new one refuse. */
  const gone = async (pid: number) => {
    while (!processGone(pid)) await new Promise((r) => setTimeout(r, 2));
  };
  const vswitchd = {
    kill: async () => {
      const pid = pidOf('ovs-vswitchd');
      process.kill(pid, 'SIGKILL');
      await gone(pid);
    },
    exit: async () => {
      const pid = pidOf('ovs-vswitchd');
      await run('ovs-appctl', ['-t', `${dir}/ovs-vswitchd.ctl`, 'exit'], { env });
      await gone(pid);
    },
    start: async () => void (await startVswitchd()),
  };
  return {
    lab, a, b, pid: pidOf('ovs-vswitchd'), stop, vswitchd,
    config: `${version.split('\n')[0].trim()}, datapath_type=netdev, other_config:userspace-tso-enable=true, default veth offloads`,
  };
}

/** This switch; `checkout`: another checkout's (built), to compare a change with the code before it. */
export async function vswitch(args: string[] = [], checkout?: string): Promise<SystemUnderTest> {
  const lab = new Lab();
  const { a, b, sw } = await switched(lab);
  const command = checkout ? path.join(checkout, 'bin', 'vswitch') : undefined;
  const agent = await startAgent(lab, sw, ['--port', 'pa', '--port', 'pb', '--log-level', 'warn', ...args], undefined, command);
  const config = `vswitch agent${checkout ? ` of ${checkout}` : ''}${args.length ? ` ${args.join(' ')}` : ''}, packet-socket ports with vnet headers, 1 datapath worker, 1 simulation thread`;
  return { lab, a, b, pid: agent.pid, agent, config, stop: () => lab.cleanup() };
}
