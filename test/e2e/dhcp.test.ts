// Addresses on demand, across two hosts: a VM stand-in on host 2 with nothing configured runs
// busybox's DHCP client and gets its port's address, the gateway, DNS, domain and the overlay's
// MTU, answered by its own host's agent (counted there, not on host 1); and forms its IPv6
// address by SLAAC from the router's advertisement; then it reaches a VM on host 1 across
// the router, both ways.
import test from 'ava';
import { dhcpLease, dhcpv6Lease, eventually, Lab, macOf, overlayHosts, ping, startAgent } from '../../examples/lab';

test('DHCP from the VM\'s own host (address, gateway, DNS, domain, overlay MTU), SLAAC from the router, and traffic across the router', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['host1', 'host2']);
  const api = agents[0].api;
  const vm1 = await lab.namespace('vm1');
  await lab.veth(vm1, 'eth0', hosts[1].ns, 'tap1');
  const vm2 = await lab.namespace('vm2');
  await lab.veth(vm2, 'eth0', hosts[0].ns, 'tap2');
  await lab.ip(vm2, 'addr', 'add', '10.0.2.5/24', 'dev', 'eth0');
  await lab.ip(vm2, 'addr', 'add', '2001:db8:2::5/64', 'dev', 'eth0', 'nodad');
  await lab.ip(vm2, 'route', 'add', 'default', 'via', '10.0.2.1');
  await lab.ip(vm2, '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1');

  const router = await api.request<{ id: string }>('POST', '/v1/routers', { name: 'r' });
  const subnets = [
    [{ cidr: '10.0.1.0/24', dnsServers: ['10.0.1.53'], domain: 'example.org' }, { cidr: '2001:db8:1::/64' }],
    [{ cidr: '10.0.2.0/24' }, { cidr: '2001:db8:2::/64' }],
  ];
  const bridges: string[] = [];
  for (const [i, s] of subnets.entries()) {
    const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: `net${i + 1}`, subnets: s });
    const gateway = await api.request<{ id: string }>('POST', '/v1/ports', { device: router.id, addresses: [`10.0.${i + 1}.1/24`, `2001:db8:${i + 1}::1/64`] });
    await api.request('POST', '/v1/ports', { device: bridge.id, peer: gateway.id });
    bridges.push(bridge.id);
  }
  // A fresh port, as Nova makes one: the VM's MAC, no address (the subnets give them).
  const port1 = await api.request<{ id: string; addresses: string[] }>('POST', '/v1/ports', { device: bridges[0], name: 'vm1', mac: await macOf(lab, vm1) });
  t.is(port1.addresses[0], '10.0.1.2', 'the pool\'s first address');
  t.regex(port1.addresses[1], /^2001:db8:1:/, 'and the one SLAAC will form');
  const port2 = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridges[1], name: 'vm2', addresses: ['10.0.2.5', '2001:db8:2::5'] });
  await api.request('POST', '/v1/bindings', { port: port1.id, interface: 'tap1', host: ids[1] });
  await api.request('POST', '/v1/bindings', { port: port2.id, interface: 'tap2', host: ids[0] });

  let lease: string | null = null;
  t.true(await eventually(async () => (lease = await dhcpLease(lab, vm1)) !== null), 'udhcpc gets a lease (the binding may take a moment to reach host 2)');
  t.regex(lease!, /ip=10\.0\.1\.2 mask=24 router=10\.0\.1\.1 dns=10\.0\.1\.53 domain=example\.org mtu=1550/, 'the underlay\'s 1600 less VXLAN\'s 50');
  t.true(await eventually(() => ping(lab, vm1, '10.0.1.1', 1)), 'it pings its gateway');
  t.true(await eventually(() => ping(lab, vm1, '10.0.2.5', 1)), 'and across the router to host 1');
  const answered = async (i: number) => (await agents[i].stats()).slowPath;
  t.true((await answered(1)).dhcpReplies >= 2, 'the offer and the ack came from host 2, where the VM is');
  t.is((await answered(0)).dhcpReplies, 0, 'host 1 answered nothing, and saw no broadcast of it');

  // The link comes up anew: the kernel solicits a router, and forms its address from the answer.
  await lab.ip(vm1, 'link', 'set', 'eth0', 'down');
  await lab.ip(vm1, 'link', 'set', 'eth0', 'up');
  const global = async () => /inet6 (2001:db8:1:\S+)\/64 scope global(?! tentative)/.exec((await lab.ip(vm1, '-6', 'addr', 'show', 'dev', 'eth0')).stdout)?.[1];
  t.true(await eventually(async () => (await global()) !== undefined), 'a SLAAC address, out of duplicate address detection');
  t.is(`${await global()}`, port1.addresses[1], 'the one its port was given');
  t.true((await answered(1)).routerAdvertisements > 0, 'advertised by host 2');
  t.true(await eventually(() => ping(lab, vm1, '2001:db8:2::5', 1)), 'IPv6 across the router, by the route the advertisement gave');
});

