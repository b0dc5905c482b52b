// `npm run demo`: two tenants' networks on one agent, made through the tenant API. Each
// tenant gets two subnets joined by a virtual router, with the very same addresses as the
// other tenant; hosts (network namespaces) ping and stream TCP across their router, and never
// reach the other tenant. Prints the topology, a trace and the counters, then cleans up.
// `npm run demo -- multihost` runs examples/multihost.ts instead: three hosts over VXLAN;
// `npm run demo -- services`, examples/services.ts: DHCP and a floating IP.
import { iperfTcp, Lab, ping, routedHost, startAgent, tenantNetwork } from './lab';
import { multihostDemo } from './multihost';
import { servicesDemo } from './services';

async function main(): Promise<void> {
  const lab = new Lab();
  const step = (text: string) => process.stdout.write(`\n== ${text}\n`);
  try {
    step(`namespaces: ${lab.id}-sw runs the agent; red1, red2, blue1, blue2 are the tenants' hosts`);
    const sw = await lab.namespace('sw');
    const hosts = {
      red1: await routedHost(lab, sw, 'red1', 'red-tap1', '10.0.1.5'),
      red2: await routedHost(lab, sw, 'red2', 'red-tap2', '10.0.2.5'),
      blue1: await routedHost(lab, sw, 'blue1', 'blue-tap1', '10.0.1.5'),
      blue2: await routedHost(lab, sw, 'blue2', 'blue-tap2', '10.0.2.5'),
    };
    console.log('red1 and blue1 are both 10.0.1.5/24 (gateway .1); red2 and blue2 are both 10.0.2.5/24');

    step('vswitch agent (embedded store, tenant API), then the tenants through the API');
    const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
    for (const tenant of ['red', 'blue']) {
      const net = await tenantNetwork(agent.api, tenant, [
        { gateway: ['10.0.1.1/24'], interfaces: [`${tenant}-tap1`] },
        { gateway: ['10.0.2.1/24'], interfaces: [`${tenant}-tap2`] },
      ]);
      console.log(`tenant ${tenant}: POST /v1/tenants, /v1/routers, 2 x /v1/bridges, 6 x /v1/ports; the operator: 2 x /v1/bindings (router ${net.router.slice(0, 8)})`);
    }
    const cli = (...args: string[]) => lab.exec(sw, process.execPath, [require.resolve('../../bin/vswitch'), '--socket', agent.socket, '--api', agent.api.address, ...args], 30_000);
    const token = (await import('node:fs')).readFileSync(`${agent.stateDir}/admin-token`, 'utf8').trim();
    const show = await cli('--token', token, 'show');
    console.log(`$ vswitch show\n${show.stdout.trim()}`);

    for (const [tenant, from, to] of [['red', hosts.red1, '10.0.2.5'], ['blue', hosts.blue1, '10.0.2.5']] as const) {
      step(`${tenant}: ping ${to} from ${tenant}1, across ${tenant}'s router`);
      await ping(lab, from, to, 1);
      const { stdout } = await lab.exec(from, 'ping', ['-c', '5', '-i', '0.2', to]);
      console.log(stdout.trim().split('\n').slice(-2).join('\n'));
    }

    step('red: traceroute to 10.0.2.5 (the router is the first hop)');
    console.log((await lab.exec(hosts.red1, 'traceroute', ['-n', '-q', '1', '-w', '1', '10.0.2.5'])).stdout.trim());

    step('red: iperf3 TCP, 5 s, red1 -> red2 across the virtual router');
    const bps = await iperfTcp(lab, hosts.red2, hosts.red1, '10.0.2.5', 5);
    console.log(`${(bps / 1e9).toFixed(2)} Gbit/s received`);

    step('vswitch trace: what a ping from red1 to 10.0.2.5 does, without sending it');
    const mac = /link\/ether (\S+)/.exec((await lab.ip(hosts.red1, 'link', 'show', 'eth0')).stdout)![1];
    const routerMac = (await agent.api.request<{ name: string; mac: string }[]>('GET', '/v1/ports')).find((p) => p.name === 'red-r1')!.mac;
    const trace = await cli('trace', '--port', 'red-tap1', `icmp,dl_src=${mac},dl_dst=${routerMac},nw_src=10.0.1.5,nw_dst=10.0.2.5,nw_ttl=64`);
    console.log(`$ vswitch trace --port red-tap1 icmp,dl_src=…,dl_dst=…,nw_src=10.0.1.5,nw_dst=10.0.2.5\n${trace.stdout.trim()}`);

    step('vswitch port list / stats');
    for (const args of [['port', 'list'], ['stats']]) console.log(`$ vswitch ${args.join(' ')}\n${(await cli(...args)).stdout.trim()}\n`);
  } finally {
    step('cleaning up');
    await lab.cleanup();
    console.log('namespaces, processes and the agent\'s state directory removed');
  }
}

const demos: Record<string, () => Promise<void>> = { multihost: multihostDemo, services: servicesDemo };
(demos[process.argv[2]] ?? main)().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
