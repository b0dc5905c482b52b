// Floating IPs end to end: an outside namespace on an external network reaches a VM by its
// floating IP with ping and TCP, and the VM sees the outside's real address; the outside's
// kernel counts no checksum errors; the floating IP moved to another VM answers from there,
// and how long that took from the API's answer is measured. Built with the CLI.
import test from 'ava';
import { eventually, Lab, overlayHosts, ping, routedHost, startAgent } from '../../examples/lab';
import { cliFor } from '../helpers/cli-network';
import { udpAnswer } from '../helpers/connections';

/** Answers each connection with its name and the address it came from, then closes. */
const WHO = `
import socket, sys
s = socket.create_server(('0.0.0.0', 8080))
while True:
    c, peer = s.accept()
    c.sendall(f'{sys.argv[1]} {peer[0]}'.encode())
    c.close()`;
/** Connects to ADDRESS:8080 again and again (50 ms each at most), printing when (ms since the
 *  epoch) and what each answer said. */
const ASK = `
import socket, sys, time
while True:
    try:
        c = socket.create_connection((sys.argv[1], 8080), timeout=0.05)
        said = c.recv(100).decode()
        c.close()
        print(int(time.time() * 1000), said, flush=True)
    except OSError:
        pass`;

test('the outside reaches a VM by its floating IP (ping, TCP, its real address seen), checksums right; moved, it answers from the other VM', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const outside = await lab.namespace('out');
  await lab.veth(outside, 'eth0', sw, 'up0');
  await lab.ip(outside, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth0');
  const vm1 = await routedHost(lab, sw, 'vm1', 't1', '10.0.1.5');
  const vm2 = await routedHost(lab, sw, 'vm2', 't2', '10.0.1.6');
  const agent = await startAgent(lab, sw);
  // The operator's external network, on the interface to the outside; a tenant's router with
  // its gateway there, and two VMs behind it: all with the CLI.
  const { cli, admin } = cliFor(lab, sw, agent);
  await cli(admin, 'bridge', 'create', 'public', '--external');
  await cli(admin, 'subnet', 'add', 'public', '203.0.113.0/24', '--gateway', '203.0.113.1', '--no-dhcp');
  await cli(admin, 'port', 'create', 'public', '--name', 'uplink', '--no-port-security');
  await cli(admin, 'port', 'bind', 'uplink', 'up0');
  const token = /token: (\S+)/.exec(await cli(admin, 'tenant', 'create', 'acme'))![1];
  await cli(token, 'router', 'create', 'r');
  t.regex(await cli(token, 'router', 'set', 'r', '--gateway', 'public'), /gateway on /);
  await cli(token, 'bridge', 'create', 'net1');
  await cli(token, 'port', 'create', 'r', '--name', 'r-net1', '--address', '10.0.1.1/24');
  await cli(token, 'port', 'create', 'net1', '--name', 'net1-up', '--peer', 'r-net1');
  for (const [n, address] of [[1, '10.0.1.5'], [2, '10.0.1.6']] as const) {
    await cli(token, 'port', 'create', 'net1', '--name', `vm${n}`, '--address', address);
    await cli(admin, 'port', 'bind', `vm${n}`, `t${n}`);
  }
  const fip = { address: /floating IP (\S+)/.exec(await cli(token, 'floating-ip', 'create', '--network', 'public', '--port', 'vm1'))![1] };
  t.is(fip.address, '203.0.113.3', 'after .1 (the outside) and .2 (the router\'s gateway)');
  const show = await cli(token, 'show');
  t.regex(show, /external network public \(/);
  t.regex(show, /router r \(\S+\): gateway on public 203\.0\.113\.2\/24/);
  t.regex(show, /port vm1 \(\w+\): 10\.0\.1\.5, .*floating IP 203\.0\.113\.3/);

  lab.spawn(vm1, 'python3', ['-c', WHO, 'vm1']);
  lab.spawn(vm2, 'python3', ['-c', WHO, 'vm2']);
  t.true(await eventually(() => ping(lab, outside, fip.address, 1)), 'ping by the floating IP');
  const ask = async () => (await lab.exec(outside, 'python3', ['-c', `import socket\nc = socket.create_connection(("${fip.address}", 8080), timeout=2)\nprint(c.recv(100).decode())`])).stdout.trim();
  t.true(await eventually(async () => (await ask().catch(() => '')) !== ''), 'TCP by the floating IP');
  t.is(await ask(), 'vm1 203.0.113.1', 'vm1 answers, and sees the outside\'s own address');
  // ICMP errors about translated packets reach the sockets that sent them, both ways: the
  // packet each quotes is translated too.
  t.is(await udpAnswer(lab, vm1, '203.0.113.1', 9999), 'refused', 'the outside\'s port unreachable, quoting what left from the floating IP, reaches vm1');
  t.is(await udpAnswer(lab, outside, fip.address, 9999), 'refused', 'vm1\'s port unreachable, quoting what came to its own address, reaches the outside');
  const snmp = (await lab.exec(outside, 'cat', ['/proc/net/snmp'])).stdout.split('\n');
  for (const proto of ['Ip', 'Icmp', 'Tcp', 'Udp']) {
    const [names, values] = snmp.filter((l) => l.startsWith(`${proto}:`)).map((l) => l.split(/\s+/).slice(1));
    const at = names.indexOf('InCsumErrors');
    if (at >= 0) t.is(values[at], '0', `the outside's kernel: ${proto} InCsumErrors`);
  }

  // Moved to vm2: the outside's next connections reach vm2.
  const asking = lab.spawn(outside, 'python3', ['-c', ASK, fip.address]);
  let answers = '';
  asking.stdout!.on('data', (d: Buffer) => (answers += d.toString()));
  t.true(await eventually(async () => answers.includes('vm1')), 'the outside is asking vm1');
  // Through the API itself, so that its answer's time is known (`floating-ip set` does the same).
  const [moving] = await agent.api.request<{ id: string }[]>('GET', '/v1/floating-ips');
  const vm2Port = (await agent.api.request<{ id: string; name: string }[]>('GET', '/v1/ports')).find((p) => p.name === 'vm2')!;
  await agent.api.request('PATCH', `/v1/floating-ips/${moving.id}`, { port: vm2Port.id });
  const answered = Date.now();
  t.true(await eventually(async () => /^\d+ vm2 /m.test(answers)), 'vm2 answers at the floating IP');
  const first = Number(/^(\d+) vm2 /m.exec(answers)![1]);
  t.log(`the floating IP answered from vm2 ${first - answered} ms after the API's answer (target 100 ms)`);
  t.true(await ping(lab, outside, fip.address, 1), 'and pings too');
  t.regex(await cli(token, 'floating-ip', 'set', fip.address, '--port', 'vm1'), /floating IP 203\.0\.113\.3 \(\S+\) -> port /, 'and back, with the CLI');
  t.true(await eventually(async () => /^\d+ vm1 /m.test(answers.slice(answers.lastIndexOf('vm2')))), 'vm1 answers again');
});

test('across hosts: the uplink bound on the gateway host, the VM on another; in by the floating IP, back from it', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['gw', 'host2']);
  const outside = await lab.namespace('out');
  await lab.veth(outside, 'eth0', hosts[0].ns, 'up0');
  await lab.ip(outside, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth0');
  const vm = await routedHost(lab, hosts[1].ns, 'vm1', 't1', '10.0.1.5');
  const api = agents[0].api;
  const ext = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'public', external: true, subnets: [{ cidr: '203.0.113.0/24', gateway: '203.0.113.1', dhcp: false }] });
  const uplink = await api.request<{ id: string }>('POST', '/v1/ports', { device: ext.id, name: 'uplink', portSecurity: false });
  await api.request('POST', '/v1/bindings', { port: uplink.id, interface: 'up0', host: ids[0] });
  const router = await api.request<{ id: string }>('POST', '/v1/routers', { name: 'r', externalNetwork: ext.id });
  const net = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net1' });
  const inside = await api.request<{ id: string }>('POST', '/v1/ports', { device: router.id, addresses: ['10.0.1.1/24'] });
  await api.request('POST', '/v1/ports', { device: net.id, peer: inside.id });
  const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: net.id, name: 'vm1', addresses: ['10.0.1.5'] });
  await api.request('POST', '/v1/bindings', { port: port.id, interface: 't1', host: ids[1] });
  const fip = await api.request<{ address: string }>('POST', '/v1/floating-ips', { network: ext.id, port: port.id });
  lab.spawn(vm, 'python3', ['-c', WHO, 'vm1']);
  t.true(await eventually(() => ping(lab, outside, fip.address, 1)), 'ping by the floating IP: in at the gateway host, tunnelled to host 2, and back');
  const ask = async () => (await lab.exec(outside, 'python3', ['-c', `import socket\nc = socket.create_connection(("${fip.address}", 8080), timeout=2)\nprint(c.recv(100).decode())`])).stdout.trim();
  t.true(await eventually(async () => (await ask().catch(() => '')) === 'vm1 203.0.113.1'), 'TCP, and the VM sees the outside\'s address');
});
