// Two hosts, each an agent in its own namespace on a shared underlay and etcd, and a virtual
// bridge with a VM on each: frames cross in VXLAN, simulated once at the ingress host; the
// egress host delivers them by key without simulating.
import test from 'ava';
import { eventually, iperf, iperfTcp, knowsMacs, Lab, macOf, overlayHosts, ping, startAgent, underlay, vmOn } from '../../examples/lab';

test('a bridge across two hosts: ping and TCP over VXLAN, the egress host does not simulate', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { core, hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2']);
  const vm1 = await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.0.1/24');
  const vm2 = await vmOn(lab, hosts[1].ns, 'vm2', 'tap2', '10.0.0.2/24');

  const api = agents[0].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  for (const [i, tap] of ['tap1', 'tap2'].entries()) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: `vm${i + 1}` });
    await api.request('POST', '/v1/bindings', { port: port.id, interface: tap, host: ids[i] });
  }
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)), 'ping across hosts');
  const bps = await iperfTcp(lab, vm2, vm1, '10.0.0.2', 3);
  t.log(`TCP across hosts: ${(bps / 1e9).toFixed(2)} Gbit/s`);
  t.true(bps > 100e6);

  const before = await agents[1].stats();
  await iperf(lab, vm2, vm1, '10.0.0.2', ['-u', '-b', '20M', '-l', '200', '-t', '2'], 2);
  const after = await agents[1].stats();
  const delivered = after.tunnel!.rxPackets - before.tunnel!.rxPackets;
  const upcalls = after.flows.upcalls - before.flows.upcalls;
  t.log(`host 2: ${delivered} datagrams from the tunnel, ${upcalls} upcalls`);
  t.true(delivered > 10_000, 'host 2 received the stream from the tunnel');
  t.true(upcalls < 50, 'and simulated none of it (its few upcalls are its own replies)');

  // A VXLAN datagram from the core, which is no registered host, carrying a frame for vm2's key.
  const key = (await api.request<{ name: string; tunnelKey: number }[]>('GET', '/v1/ports')).find((p) => p.name === 'vm2')!.tunnelKey;
  const forged = `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(bytes([8, 0, 0, 0]) + (${key} << 8).to_bytes(4, 'big') + bytes(60), ('${hosts[1].address}', 4789))`;
  const dropsBefore = (await agents[1].stats()).drops.unknownTunnelPeer;
  await lab.exec(core, 'python3', ['-c', forged]);
  t.true(await eventually(async () => (await agents[1].stats()).drops.unknownTunnelPeer === dropsBefore + 1), 'dropped and counted');
});

test('three hosts: one bridge across two of them, and a router to the third; neighbors resolved on one host are known on the others', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2', 'host3']);
  const vms = [
    await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.1.5/24'),
    await vmOn(lab, hosts[1].ns, 'vm2', 'tap2', '10.0.1.6/24'),
    await vmOn(lab, hosts[2].ns, 'vm3', 'tap3', '10.0.2.7/24'),
  ];
  for (const [i, vm] of vms.entries()) await lab.ip(vm, 'route', 'add', 'default', 'via', i < 2 ? '10.0.1.1' : '10.0.2.1');

  const api = agents[0].api;
  const router = await api.request<{ id: string }>('POST', '/v1/routers', { name: 'r' });
  const nets: string[] = [];
  for (const i of [1, 2]) {
    const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: `net${i}` });
    const gateway = await api.request<{ id: string }>('POST', '/v1/ports', { device: router.id, addresses: [`10.0.${i}.1/24`] });
    await api.request('POST', '/v1/ports', { device: bridge.id, peer: gateway.id });
    nets.push(bridge.id);
  }
  for (const [i, net] of [nets[0], nets[0], nets[1]].entries()) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: net, name: `vm${i + 1}` });
    await api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${i + 1}`, host: ids[i] });
  }
  t.true(await eventually(() => ping(lab, vms[0], '10.0.1.6', 1)), 'one bridge across host 1 and host 2');
  t.true(await eventually(() => ping(lab, vms[0], '10.0.2.7', 1)), 'across the router to host 3');
  t.true(await ping(lab, vms[2], '10.0.1.6', 3), 'and from host 3 back to host 2');
  for (const [server, address, what] of [[vms[1], '10.0.1.6', 'bridged'], [vms[2], '10.0.2.7', 'routed']] as const) {
    const bps = await iperfTcp(lab, server, vms[0], address, 3);
    t.log(`${what} TCP across hosts: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    t.true(bps > 100e6);
  }
});

