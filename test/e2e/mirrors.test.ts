// Mirrors end to end: SPAN to a tap on the same host that tcpdump reads, and a copy over the
// overlay to a port bound on another host.
import test from 'ava';
import { capture, eventually, Lab, overlayHosts, ping, startAgent, vmOn } from '../../examples/lab';

test('SPAN: a port mirrored to a tap on the same host; tcpdump on the tap sees every frame of a ping both ways', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const vm1 = await vmOn(lab, sw, 'vm1', 'tap1', '10.0.0.1/24');
  await vmOn(lab, sw, 'vm2', 'tap2', '10.0.0.2/24');
  await lab.ip(sw, 'tuntap', 'add', 'mon0', 'mode', 'tap');
  await lab.ip(sw, 'link', 'set', 'mon0', 'up');
  const agent = await startAgent(lab, sw);
  const api = agent.api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const ports: string[] = [];
  for (const [name, dev] of [['vm1', 'tap1'], ['vm2', 'tap2'], ['monitor', 'mon0']]) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name });
    await api.request('POST', '/v1/bindings', { port: port.id, interface: dev });
    ports.push(port.id);
  }
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)));
  const mirror = await api.request<{ id: string }>('POST', '/v1/mirrors', { name: 'span', port: ports[0], toPort: ports[2], direction: 'both' });

  const seen = capture(lab, sw, 'mon0', 'icmp', { count: 10 });
  await seen.ready;
  t.true(await ping(lab, vm1, '10.0.0.2', 5));
  const lines = await seen.lines;
  t.is(lines.filter((l) => /10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request/.test(l)).length, 5, lines.join('\n'));
  t.is(lines.filter((l) => /10\.0\.0\.2 > 10\.0\.0\.1: ICMP echo reply/.test(l)).length, 5);

  // The mirror gone, its flows go with it: the tap sees nothing more. The monitor is a port of
  // the bridge too, so a flood (a VM's IPv6 or ARP multicast) outputs to it unmirrored: only
  // the ping's flows (ICMP, unicast between known MACs) tell the mirror's copies.
  const monitorPort = (await agent.port('mon0')).number;
  const copies = async () => (await agent.client.request<{ match: string; actions: string }[]>('GET', '/flows'))
    .filter((f) => f.match.includes('nw_proto=1,') && f.actions.split(',').includes(`output:${monitorPort}`));
  t.true((await copies()).length > 0, 'the ping\'s flows copy to the tap');
  await api.request('DELETE', `/v1/mirrors/${mirror.id}`);
  t.true(await eventually(async () => (await copies()).length === 0), `the agent let go of the mirror's flows: ${JSON.stringify(await copies())}`);
  const after = capture(lab, sw, 'mon0', 'icmp', { count: 1, seconds: 3 });
  await after.ready;
  t.true(await ping(lab, vm1, '10.0.0.2', 3));
  t.deepEqual(await after.lines, []);
});

test('a remote mirror: copies of a port on host 1 reach a port bound on host 2, over the overlay', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2']);
  const vm1 = await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.0.1/24');
  await vmOn(lab, hosts[0].ns, 'vm2', 'tap2', '10.0.0.2/24');
  const monitor = await vmOn(lab, hosts[1].ns, 'mon', 'tap3', '10.0.0.99/24');
  const api = agents[0].api;
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net' });
  const ports: string[] = [];
  for (const [i, [name, dev]] of [['vm1', 'tap1'], ['vm2', 'tap2'], ['monitor', 'tap3']].entries()) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name });
    await api.request('POST', '/v1/bindings', { port: port.id, interface: dev, host: ids[i < 2 ? 0 : 1] });
    ports.push(port.id);
  }
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)));
  await api.request('POST', '/v1/mirrors', { name: 'rspan', port: ports[0], toPort: ports[2], direction: 'in' });

  const seen = capture(lab, monitor, 'eth0', 'icmp', { count: 5 });
  await seen.ready;
  // The mirror reaches host 1 through etcd's watch: ping until the copies come.
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.2', 1)));
  t.true(await ping(lab, vm1, '10.0.0.2', 5));
  const lines = await seen.lines;
  t.true(lines.length === 5 && lines.every((l) => /10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo request/.test(l)), lines.join('\n'));
  t.false(lines.some((l) => /echo reply/.test(l)), 'direction in: what vm1 sends, not what it gets');
  const stats = await agents[1].stats();
  t.true(stats.tunnel!.rxPackets >= 5, 'they came through the tunnel');
});
