// Three namespaces attached to the agent through veth pairs (packet-socket ports), with the
// devices' default offloads left on.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { eventually, iperfTcp, knowsMacs, Lab, macOf, offloads, ping, RunningAgent, startAgent } from '../../examples/lab';
import { promqlComplaints, promtoolComplaints } from '../helpers/promtool';
import { native } from '../../src/datapath';

const lab = new Lab();
let agent: RunningAgent;
const hosts = { a: '', b: '', c: '', d: '' };

test.before(async () => {
  const sw = await lab.namespace('sw');
  for (const [i, name] of (['a', 'b', 'c'] as const).entries()) {
    hosts[name] = await lab.namespace(name);
    await lab.veth(hosts[name], 'eth0', sw, `p${name}`);
    await lab.ip(hosts[name], 'addr', 'add', `10.77.0.${i + 1}/24`, 'dev', 'eth0');
    // Quiet hosts: no IPv6 autoconfiguration chatter in the counters.
    await lab.exec(hosts[name], 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  }
  agent = await startAgent(lab, sw, ['--port', 'pa', '--port', 'pb', '--port', 'pc']);
  // A fourth host on a port without vnet headers: what reaches it must be finished in software.
  // Such a port learns of its peer's partial checksums (auxdata) but not of its super-frames,
  // so the peer has segmentation offloads off and checksum offload on.
  hosts.d = await lab.namespace('d');
  await lab.veth(hosts.d, 'eth0', sw, 'pd');
  await lab.exec(hosts.d, 'ethtool', ['-K', 'eth0', 'tso', 'off', 'gso', 'off']);
  await lab.ip(hosts.d, 'addr', 'add', '10.77.0.4/24', 'dev', 'eth0');
  await lab.exec(hosts.d, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  await agent.client.request('POST', '/ports', { name: 'pd', kind: 'packet', vnetHdr: false });
});

test.after.always(() => lab.cleanup());

test.serial('ping passes through the switch', async (t) => {
  t.true(await ping(lab, hosts.a, '10.77.0.2'));
  t.true(await ping(lab, hosts.c, '10.77.0.1'));
});

test.serial('a 5 s iperf3 TCP stream passes with default offloads on', async (t) => {
  t.regex(await offloads(lab, hosts.a, 'eth0'), /tcp-segmentation-offload: on/);
  const bps = await iperfTcp(lab, hosts.b, hosts.a, '10.77.0.2', 5);
  t.log(`TCP a -> b: ${(bps / 1e9).toFixed(2)} Gbit/s`);
  t.true(bps > 100e6, `${bps} bit/s`);
  const stats = await agent.stats();
  t.true(stats.flows.hits > stats.flows.misses * 10, 'the stream was served from the flow cache');
});

test.serial('a broadcast floods to every other port', async (t) => {
  await lab.exec(hosts.a, 'ip', ['neigh', 'flush', 'all']);
  const before = await agent.port('pc');
  const beforeB = await agent.port('pb');
  t.true(await ping(lab, hosts.a, '10.77.0.2', 1));
  const after = await agent.port('pc');
  const afterB = await agent.port('pb');
  t.true(after.counters.txPackets >= before.counters.txPackets + 1, 'the ARP request for b also reached c');
  t.true(afterB.counters.txPackets >= beforeB.counters.txPackets + 2, 'b got the request and the ping');
});

test.serial('a learned MAC is unicast to its port only', async (t) => {
  t.true(await ping(lab, hosts.a, '10.77.0.2', 1));
  t.true(await eventually(async () => knowsMacs(agent, [await macOf(lab, hosts.a), await macOf(lab, hosts.b)])), 'a and b learned');
  const [b0, c0] = [await agent.port('pb'), await agent.port('pc')];
  await lab.exec(hosts.a, 'ping', ['-c', '50', '-i', '0.01', '-W', '2', '10.77.0.2']);
  const [b1, c1] = [await agent.port('pb'), await agent.port('pc')];
  t.true(b1.counters.txPackets - b0.counters.txPackets >= 50, 'b got all 50 echo requests');
  t.true(c1.counters.txPackets - c0.counters.txPackets <= 2, `c got ${c1.counters.txPackets - c0.counters.txPackets} frames`);
  const macs = await agent.client.request<{ port: number }[]>('GET', '/macs');
  t.true(macs.length >= 2);
});

test.serial('TCP super-frames bound for a port without vnet headers are segmented in software', async (t) => {
  const bps = await iperfTcp(lab, hosts.d, hosts.a, '10.77.0.4', 3);
  t.log(`TCP a -> d (plain port): ${(bps / 1e9).toFixed(2)} Gbit/s`);
  t.true(bps > 50e6, `${bps} bit/s`);
  const stats = await agent.stats();
  t.is(stats.drops.offloadUnsupported, 0);
  const d = await agent.port('pd');
  t.true(d.counters.txPackets > (await agent.port('pa')).counters.rxPackets / 100, 'more frames left on d than super-frames arrived');
});

test.serial('partial checksums from a port without vnet headers are finished on the way', async (t) => {
  t.regex(await offloads(lab, hosts.d, 'eth0'), /tx-checksumming: on/);
  const bps = await iperfTcp(lab, hosts.a, hosts.d, '10.77.0.1', 3);
  t.log(`TCP d (plain port, tx checksum offload on) -> a: ${(bps / 1e9).toFixed(2)} Gbit/s`);
  t.true(bps > 50e6, `${bps} bit/s`);
});

test.serial('/metrics has per-port rx/tx, drops by reason, cache hits/misses/size/evictions and slow-path latency, and the datapath thread\'s slice', async (t) => {
  const text = await agent.client.request<string>('GET', '/metrics');
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
  t.true(value(/^vswitch_port_rx_packets_total\{port="1",name="pa"\} (\d+)/m) > 1000);
  t.true(value(/^vswitch_port_tx_bytes_total\{port="2",name="pb"\} (\d+)/m) > 1e6);
  t.is(value(/^vswitch_drops_total\{reason="malformed"\} (\d+)/m), 0);
  t.true(value(/^vswitch_flow_cache_hits_total (\d+)/m) > 1000);
  t.true(value(/^vswitch_flow_cache_misses_total (\d+)/m) > 0);
  t.true(value(/^vswitch_flow_cache_flows (\d+)/m) > 0);
  t.false(Number.isNaN(value(/^vswitch_flow_cache_evictions_total (\d+)/m)));
  t.true(value(/^vswitch_slow_path_latency_seconds_count (\d+)/m) > 0);
  // Packet sockets stamp what they receive: the fast path's frames have a transit time.
  const transits = value(/^vswitch_datapath_transit_seconds_count (\d+)/m);
  t.true(transits > 1000, `${transits} frames timed`);
  t.is(value(/^vswitch_datapath_transit_seconds_bucket\{le="\+Inf"\} (\d+)/m), transits);
  t.true(value(/^vswitch_datapath_transit_seconds_bucket\{le="0.1"\} (\d+)/m) <= transits);
  t.true(value(/^vswitch_datapath_transit_seconds_sum ([\d.e+-]+)/m) > 0);
  t.true(value(/^vswitch_datapath_wakeups_total (\d+)/m) > 0);
  // The worker's thread has the short slice it asked for, as a thread here would get it.
  t.is(value(/^vswitch_datapath_slice_seconds\{worker="0"\} ([\d.e+-]+)/m), native.setThreadSlice(100) / 1e6);
  for (const stage of ['wait', 'enter', 'receive', 'key', 'lookup', 'actions', 'send']) t.true(value(new RegExp(`^vswitch_datapath_stage_seconds_total\\{stage="${stage}"\\} ([\\d.e+-]+)`, 'm')) > 0, stage);
  t.regex(text, /^process_cpu_seconds_total /m);
  t.is(promtoolComplaints(text), '', 'promtool check metrics accepts it');
  // The Grafana dashboard: every metric it names is served, every query parses.
  const dashboard = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'grafana', 'vswitch.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((q) => q.expr));
  t.true(queries.length >= 15);
  for (const name of new Set(queries.flatMap((q) => q.match(/vswitch_[a-z_]+/g) ?? []))) t.regex(text, new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'), `${name} is served`);
  t.is(promqlComplaints(queries), '', 'promtool parses every query');
});

test.serial("a MAC that shows up on another port takes its flows with it (as a migrated VM's does)", async (t) => {
  t.true(await ping(lab, hosts.a, '10.77.0.2', 2));
  const macB = /link\/ether ([0-9a-f:]+)/.exec((await lab.ip(hosts.b, 'link', 'show', 'eth0')).stdout)![1];
  // c takes b's MAC and address, and speaks: the switch learns the MAC on c's port.
  await lab.ip(hosts.c, 'link', 'set', 'eth0', 'address', macB);
  await lab.ip(hosts.c, 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0');
  await lab.exec(hosts.c, 'ping', ['-c', '1', '-W', '1', '-I', '10.77.0.2', '10.77.0.1']).catch(() => undefined);
  const [b0, c0] = [await agent.port('pb'), await agent.port('pc')];
  await lab.exec(hosts.a, 'ping', ['-c', '20', '-i', '0.01', '-W', '1', '10.77.0.2']);
  const [b1, c1] = [await agent.port('pb'), await agent.port('pc')];
  t.true(c1.counters.txPackets - c0.counters.txPackets >= 20, 'the echo requests now go to c');
  t.true(b1.counters.txPackets - b0.counters.txPackets <= 1, 'and no longer to b');
  const macs = await agent.client.request<{ mac: string; port: number }[]>('GET', '/macs');
  t.is(macs.find((m) => m.mac === macB)?.port, c1.number);
});
