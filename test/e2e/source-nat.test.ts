// Source NAT end to end, across two hosts (the uplink bound on the gateway host): VMs without a
// floating IP reach the outside from the router's gateway address, many at once with no two
// connections given one port; the outside's kernel counts no checksum errors; ping goes by
// identifier; traceroute shows the hops beyond the router, and a narrower path beyond it is
// learned from the fragmentation-needed that comes back through the NAT.
import test from 'ava';
import {
  beyond, BEYOND_ADDRESS, eventually, gatewayedNetwork, Lab, openAtOnce, OUTSIDE_ADDRESS, overlayHosts, peerServer, ping, routedHost,
} from '../../examples/lab';
import { promtoolComplaints } from '../helpers/promtool';

const VMS_PER_HOST = 10;
const CONNECTIONS_PER_VM = 50;

test('20 VMs on two hosts open 50 connections each to the outside at once: all succeed, from the gateway\'s address, no two on one port; checksums right; ping by identifier', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['gw', 'host2']);
  const vms: { ns: string; iface: string; address: string; host: string }[] = [];
  for (let i = 0; i < 2 * VMS_PER_HOST; i++) {
    const on = i < VMS_PER_HOST ? 0 : 1;
    const address = `10.0.1.${10 + i}`;
    vms.push({ ns: await routedHost(lab, hosts[on].ns, `v${i}`, `t${i}`, address), iface: `t${i}`, address, host: ids[on] });
  }
  const api = agents[0].api;
  const { outside } = await gatewayedNetwork(lab, api, hosts[0].ns, vms, ids[0]);
  const server = peerServer(lab, outside, 9000);
  t.true(await eventually(() => ping(lab, vms[0].ns, OUTSIDE_ADDRESS, 1)), 'a VM on the gateway host pings the outside');
  t.true(await eventually(() => ping(lab, vms[VMS_PER_HOST].ns, OUTSIDE_ADDRESS, 1)), 'and one on the other host');
  const before = server.peers().length;

  const opened = await Promise.all(vms.map((vm) => openAtOnce(lab, vm.ns, OUTSIDE_ADDRESS, 9000, CONNECTIONS_PER_VM)));
  const failed = opened.flatMap((o, i) => (o.errors.length ? [`v${i}: ${o.errors.join(', ')}`] : []));
  if (failed.length) t.log(`failed: ${failed.join('; ')}; drops: ${JSON.stringify((await agents[0].stats()).drops)} / ${JSON.stringify((await agents[1].stats()).drops)}`);
  t.deepEqual(opened.map((o) => o.succeeded), vms.map(() => CONNECTIONS_PER_VM), 'every connection succeeded');
  const peers = server.peers().slice(before);
  t.is(peers.length, vms.length * CONNECTIONS_PER_VM);
  t.is(new Set(peers).size, vms.length * CONNECTIONS_PER_VM, 'the outside saw as many distinct (address, port) pairs: no collision');
  t.deepEqual([...new Set(peers.map((p) => p.split(':')[0]))], ['203.0.113.2'], 'all from the router\'s gateway address');

  // Pings of many VMs at once, each told apart by its identifier.
  const pinged = await Promise.all(vms.slice(VMS_PER_HOST - 3, VMS_PER_HOST + 3).map((vm) => ping(lab, vm.ns, OUTSIDE_ADDRESS, 3)));
  t.deepEqual(pinged, pinged.map(() => true), 'six VMs on both hosts ping the outside at once');

  const counters = (await lab.exec(outside, 'nstat', ['-asz'])).stdout;
  for (const name of ['TcpInCsumErrors', 'UdpInCsumErrors', 'IcmpInCsumErrors', 'IpExtInCsumErrors']) {
    const value = new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(counters)?.[1];
    t.is(value ?? '0', '0', `the outside's kernel: ${name}`);
  }
  const text = await agents[1].client.request<string>('GET', '/metrics');
  t.is(promtoolComplaints(text), '', 'promtool check metrics accepts it, NAT metrics and all');
  const metrics = text.split('\n').filter((l) => l.startsWith('vswitch_nat_'));
  t.log(`host 2: ${metrics.join('; ')}`);
  t.true(Number(/vswitch_nat_blocks (\d+)/.exec(metrics.join('\n'))?.[1]) >= 1, 'host 2 holds blocks of ports of its own');
});

test('traceroute through the NAT shows the hops beyond the router; a narrower path beyond it is learned, and a transfer with DF completes', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['gw', 'host2']);
  const vm = await routedHost(lab, hosts[1].ns, 'vm1', 't1', '10.0.1.5');
  const { outside } = await gatewayedNetwork(lab, agents[0].api, hosts[0].ns, [{ iface: 't1', address: '10.0.1.5', host: ids[1] }], ids[0]);
  const far = await beyond(lab, outside, 1400);
  t.true(await eventually(() => ping(lab, vm, BEYOND_ADDRESS, 1)), 'the VM pings beyond the outside');

  const route = (await lab.exec(vm, 'traceroute', ['-n', '-q', '1', '-w', '3', '-m', '5', BEYOND_ADDRESS])).stdout;
  t.log(route);
  const hops = route.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]);
  t.deepEqual(hops.slice(0, 3), ['10.0.1.1', OUTSIDE_ADDRESS, BEYOND_ADDRESS], 'the router, the outside, the far end: time exceeded and port unreachable both came back through the NAT');

  // 1 MB with DF set (Linux's default) toward a path of MTU 1400: the outside's
  // fragmentation-needed, to the gateway's address, reaches the VM's socket.
  const sink = `import socket\ns = socket.create_server(('0.0.0.0', 9001))\nc, _ = s.accept()\nn = 0\nwhile True:\n    d = c.recv(65536)\n    if not d: break\n    n += len(d)\nc.sendall(str(n).encode())\nc.close()`;
  lab.spawn(far, 'python3', ['-c', sink]);
  const send = `import socket, time\nfor _ in range(50):\n    try:\n        c = socket.create_connection(("${BEYOND_ADDRESS}", 9001), timeout=20)\n        break\n    except OSError:\n        time.sleep(0.1)\nc.sendall(b"x" * 1000000)\nc.shutdown(socket.SHUT_WR)\nprint(c.recv(100).decode())`;
  t.is((await lab.exec(vm, 'python3', ['-c', send])).stdout.trim(), '1000000', 'the whole megabyte arrived');
  t.regex((await lab.exec(vm, 'ip', ['route', 'get', BEYOND_ADDRESS])).stdout, /mtu 1400/, 'the VM learned the path\'s MTU');
});
