// A VM floods its bridge with a million source MACs as fast as it can send them, then three
// million more, a million at a time: the MAC table fills to its cap and counts what it refuses,
// the last million adds next to nothing to the agent's memory, and a ping between two other
// VMs on the same bridge loses nothing.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { eventually, Lab, macFlood, ping, pingUntilStopped, residentMb as rssMb, startAgent, vmOn } from '../../examples/lab';

const MACS = 1_000_000;
const MAC_TABLE_SIZE = 4096;
/** Small enough that the first million fills the flow cache too: how many flows a flood has
 *  installed depends on how fast the slow path answers (24k to 65k of 65,536 here). */
const FLOW_CAPACITY = 8192;
/** What a fourth million MACs, after three, may add to the agent's resident memory: what the
 *  first three left (full tables, grown heaps) is the flood's whole cost. V8's heaps take two
 *  or three floods to reach their size (the agent's anonymous memory on one run: 83 -> 135 ->
 *  199 -> 197 -> 210 -> 210 MB over five; in others the third million added 50-58 MB). A
 *  bound, not a figure. */
const RSS_BOUND_MB = 64;

test('a MAC flood: the table stays at its cap and counts what it refuses, memory stays bounded, a ping between two other VMs loses nothing', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const flooder = await vmOn(lab, sw, 'flooder', 'f1', '10.9.0.1/24');
  const vm2 = await vmOn(lab, sw, 'vm2', 'p2', '10.9.0.2/24');
  await vmOn(lab, sw, 'vm3', 'p3', '10.9.0.3/24');
  const config = path.join(lab.directory('config'), 'agent.json');
  fs.writeFileSync(config, JSON.stringify({ macTableSize: MAC_TABLE_SIZE, flowCapacity: FLOW_CAPACITY }));
  const agent = await startAgent(lab, sw, ['--config', config, '--port', 'f1', '--port', 'p2', '--port', 'p3']);
  t.true(await eventually(() => ping(lab, vm2, '10.9.0.3', 1)), 'vm2 and vm3 reach each other');
  const before = { rss: rssMb(agent.pid), stats: await agent.stats() };

  const pinging = pingUntilStopped(lab, vm2, '10.9.0.3');
  const sent: number[] = [];
  for (let flood = 0; flood < 3; flood++) sent.push(await macFlood(lab, flooder, 'eth0', MACS, flood * MACS + 1));
  const between = rssMb(agent.pid);
  sent.push(await macFlood(lab, flooder, 'eth0', MACS, 3 * MACS + 1));
  const pings = await pinging.stop();
  const after = { rss: rssMb(agent.pid), stats: await agent.stats() };
  const { macTable } = after.stats;
  t.log(`flood: ${sent.join(' + ')} frames from new MACs sent; MAC table ${macTable.entries}/${macTable.capacity}, ${macTable.refusals} refused; ` +
    `drops ${JSON.stringify(Object.fromEntries(Object.entries(after.stats.drops).filter(([, n]) => n > 0)))}; ` +
    `flows ${after.stats.flows.cached} cached, ${after.stats.flows.evictions} evicted; RSS ${before.rss.toFixed(0)} -> ${between.toFixed(0)} -> ${after.rss.toFixed(0)} MB; ping ${pings.received}/${pings.sent}`);
  t.true(sent.every((n) => n >= MACS / 2), `the flooder sent most of its MACs: ${sent.join(', ')}`);
  t.is(macTable.capacity, MAC_TABLE_SIZE);
  t.is(macTable.entries, macTable.capacity, 'the table is at its cap');
  t.true(macTable.refusals > 0, 'what it could not take is counted');
  t.true(after.rss - between < RSS_BOUND_MB, `memory stays bounded: the fourth million MACs took it from ${between.toFixed(0)} to ${after.rss.toFixed(0)} MB`);
  t.true(pings.sent >= 100, 'the ping ran through the flood');
  t.deepEqual(pings.lost_at, [], 'vm2 and vm3 lost no ping');
  t.true(await eventually(() => ping(lab, vm2, '10.9.0.3', 1)), 'and still reach each other');
});
