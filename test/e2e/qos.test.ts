// QoS on VM stand-ins in namespaces: a port limited to 100 Mbit/s each way carries TCP at no
// more than that (how close it gets is npm run bench -- qos), and a VM that sprays new flows
// at 100,000 a second, limited to 1,000, leaves its neighbours' connections alone while its
// excess is counted.
import test from 'ava';
import { eventually, floodNewFlows, iperfTcp, Lab, macOf, ping, startAgent, tenantBridge, vmStandIns } from '../../examples/lab';

/** vm1, vm2, vm3 on one tenant bridge; vm1's port has `qos`. */
async function threeVms(lab: Lab, qos: Record<string, number>) {
  const sw = await lab.namespace('sw');
  const vms = await vmStandIns(lab, sw, 3);
  const agent = await startAgent(lab, sw);
  const { api, bridge } = await tenantBridge(agent.api, 'acme');
  const ports: string[] = [];
  for (const n of [1, 2, 3]) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge, name: `vm${n}`, ...(n === 1 ? { qos } : {}) });
    await agent.api.request('POST', '/v1/bindings', { port: port.id, interface: `t${n}` });
    ports.push(port.id);
  }
  return { vms, agent, api, ports };
}

test('a port limited to 100 Mbit/s each way: TCP from and to its VM measures 90 to 105 Mbit/s', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { vms: [vm1, vm2], api, ports } = await threeVms(lab, { sendKbps: 100_000, receiveKbps: 100_000 });
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.12', 1)));
  // 5 s: the bucket's burst (100 ms at the rate) adds 2 % on top of the limit.
  const sent = await iperfTcp(lab, vm2, vm1, '10.0.0.12', 5);
  const received = await iperfTcp(lab, vm1, vm2, '10.0.0.11', 5);
  t.log(`vm1 sends ${(sent / 1e6).toFixed(1)} Mbit/s, receives ${(received / 1e6).toFixed(1)} Mbit/s`);
  for (const [what, rate] of [['sent', sent], ['received', received]] as const) {
    t.true(rate >= 90e6 && rate <= 105e6, `${what}: ${(rate / 1e6).toFixed(1)} Mbit/s`);
  }
  // Lifted: the same stream goes faster than the limit was.
  await api.request('PATCH', `/v1/ports/${ports[0]}`, { qos: {} });
  t.true(await eventually(async () => (await iperfTcp(lab, vm2, vm1, '10.0.0.12', 1)) > 200e6), 'without the limit it is faster');
});

test('a VM spraying 100,000 new flows a second, limited to 1,000: another VM still pings and connects, and the excess is counted', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { vms: [vm1, vm2, vm3], agent } = await threeVms(lab, { newFlowsPerSecond: 1000 });
  t.true(await eventually(() => ping(lab, vm2, '10.0.0.13', 1)));
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.13', 1)), 'vm1 learned vm3');
  const [mac1, mac3] = [await macOf(lab, vm1), await macOf(lab, vm3)];
  const listener = lab.spawn(vm3, 'python3', ['-c', 'import socket\ns = socket.create_server(("10.0.0.13", 7000))\nwhile True: s.accept()[0].close()']);
  t.teardown(() => void listener.kill());
  const flood = floodNewFlows(lab, vm1, 'eth0', { mac: mac1, ip: '10.0.0.11' }, { mac: mac3, ip: '10.0.0.13' }, 100_000, 6);
  t.true(await eventually(async () => ((await agent.port('t1')).drops.newFlowLimited ?? 0) > 1000), 'the flood is under way, and limited');
  t.true(await ping(lab, vm2, '10.0.0.13', 3), 'vm2 pings vm3 through the flood');
  const connect = 'import socket\nfor attempt in range(50):\n    try:\n        socket.create_connection(("10.0.0.13", 7000), timeout=1).close(); break\n    except OSError: pass\nelse: raise SystemExit("no connection")';
  await t.notThrowsAsync(lab.exec(vm2, 'python3', ['-c', connect]), 'vm2 opens a new TCP connection to vm3 through the flood');
  const offered = await flood;
  const drops = (await agent.port('t1')).drops.newFlowLimited ?? 0;
  t.log(`vm1 offered ${Math.round(offered.sent / offered.seconds)} new flows/s; ${drops} dropped at its port`);
  t.true(drops > offered.sent / 2, 'most of the flood was dropped at vm1\'s port');
  t.deepEqual((await agent.port('t2')).drops, {}, 'nothing of vm2\'s was dropped');
});
