// `npm run demo`: the switch between two hosts. Makes a switch namespace running `vswitch
// agent` and two host namespaces joined to it by veth pairs, attaches them through the
// agent's API, pings and streams TCP across, prints what the switch saw, and cleans up.
import { iperfTcp, Lab, startAgent, twoHostsAndSwitch } from './lab';

async function main(): Promise<void> {
  const lab = new Lab();
  const step = (text: string) => process.stdout.write(`\n== ${text}\n`);
  try {
    step(`namespaces ${lab.id}-sw (the switch), ${lab.id}-a and ${lab.id}-b (two hosts)`);
    const { sw, a, b } = await twoHostsAndSwitch(lab, '10.66.0', ['host-a', 'host-b']);

    step('vswitch agent, then `vswitch port add host-a` and `port add host-b` (packet-socket ports)');
    const agent = await startAgent(lab, sw, ['--log-level', 'warn']);
    for (const name of ['host-a', 'host-b']) {
      const port = await agent.client.request<{ number: number }>('POST', '/ports', { name, kind: 'packet' });
      console.log(`port ${port.number}: ${name}`);
    }

    step('ping 10.66.0.2 from host a');
    const { stdout } = await lab.exec(a, 'ping', ['-c', '5', '-i', '0.2', '10.66.0.2']);
    console.log(stdout.trim().split('\n').slice(-2).join('\n'));

    step('iperf3 TCP, 5 s, host a -> host b (veth offloads left on: TSO/GSO super-frames cross whole)');
    const bps = await iperfTcp(lab, b, a, '10.66.0.2', 5);
    console.log(`${(bps / 1e9).toFixed(2)} Gbit/s received`);

    step('vswitch port list / macs / stats / flows');
    for (const args of [['port', 'list'], ['macs'], ['stats'], ['flows']]) {
      const { stdout: out } = await lab.exec(sw, process.execPath, [require.resolve('../../bin/vswitch'), '--socket', agent.socket, ...args]);
      console.log(`$ vswitch ${args.join(' ')}\n${out.trim()}\n`);
    }
  } finally {
    step('cleaning up');
    await lab.cleanup();
    console.log('namespaces and processes removed');
  }
}

main().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