test('a VM that never solicits still gets its SLAAC address from the routers\' unsolicited advertisements', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const vm = await lab.namespace('vm1');
  // Interfaces made in this namespace from now on send no router solicitation.
  await lab.exec(vm, 'sysctl', ['-qw', 'net.ipv6.conf.default.router_solicitations=0']);
  await lab.veth(vm, 'eth0', sw, 'tap1');
  const agent = await startAgent(lab, sw, ['--router-advertisement-seconds', '1']);
  const api = agent.api;
  const router = await api.request<{ id: string }>('POST', '/v1/routers', { name: 'r' });
  const bridge = await api.request<{ id: string }>('POST', '/v1/bridges', { name: 'net1', subnets: [{ cidr: '2001:db8:1::/64' }] });
  const gateway = await api.request<{ id: string }>('POST', '/v1/ports', { device: router.id, addresses: ['2001:db8:1::1/64'] });
  await api.request('POST', '/v1/ports', { device: bridge.id, peer: gateway.id });
  const port = await api.request<{ id: string; addresses: string[] }>('POST', '/v1/ports', { device: bridge.id, name: 'vm1', mac: await macOf(lab, vm) });
  await api.request('POST', '/v1/bindings', { port: port.id, interface: 'tap1' });
  const global = async () => /inet6 (2001:db8:1:\S+)\/64 scope global(?! tentative)/.exec((await lab.ip(vm, '-6', 'addr', 'show', 'dev', 'eth0')).stdout)?.[1];
  t.true(await eventually(async () => (await global()) !== undefined), 'a SLAAC address, from an advertisement nobody asked for');
  t.is(`${await global()}`, port.addresses[0]);
  t.true((await agent.stats()).slowPath.routerAdvertisements > 0);
  t.true(await eventually(() => ping(lab, vm, '2001:db8:1::1', 1)), 'it pings the router');
});

test('DHCPv6 answered by the VM\'s host (ISC dhclient): stateful gives the port\'s address, DNS and domain; stateless DNS and domain only', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const vm = await lab.namespace('vm1');
  await lab.veth(vm, 'eth0', sw, 'tap1');
  const agent = await startAgent(lab, sw);
  const api = agent.api;
  const router = await api.request<{ id: string }>('POST', '/v1/routers', { name: 'r' });
  const subnet = { cidr: '2001:db8:1::/64', ipv6Mode: 'dhcpv6-stateful', dnsServers: ['2001:db8:1::53'], domain: 'acme.example' };
  const bridge = await api.request<{ id: string; version: number }>('POST', '/v1/bridges', { name: 'net1', subnets: [subnet] });
  const gateway = await api.request<{ id: string }>('POST', '/v1/ports', { device: router.id, addresses: ['2001:db8:1::1/64'] });
  await api.request('POST', '/v1/ports', { device: bridge.id, peer: gateway.id });
  const port = await api.request<{ id: string }>('POST', '/v1/ports', { device: bridge.id, name: 'vm1', mac: await macOf(lab, vm), addresses: ['2001:db8:1::42'] });
  await api.request('POST', '/v1/bindings', { port: port.id, interface: 'tap1' });
  // dhclient binds the link-local address, once its duplicate address detection is over.
  t.true(await eventually(async () => /inet6 fe80::\S+ scope link(?! tentative)/.test((await lab.ip(vm, '-6', 'addr', 'show', 'dev', 'eth0')).stdout)));
  t.is(await dhcpv6Lease(lab, vm), 'address=2001:db8:1::42 dns=2001:db8:1::53 domain=acme.example.', 'stateful: the port\'s address');
  t.true(await eventually(() => ping(lab, vm, '2001:db8:1::1', 1)), 'and with it the VM pings its router');
  await api.request('PATCH', `/v1/bridges/${bridge.id}`, { subnets: [{ ...subnet, ipv6Mode: 'dhcpv6-stateless' }] });
  t.is(await dhcpv6Lease(lab, vm, true), 'address= dns=2001:db8:1::53 domain=acme.example.', 'stateless: DNS and domain only');
  t.true((await agent.stats()).slowPath.dhcpReplies >= 2, 'answered by this host');
});
