// A stateful rule chain in front of a subnet, built with the vswitch CLI: h1 (10.0.1.5) and h2
// (10.0.2.5) behind a router, whose port toward h2 carries chain fw outbound: replies of
// established connections, SSH and ping in, other TCP rejected with a reset, the rest dropped.
// A rule added while a connection is open affects new connections only, unless it drops
// established ones by their state.
import test from 'ava';
import { eventually, Lab, macOf, ping, routedHost, startAgent } from '../../examples/lab';
import { routedByCli } from '../helpers/cli-network';
import { ECHO_SERVER, heldConnection } from '../helpers/connections';

/** Connects and says how it went: connected, refused (a reset) or timeout. */
const CONNECT = `
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
    print('connected')
except ConnectionRefusedError: print('refused')
except socket.timeout: print('timeout')`;

test('a chain on a router port: SSH and ping pass, other TCP is reset, replies come back; rules added later by state', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const h1 = await routedHost(lab, sw, 'h1', 't1', '10.0.1.5');
  const h2 = await routedHost(lab, sw, 'h2', 't2', '10.0.2.5');
  const agent = await startAgent(lab, sw);
  const { cli, token } = await routedByCli(lab, sw, agent);
  await cli(token, 'chain', 'create', 'fw');
  for (const rule of [
    ['accept', '--state', 'established'], ['accept', '--state', 'related'], ['accept', '--protocol', 'tcp', '--dport', '22', '--state', 'new'],
    ['accept', '--protocol', 'icmp'], ['reject', '--protocol', 'tcp'], ['drop'],
  ]) await cli(token, 'rule', 'add', 'fw', ...rule);
  await cli(token, 'port', 'set', 'r-net2', '--outbound-chain', 'fw');
  t.regex(await cli(token, 'chain', 'list'), /3: accept --protocol tcp --dport 22 --state new\n {2}4: accept --protocol icmp\n {2}5: reject --protocol tcp\n {2}6: drop/);
  t.regex(await cli(token, 'show'), /port r-net2 \(\w+\): .*outbound chain fw/);

  lab.spawn(h2, 'python3', ['-c', ECHO_SERVER, '22', '8080']);
  const connect = async (port: number) => (await lab.exec(h1, 'python3', ['-c', CONNECT, '10.0.2.5', String(port)], 20_000)).stdout.trim();
  t.true(await eventually(() => ping(lab, h1, '10.0.2.5', 1)), 'ping passes, and its replies come back (they leave by the other port)');
  t.true(await eventually(async () => (await connect(22)) === 'connected'), 'SSH connects');
  t.is(await connect(8080), 'refused', 'other TCP is answered with a reset');
  t.true(((await agent.port('t1')).drops.rejected ?? 0) > 0, 'and counted on the sender\'s port');

  const trace = await cli(token, 'trace', '--port', 't1', `tcp,dl_src=${await macOf(lab, h1)},dl_dst=${routerMac(await cli(token, 'show'))},nw_src=10.0.1.5,nw_dst=10.0.2.5,tp_dst=8080`);
  t.regex(trace, /port r-net2 outbound: chain fw rule 5 \(tcp\), conntrack NEW: reject/, 'the trace names the chain, the rule and the state it saw');
  t.regex(trace, /TCP reset to 10\.0\.1\.5/);

  const held = heldConnection(lab, h1, '10.0.2.5', 22);
  t.true(await held.echoed(0), 'a connection is open');
  await cli(token, 'rule', 'add', 'fw', 'reject', '--protocol', 'tcp', '--dport', '22', '--state', 'new', '--position', '1');
  t.true(await eventually(async () => (await connect(22)) === 'refused'), 'a rule for new connections: SSH is refused from now on');
  held.next();
  t.true(await held.echoed(1), 'the open connection goes on');
  await cli(token, 'rule', 'add', 'fw', 'drop', '--protocol', 'tcp', '--dport', '22', '--state', 'established', '--position', '1');
  held.next();
  await held.ended;
  t.notRegex(held.said(), /echo 2/, 'a rule that drops established connections cuts it');

  await cli(token, 'rule', 'delete', 'fw', '1');
  await cli(token, 'port', 'set', 'r-net2', '--outbound-chain', 'none');
  await cli(token, 'chain', 'delete', 'fw');
  t.true(await eventually(async () => (await connect(8080)) === 'connected'), 'without the chain, everything passes');
});

function routerMac(show: string): string {
  return /port r-net1 \(\w+\): (\S+),/.exec(show)![1];
}
