// `npm run demo -- services`: a tenant's VM gets its address by DHCP from the switch, the
// outside reaches it by a floating IP on the operator's external network, a VM without one
// reaches the outside through the router's source NAT, and the outside reaches a service of
// two VMs behind a load balancer. An "outside" namespace stands for what lies beyond the gateway. Everything is made with the vswitch CLI,
// then shown, traced and cleaned up.
import fs from 'node:fs';
import { askMembers, askWho, dhcpLease, eventually, Lab, macOf, member, ping, routedHost, startAgent, VSWITCH, whoServer } from './lab';

export async function servicesDemo(): Promise<void> {
  const lab = new Lab();
  const step = (text: string) => process.stdout.write(`\n== ${text}\n`);
  try {
    step(`namespaces: ${lab.id}-sw runs the agent; out is the outside (203.0.113.1); vm1 has nothing configured`);
    const sw = await lab.namespace('sw');
    const outside = await lab.namespace('out');
    await lab.veth(outside, 'eth0', sw, 'up0');
    await lab.ip(outside, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth0');
    const vm1 = await lab.namespace('vm1');
    await lab.veth(vm1, 'eth0', sw, 'tap1');
    const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
    const admin = fs.readFileSync(`${agent.stateDir}/admin-token`, 'utf8').trim();
    const cli = async (token: string, ...args: string[]) => {
      const { stdout } = await lab.exec(sw, process.execPath, [VSWITCH, '--socket', agent.socket, '--api', agent.api.address, '--token', token, ...args], 30_000);
      console.log(`$ vswitch ${args.join(' ')}${stdout.trim() ? `\n${stdout.trim()}` : ''}`);
      return stdout;
    };

    step('the operator: an external network on the interface to the outside');
    await cli(admin, 'bridge', 'create', 'public', '--external');
    await cli(admin, 'subnet', 'add', 'public', '203.0.113.0/24', '--gateway', '203.0.113.1', '--no-dhcp');
    await cli(admin, 'port', 'create', 'public', '--name', 'uplink', '--no-port-security');
    await cli(admin, 'port', 'bind', 'uplink', 'up0');
    const token = /token: (\S+)/.exec(await cli(admin, 'tenant', 'create', 'acme'))![1];

    step('the tenant: a router with its gateway on it, a network with a DHCP subnet, a port for vm1 (no address given)');
    await cli(token, 'router', 'create', 'r');
    await cli(token, 'router', 'set', 'r', '--gateway', 'public');
    await cli(token, 'bridge', 'create', 'net1');
    await cli(token, 'subnet', 'add', 'net1', '10.0.1.0/24', '--dns', '10.0.1.53', '--domain', 'acme.example');
    await cli(token, 'port', 'create', 'r', '--name', 'r-net1', '--address', '10.0.1.1/24');
    await cli(token, 'port', 'create', 'net1', '--name', 'net1-up', '--peer', 'r-net1');
    await cli(token, 'port', 'create', 'net1', '--name', 'vm1', '--mac', await macOf(lab, vm1));
    await cli(admin, 'port', 'bind', 'vm1', 'tap1');

    step('vm1 asks for an address: busybox udhcpc, answered by the switch on vm1\'s host');
    let lease: string | null = null;
    await eventually(async () => (lease = await dhcpLease(lab, vm1)) !== null);
    console.log(lease ?? 'no lease');
    console.log((await lab.ip(vm1, '-4', 'addr', 'show', 'dev', 'eth0')).stdout.trim());
    await eventually(() => ping(lab, vm1, '10.0.1.1', 1));
    console.log(`vm1 pings its gateway: ${await ping(lab, vm1, '10.0.1.1', 1)}`);

    step('a floating IP for vm1: the outside reaches it');
    const address = /floating IP (\S+)/.exec(await cli(token, 'floating-ip', 'create', '--network', 'public', '--port', 'vm1'))![1];
    whoServer(lab, vm1, 'vm1');
    await eventually(() => ping(lab, outside, address, 1));
    console.log((await lab.exec(outside, 'ping', ['-c', '3', '-i', '0.2', address])).stdout.trim().split('\n').slice(-2).join('\n'));
    let said = '';
    await eventually(async () => (said = await askWho(lab, outside, address)) !== '');
    console.log(`the outside connects to ${address}:8080, and the server says who it is and whom it sees: "${said}"`);

    step('vm2 has no floating IP: it reaches the outside from the router\'s gateway address (source NAT)');
    const vm2 = await routedHost(lab, sw, 'vm2', 'tap2', '10.0.1.20');
    await cli(token, 'port', 'create', 'net1', '--name', 'vm2', '--address', '10.0.1.20', '--mac', await macOf(lab, vm2));
    await cli(admin, 'port', 'bind', 'vm2', 'tap2');
    whoServer(lab, outside, 'outside');
    let seen = '';
    await eventually(async () => (seen = await askWho(lab, vm2, '203.0.113.1')) !== '');
    console.log(`vm2 connects to the outside's 203.0.113.1:8080, which says whom it sees: "${seen}"`);
    console.log((await lab.exec(vm2, 'traceroute', ['-n', '-q', '1', '-w', '2', '203.0.113.1'])).stdout.trim());

    step('a load balancer: the outside reaches a service of vm3 and vm4 at 203.0.113.50:80 (weights 1 and 2, TCP health checks)');
    for (const [name, address] of [['vm3', '10.0.1.30'], ['vm4', '10.0.1.31']]) {
      const ns = await routedHost(lab, sw, name, `tap-${name}`, address);
      await member(lab, ns, name, 8080);
      await cli(token, 'port', 'create', 'net1', '--name', name, '--address', address, '--mac', await macOf(lab, ns));
      await cli(admin, 'port', 'bind', name, `tap-${name}`);
    }
    await cli(token, 'lb', 'create', 'web', '--router', 'r', '--vip', '203.0.113.50', '--port', '80', '--monitor', 'tcp', '--interval', '1', '--rise', '2', '--fall', '2');
    await cli(token, 'lb', 'member', 'add', 'web', '10.0.1.30', '8080');
    await cli(token, 'lb', 'member', 'add', 'web', '10.0.1.31', '8080', '--weight', '2');
    await eventually(async () => !(await askMembers(lab, outside, '203.0.113.50', 80, 1))[0].startsWith('failed'));
    const answers = await askMembers(lab, outside, '203.0.113.50', 80, 30);
    console.log(`30 connections from the outside: vm3 ${answers.filter((n) => n === 'vm3').length}, vm4 ${answers.filter((n) => n === 'vm4').length}`);
    await eventually(async () => (await lab.exec(sw, process.execPath, [VSWITCH, '--api', agent.api.address, '--token', token, 'lb', 'show', 'web'])).stdout.includes(': up'));
    await cli(token, 'lb', 'show', 'web');

    step('vswitch show, and traces of the way in (floating IP) and the way out (source NAT)');
    const show = await cli(token, 'show');
    await cli(token, 'trace', '--port', 'up0', `tcp,dl_src=${await macOf(lab, outside)},dl_dst=${macOfPort(show, 'gateway')},nw_src=203.0.113.1,nw_dst=${address},tp_dst=8080`);
    await cli(token, 'trace', '--port', 'tap2', `tcp,dl_src=${await macOf(lab, vm2)},dl_dst=${macOfPort(show, 'r-net1')},nw_src=10.0.1.20,nw_dst=203.0.113.1,tp_src=40000,tp_dst=8080`);
    console.log('\nNot built yet (docs/SERVICES.md): one-armed load balancing (a client on a member\'s own network).');
  } finally {
    step('cleaning up');
    await lab.cleanup();
    console.log('namespaces, processes and the agent\'s state directory removed');
  }
}

/** The MAC of a port of the router, from `vswitch show`. */
function macOfPort(show: string, name: string): string {
  return new RegExp(`port ${name} \\(\\w+\\): (\\S+),`).exec(show)?.[1] ?? '';
}
