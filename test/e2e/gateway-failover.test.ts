// Gateway failover: an external network's uplink bound on a gateway host with a second one as
// its standby, the outside one L2 segment to both. The first gateway host's agent is killed
// with -9: within its lease time the other takes the uplink over, announces the gateway's
// addresses (gratuitous ARP), and a floating IP and source NAT work again through it, a
// connection open across the failover too. How long that took is measured; the API says where
// the uplink is now.
import test from 'ava';
import { askWho, capture, eventually, gatewayedNetwork, Lab, OUTSIDE_ADDRESS, overlayHosts, ping, routedHost, whoServer } from '../../examples/lab';
import { ECHO_SERVER, heldConnection } from '../helpers/connections';

const LEASE_SECONDS = 2;

test('the gateway host\'s agent killed with -9: the standby takes the uplink over, announces it, and floating IPs and source NAT work again', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const { hosts, agents, ids } = await overlayHosts(lab, ['gw1', 'gw2', 'host3'], ['--host-lease', String(LEASE_SECONDS)]);
  const vm1 = await routedHost(lab, hosts[2].ns, 'vm1', 't1', '10.0.1.5');
  const vm2 = await routedHost(lab, hosts[2].ns, 'vm2', 't2', '10.0.1.6');
  const api = agents[1].api; // the surviving gateway host's API
  const vms = [{ iface: 't1', address: '10.0.1.5', host: ids[2] }, { iface: 't2', address: '10.0.1.6', host: ids[2] }];
  const { outside, external, ports, uplink } = await gatewayedNetwork(lab, api, hosts[0].ns, vms, ids[0], { ns: hosts[1].ns, host: ids[1] });
  const fip = await api.request<{ address: string }>('POST', '/v1/floating-ips', { network: external, port: ports[0] });
  whoServer(lab, vm1, 'vm1');
  whoServer(lab, outside, 'outside');
  t.true(await eventually(() => ping(lab, outside, fip.address, 1)), 'the floating IP answers through the first gateway host');
  t.true(await eventually(async () => (await askWho(lab, vm2, OUTSIDE_ADDRESS)) === 'outside 203.0.113.2'), 'vm2 reaches the outside by source NAT');
  t.like(await api.request('GET', `/v1/bindings/${uplink}`), { host: ids[0], state: 'up', standby: [{ host: ids[1], interface: 'up0' }] });
  // A connection through source NAT, open across the failover.
  lab.spawn(outside, 'python3', ['-c', ECHO_SERVER, '7000']);
  t.true(await eventually(async () => (await lab.exec(outside, 'ss', ['-ltnH', 'sport = :7000'])).stdout.includes(':7000')), 'the outside\'s echo server listens');
  const held = heldConnection(lab, vm2, OUTSIDE_ADDRESS, 7000);
  t.true(await held.echoed(0), 'a connection open through source NAT');

  const announced = capture(lab, outside, 'eth0', 'arp', { seconds: 60 });
  await announced.ready;
  process.kill(agents[0].pid, 'SIGKILL'); // the agent this test started, by its PID
  const killed = Date.now();
  const [floatingBack, natBack] = await Promise.all([
    eventually(() => ping(lab, outside, fip.address, 1), 60_000).then((ok) => ok && Date.now() - killed),
    eventually(async () => (await askWho(lab, vm2, OUTSIDE_ADDRESS)) === 'outside 203.0.113.2', 60_000).then((ok) => ok && Date.now() - killed),
  ]);
  t.truthy(floatingBack, 'the floating IP answers again, through the second gateway host');
  t.truthy(natBack, 'and source NAT works again');
  t.log(`after kill -9 of the gateway host's agent (lease ${LEASE_SECONDS} s): floating IP back in ${floatingBack} ms, source NAT in ${natBack} ms`);
  t.like(await api.request('GET', `/v1/bindings/${uplink}`), { host: ids[1], state: 'up', standby: [{ host: ids[0], interface: 'up0' }] }, 'the API says the uplink is on the second host now, the first its standby');
  held.next();
  t.true(await held.echoed(1), 'the connection open across the failover goes on: the second gateway host knew it (flow state to the standby)');
  const arps = await announced.stop();
  for (const address of ['203.0.113.2', fip.address]) {
    t.true(arps.some((l) => l.includes(`who-has ${address} tell ${address}`)), `a gratuitous ARP for ${address}`);
  }
});