test('stations learned on one host are known on the others: unicast crosses the overlay without flooding', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2', 'host3']);
  const vms: string[] = [];
  for (const i of [0, 1, 2]) vms.push(await vmOn(lab, hosts[i].ns, `vm${i + 1}`, `tap${i + 1}`, `10.0.0.${i + 1}/24`));
  const api = agents[0].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  for (const i of [0, 1, 2]) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: `vm${i + 1}` });
    await api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${i + 1}`, host: ids[i] });
  }
  t.true(await eventually(() => ping(lab, vms[0], '10.0.0.2', 1)));
  t.true(await ping(lab, vms[2], '10.0.0.1', 1));
  t.true(await ping(lab, vms[2], '10.0.0.2', 1));
  const pair = [await macOf(lab, vms[0]), await macOf(lab, vms[1])];
  t.true(await eventually(async () => (await knowsMacs(agents[0], pair)) && (await knowsMacs(agents[1], pair))), 'the stations reached hosts 1 and 2 through etcd');

  const before = (await agents[2].stats()).tunnel!.rxPackets;
  await iperf(lab, vms[1], vms[0], '10.0.0.2', ['-u', '-b', '10M', '-l', '200', '-t', '2'], 2);
  t.true(await ping(lab, vms[0], '10.0.0.2', 5), 'unicast between host 1 and host 2 goes on');
  const reached = (await agents[2].stats()).tunnel!.rxPackets - before;
  t.log(`host 3 got ${reached} datagrams while hosts 1 and 2 exchanged ~12,000`);
  t.true(reached < 20, 'nothing of it was flooded to host 3');
});

test('a Linux kernel VXLAN device as a VTEP of a virtual bridge: a legacy server reaches a VM, by ping and TCP', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts } = await underlay(lab, ['host1', 'legacy']);
  const [host, legacy] = hosts;
  const agent = await startAgent(lab, host.ns, ['--underlay', host.address]);
  const vm = await vmOn(lab, host.ns, 'vm1', 'tap1', '10.0.0.1/24');
  await lab.ip(legacy.ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '4242', 'remote', host.address, 'local', legacy.address, 'dstport', '4789', 'dev', 'ul0');
  await lab.ip(legacy.ns, 'addr', 'add', '10.0.0.9/24', 'dev', 'vx0');
  await lab.ip(legacy.ns, 'link', 'set', 'vx0', 'up');

  const bridge = await agent.api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const vmPort = await agent.api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'vm1' });
  await agent.api.request('POST', '/v1/bindings', { port: vmPort.id, interface: 'tap1' });
  const gateway = await agent.api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'legacy' });
  await agent.api.request('POST', '/v1/bindings', { port: gateway.id, vtepAddress: legacy.address, vni: 4242 });

  t.true(await eventually(() => ping(lab, vm, '10.0.0.9', 1)), 'the VM pings the server behind the kernel VXLAN device');
  t.true(await ping(lab, legacy.ns, '10.0.0.1', 3), 'and the server pings the VM');
  // TCP both ways: the VM's super-frames reach the kernel's VXLAN socket as runs of datagrams
  // (UDP GSO), which it must take apart; the server's segments come in one by one.
  for (const [server, client, address] of [[legacy.ns, vm, '10.0.0.9'], [vm, legacy.ns, '10.0.0.1']]) {
    const bps = await iperfTcp(lab, server, client, address, 2);
    t.log(`TCP to ${address}: ${(bps / 1e9).toFixed(2)} Gbit/s`);
    t.true(bps > 100e6);
  }
  const bad = await agent.api.request('POST', '/v1/bindings', { port: vmPort.id, vtepAddress: 'x', vni: 1 }).catch((e: { status: number }) => e.status);
  t.is(bad, 400);
});
