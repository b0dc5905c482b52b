// `npm run bench -- overlay`: two VMs on one network across two hosts, through the Linux
// kernel's VXLAN and bridge (a vxlan device and a bridge on each host), and through this
// switch (two agents, one etcd; as they start by default, and with busy polling; with
// --baseline, another checkout's), in the same underlay; all are built side by side and
// measured in alternating rounds.
import path from 'node:path';
import { Lab, overlayHosts, ping, RunningAgent, underlay, vmOn } from '../examples/lab';
import type { L2Options } from './l2';
import { pathFigures, pingRtt } from './measure';
import { compare, inRounds, ratios, sideBySide, summarize, switchBuilds } from './rounds';

const VM2 = '10.0.0.2';
const VNI = '42';

interface Overlay {
  lab: Lab;
  vm1: string;
  vm2: string;
  agents: RunningAgent[];
  config: string;
}

async function kernelVxlan(): Promise<Overlay> {
  const lab = new Lab();
  const { hosts } = await underlay(lab, ['host1', 'host2']);
  const vms: string[] = [];
  for (const [i, h] of hosts.entries()) {
    const other = hosts[1 - i].address;
    await lab.ip(h.ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', VNI, 'remote', other, 'local', h.address, 'dstport', '4789', 'dev', 'ul0');
    await lab.ip(h.ns, 'link', 'add', 'br0', 'type', 'bridge');
    vms.push(await vmOn(lab, h.ns, `vm${i + 1}`, 'tap', `10.0.0.${i + 1}/24`));
    for (const dev of ['vx0', 'tap']) await lab.ip(h.ns, 'link', 'set', dev, 'master', 'br0');
    for (const dev of ['vx0', 'br0']) await lab.ip(h.ns, 'link', 'set', dev, 'up');
  }
  return { lab, vm1: vms[0], vm2: vms[1], agents: [], config: 'Linux vxlan device (remote, dstport 4789) and bridge on each host, underlay MTU 1600' };
}

async function vswitchOverlay(args: string[], checkout?: string): Promise<Overlay> {
  const lab = new Lab();
  const command = checkout ? path.join(checkout, 'bin', 'vswitch') : undefined;
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2'], ['--log-level', 'warn', ...args], { command });
  const vms = [await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.0.1/24'), await vmOn(lab, hosts[1].ns, 'vm2', 'tap2', '10.0.0.2/24')];
  const bridge = await agents[0].api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  for (const i of [0, 1]) {
    const port = await agents[0].api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: `vm${i + 1}` });
    await agents[0].api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${i + 1}`, host: ids[i] });
  }
  return {
    lab, vm1: vms[0], vm2: vms[1], agents,
    config: `two vswitch agents${checkout ? ` of ${checkout}` : ''}${args.length ? ` ${args.join(' ')}` : ''} (etcd on the underlay), VXLAN over their UDP sockets, packet-socket ports with vnet headers, underlay MTU 1600`,
  };
}

export async function overlay(options: L2Options): Promise<object> {
  const builds: [string, () => Promise<Overlay>][] = [
    ['kernel-vxlan', kernelVxlan],
    ...switchBuilds(vswitchOverlay, options),
  ];
  const ready = async (name: string, sut: Overlay) => {
    for (let tries = 0; !(await ping(sut.lab, sut.vm1, VM2, 1)); tries++) if (tries > 20) throw new Error(`${name}: vm1 cannot reach vm2`);
    await pingRtt(sut.lab, sut.vm1, VM2, 20);
  };
  return sideBySide(builds, { ready, stop: (sut) => sut.lab.cleanup(), log: options.log }, async (suts) => {
    const runs = await inRounds(suts, options.rounds, (_name, sut) => pathFigures(sut.lab, sut.vm1, sut.vm2, VM2, options.seconds, sut.agents.map((a) => a.pid), sut.agents), options.log);
    const systems = Object.fromEntries(suts.map(([name, sut]) => [name, { ...summarize(runs.get(name)!), config: sut.config }]));
    const [v, busy, k] = ['vswitch', 'vswitch-busy-poll', 'kernel-vxlan'].map((name) => runs.get(name)!);
    return {
      bench: 'overlay', seconds_per_test: options.seconds, rounds: options.rounds, systems,
      ...ratios({
        ...compare(v, k, 'kernel_vxlan', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99']),
        ...compare(busy, k, 'kernel_vxlan', ['tcp', 'pps', 'rtt_p99', 'rtt_sparse_p99'], '_busy_poll'),
        ...(options.baseline ? compare(v, runs.get('vswitch-baseline')!, 'baseline', ['tcp', 'pps', 'rtt_avg', 'rtt_p99', 'rtt_sparse_p99']) : {}),
      }),
    };
  });
}
