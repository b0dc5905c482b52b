// `npm run demo -- multihost`: three hosts, each a namespace with its own agent, on an underlay
// (a Linux bridge in a `core` namespace, where a 3-member etcd cluster runs), and a VM
// stand-in on each host. One tenant's network spans them: a bridge with VM 1 and VM 2, and a
// router to a second subnet with VM 3. Cross-host ping and TCP, what each host's tunnel
// carried, then an etcd member killed: the network still changes. All cleaned up.
import { ControlClient } from '../src/cli/client';
import { eventually, iperfTcp, Lab, overlayHosts, ping, UNDERLAY, vmOn } from './lab';

export async function multihostDemo(): Promise<void> {
  const lab = new Lab();
  const step = (text: string) => process.stdout.write(`\n== ${text}\n`);
  try {
    step(`underlay ${UNDERLAY}.0/24: ${lab.id}-core (a Linux bridge, a 3-member etcd cluster on ${UNDERLAY}.201-203) and hosts host1..host3`);
    const { hosts, agents, ids, etcd } = await overlayHosts(lab, ['host1', 'host2', 'host3'], ['--log-level', 'warn'], { etcdMembers: 3 });
    for (const h of hosts) console.log(`vswitch agent on ${h.ns.slice(lab.id.length + 1)} (${h.address}), topology in etcd`);
    const vms = [
      await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.1.11/24'),
      await vmOn(lab, hosts[1].ns, 'vm2', 'tap2', '10.0.1.12/24'),
      await vmOn(lab, hosts[2].ns, 'vm3', 'tap3', '10.0.2.13/24'),
    ];
    await lab.ip(vms[0], 'route', 'add', 'default', 'via', '10.0.1.1');
    await lab.ip(vms[1], 'route', 'add', 'default', 'via', '10.0.1.1');
    await lab.ip(vms[2], 'route', 'add', 'default', 'via', '10.0.2.1');

    step('the tenant network, through host 1\'s API: net1 (vm1 on host1, vm2 on host2), net2 (vm3 on host3), a router');
    const tenant = await agents[0].api.request<{ token: string }>('POST', '/v1/tenants', { name: 'acme' });
    const api = new ControlClient(agents[0].api.address, tenant.token);
    const router = await api.request<{ id: string }>('POST', '/v1/routers', { name: 'r' });
    const nets: string[] = [];
    for (const [i, gateway] of ['10.0.1.1/24', '10.0.2.1/24'].entries()) {
      const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: `net${i + 1}` });
      const routerPort = await api.request<{ id: string }>('POST', '/v1/ports', { device: router.id, addresses: [gateway] });
      await api.request('POST', '/v1/ports', { device: bridge.id, peer: routerPort.id });
      nets.push(bridge.id);
    }
    for (const [i, net] of [nets[0], nets[0], nets[1]].entries()) {
      const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: net, name: `vm${i + 1}` });
      await agents[0].api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${i + 1}`, host: ids[i] }); // the operator binds
    }

    for (const [from, to, what] of [[0, '10.0.1.12', 'vm1 -> vm2, one bridge across host1 and host2'], [0, '10.0.2.13', 'vm1 -> vm3, across the router to host3']] as const) {
      step(`ping ${what}`);
      await ping(lab, vms[from], to, 1);
      const { stdout } = await lab.exec(vms[from], 'ping', ['-c', '5', '-i', '0.2', to]);
      console.log(stdout.trim().split('\n').slice(-2).join('\n'));
    }
    step('iperf3 TCP, 5 s, vm1 -> vm3 (VXLAN between host1 and host3)');
    console.log(`${((await iperfTcp(lab, vms[2], vms[0], '10.0.2.13', 5)) / 1e9).toFixed(2)} Gbit/s received`);

    step('what each host\'s tunnel carried (datagrams), and its slow path');
    for (const [i, a] of agents.entries()) {
      const s = await a.stats();
      console.log(`host${i + 1}: tunnel rx ${s.tunnel!.rxPackets}, tx ${s.tunnel!.txPackets}; upcalls ${s.flows.upcalls}`);
    }
    const listed = await agents[0].api.request<{ name: string; underlayAddress: string; alive: boolean }[]>('GET', '/v1/hosts');
    console.log(listed.map((h) => `host at ${h.underlayAddress}: ${h.alive ? 'alive' : 'down'}`).join('\n'));

    step('etcd member 1 killed: the other two keep a quorum, and the network still changes');
    etcd!.kill(0);
    const made = await eventually(async () => (await api.request('POST', '/v1/bridges', { name: 'net3' }).then(() => true, () => false)));
    console.log(made ? 'bridge net3 made through host 1\'s API with a member down' : 'bridge net3 could not be made');
    await ping(lab, vms[0], '10.0.2.13', 1);
    const { stdout } = await lab.exec(vms[0], 'ping', ['-c', '3', '-i', '0.2', '10.0.2.13']);
    console.log(stdout.trim().split('\n').slice(-2).join('\n'));
  } finally {
    step('cleaning up');
    await lab.cleanup();
    console.log('namespaces, processes, etcd and the agents\' state removed');
  }
}
