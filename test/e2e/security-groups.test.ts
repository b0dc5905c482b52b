// Security groups with connection tracking, on VM stand-ins in namespaces on one tenant
// bridge: vm2's group lets in SSH (tcp/22) and ICMP only, vm1's group nothing (both let
// everything out). Replies of allowed connections come back in; a rule taken away while a
// connection is open stops new connections only; a full connection table refuses new
// connections, counted, while established ones go on.
import test from 'ava';
import { Lab, overlayHosts, ping, startAgent, tenantBridge, vmOn, vmStandIns, eventually } from '../../examples/lab';
import { CONNECT, ECHO_SERVER, heldConnection, udpAnswer } from '../helpers/connections';

async function twoVms(lab: Lab, agentArgs: string[] = []) {
  const sw = await lab.namespace('sw');
  const vms = await vmStandIns(lab, sw, 2);
  const agent = await startAgent(lab, sw, agentArgs);
  const { api, bridge } = await tenantBridge(agent.api, 'acme');
  const closed = await api.request<{ id: string; rules: unknown[] }>('POST', '/v1/security-groups', { name: 'closed' });
  const ssh = await api.request<{ id: string; version: number }>('POST', '/v1/security-groups', {
    name: 'ssh',
    rules: [
      { direction: 'egress', ethertype: 'IPv4' },
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 22, portMax: 22 },
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' },
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'udp', portMin: 9999 },
    ],
  });
  for (const [n, group] of [[1, closed.id], [2, ssh.id]] as const) {
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge, name: `vm${n}`, securityGroups: [group] });
    await agent.api.request('POST', '/v1/bindings', { port: port.id, interface: `t${n}` });
  }
  const server = lab.spawn(vms[1], 'python3', ['-c', ECHO_SERVER, '22', '8080', '5353']);
  const connects = (port: number) => lab.exec(vms[0], 'python3', ['-c', CONNECT, '10.0.0.12', String(port)], 20_000).then(() => true, () => false);
  return { vms, agent, api, closed, ssh, server, connects };
}

test('a group that lets in SSH and ICMP: tcp/22 connects, other TCP does not; outbound connections and their replies work, unasked inbound does not', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { vms: [vm1, vm2], agent, connects } = await twoVms(lab);
  t.is((await agent.api.request<{ rules: unknown[] }[]>('GET', '/v1/security-groups')).find((g) => (g as unknown as { name: string }).name === 'closed')?.rules.length, 2, 'a new group lets everything out, IPv4 and IPv6');
  t.true(await eventually(() => connects(22)), 'vm1 connects to vm2\'s SSH, and the replies come back to vm1');
  t.true(await ping(lab, vm1, '10.0.0.12', 2), 'ping vm1 -> vm2: ICMP in to vm2, the replies back in to vm1');
  t.false(await connects(8080), 'tcp/8080 is not let in');
  t.false(await ping(lab, vm2, '10.0.0.11', 2), 'vm1 lets nothing in that it did not ask for');
  // UDP to a port of vm2's where nothing listens: vm2's port unreachable is let in to vm1, as an
  // ICMP error about vm1's connection (RELATED), though vm1 lets no ICMP in.
  t.true(await eventually(async () => (await udpAnswer(lab, vm1, '10.0.0.12', 9999)) === 'refused'), 'the ICMP error about it comes back');
  const drops = (await agent.port('t1')).drops.securityGroup ?? 0;
  t.true(((await agent.port('t2')).drops.securityGroup ?? 0) > 0 && drops > 0, 'the refused frames are counted on the sender\'s port');
  const trace = await agent.api.request<{ steps: string[] }>('POST', '/v1/trace', {
    port: (await agent.api.request<{ id: string; name: string }[]>('GET', '/v1/ports')).find((p) => p.name === 'vm1')!.id,
    flow: 'tcp,nw_src=10.0.0.11,nw_dst=10.0.0.12,tp_dst=8080',
  });
  const steps = trace.steps.join('\n');
  t.regex(steps, /port vm1, from its VM: security group closed rule 1 \(IPv4 any\), conntrack NEW: accept/, 'the trace names the group and rule that let it out');
  t.regex(steps, /drop \(securityGroup\): port vm2, to its VM: security groups rule 6 \(no ingress rule of ssh allows it\), conntrack NEW/, 'and the groups that kept it out, with the conntrack state seen');
});

test('a rule taken away while a connection is open stops new connections only', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { vms: [vm1], api, ssh, connects } = await twoVms(lab);
  t.true(await eventually(() => connects(22)));
  const held = heldConnection(lab, vm1, '10.0.0.12', 22);
  t.true(await held.echoed(0), 'a connection is open');
  await api.request('PATCH', `/v1/security-groups/${ssh.id}`, { rules: [{ direction: 'egress', ethertype: 'IPv4' }, { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' }] });
  t.true(await eventually(async () => !(await connects(22))), 'new connections to tcp/22 are refused');
  held.next();
  t.true(await held.echoed(1), 'the open connection goes on');
  held.end();
});

test('a full connection table refuses new connections and counts them; established ones keep flowing', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { vms: [vm1], agent, api, ssh, connects } = await twoVms(lab, ['--conntrack-size', '8']);
  t.true(await eventually(() => connects(22)));
  const held = heldConnection(lab, vm1, '10.0.0.12', 22);
  t.true(await held.echoed(0), 'a connection is open');
  // vm2 lets UDP in; vm1 sends from 40 source ports: 40 connections for 8 slots.
  await api.request('PATCH', `/v1/security-groups/${ssh.id}`, { rules: [{ direction: 'egress', ethertype: 'IPv4' }, { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 22 }, { direction: 'ingress', ethertype: 'IPv4', protocol: 'udp' }] });
  const spray = 'import socket\nfor p in range(41000, 41040):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.bind(("10.0.0.11", p))\n    s.sendto(b"z", ("10.0.0.12", 5353))';
  await lab.exec(vm1, 'python3', ['-c', spray]);
  t.true(await eventually(async () => ((await agent.port('t1')).drops.conntrackFull ?? 0) > 0), `new connections are refused and counted: ${JSON.stringify((await agent.port('t1')).drops)}`);
  held.next();
  t.true(await held.echoed(1), 'the established connection goes on');
  held.end();
});

test('two hosts behind a router: the reply enters at the other host and is known there as a reply', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2']);
  const vm1 = await vmOn(lab, hosts[0].ns, 'vm1', 'tap1', '10.0.1.5/24');
  const vm2 = await vmOn(lab, hosts[1].ns, 'vm2', 'tap2', '10.0.2.6/24');
  await lab.ip(vm1, 'route', 'add', 'default', 'via', '10.0.1.1');
  await lab.ip(vm2, 'route', 'add', 'default', 'via', '10.0.2.1');
  const api = agents[0].api;
  const closed = await api.request<{ id: string }>('POST', '/v1/security-groups', { name: 'closed' });
  const ssh = await api.request<{ id: string }>('POST', '/v1/security-groups', {
    name: 'ssh', rules: [{ direction: 'egress', ethertype: 'IPv4' }, { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 22 }, { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' }],
  });
  const router = await api.request<{ id: string }>('POST', '/v1/routers', { name: 'r' });
  for (const [i, group] of [closed.id, ssh.id].entries()) {
    const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: `net${i + 1}` });
    const gateway = await api.request<{ id: string }>('POST', '/v1/ports', { device: router.id, addresses: [`10.0.${i + 1}.1/24`] });
    await api.request('POST', '/v1/ports', { device: bridge.id, peer: gateway.id });
    const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: `vm${i + 1}`, securityGroups: [group] });
    await api.request('POST', '/v1/bindings', { port: port.id, interface: `tap${i + 1}`, host: ids[i] });
  }
  lab.spawn(vm2, 'python3', ['-c', ECHO_SERVER, '22', '8080']);
  const connects = (port: number) => lab.exec(vm1, 'python3', ['-c', CONNECT, '10.0.2.6', String(port)], 20_000).then(() => true, () => false);
  t.true(await eventually(() => connects(22)), 'vm1 on host 1 connects to vm2 on host 2: the replies, simulated on host 2, pass vm1\'s group');
  t.true(await ping(lab, vm1, '10.0.2.6', 2), 'and pings it');
  t.false(await connects(8080), 'tcp/8080 is not let in');
  t.false(await ping(lab, vm2, '10.0.1.5', 2), 'vm2 cannot reach into vm1 unasked');
  t.is((await agents[1].stats()).drops.malformed, 0, 'host 2 took every flow state host 1 sent');
});
