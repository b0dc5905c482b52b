// A VM floods its bridge with a million source MACs as fast as it can send them, then more, a
// million at a time: the MAC table fills to its cap and counts what it refuses, the agent's
// memory stops growing, and a ping between two other VMs on the same bridge loses nothing.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { eventually, Lab, macFlood, ping, pingUntilStopped, residentMb as rssMb, startAgent, vmOn } from '../../examples/lab';

const MACS = 1_000_000;
const MAC_TABLE_SIZE = 4096;
/** Small enough that the first million fills the flow cache too: how many flows a flood has
 *  installed depends on how fast the slow path answers (24k to 65k of 65,536 here). */
const FLOW_CAPACITY = 8192;
/** Memory is bounded when a million more MACs raise the agent's resident memory above its
 *  highest so far by less than this: a leak of 16 bytes a MAC would not settle. V8's heaps
 *  grow for the first few floods, how many depends on the machine's load (on a quiet one the
 *  RSS went 158 -> 194 -> 237 -> 281 -> 303 MB, then stayed within 299-320 MB for twenty
 *  floods more; a busy CI run's fourth flood still added 66 MB). */
const SETTLED_MB = 16;
/** Floods after which a memory still growing is a failure. */
const MAX_FLOODS = 12;

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

  const pinging = pingUntilStopped(lab, vm2, '10.9.0.3');
  const sent: number[] = [];
  const rss = [rssMb(agent.pid)];
  const settled = () => rss.length > 3 && rss.at(-1)! - Math.max(...rss.slice(0, -1)) < SETTLED_MB;
  while (!settled() && sent.length < MAX_FLOODS) {
    sent.push(await macFlood(lab, flooder, 'eth0', MACS, sent.length * MACS + 1));
    rss.push(rssMb(agent.pid));
  }
  const pings = await pinging.stop();
  const stats = await agent.stats();
  const { macTable } = stats;
  t.log(`flood: ${sent.join(' + ')} frames from new MACs sent; MAC table ${macTable.entries}/${macTable.capacity}, ${macTable.refusals} refused; ` +
    `drops ${JSON.stringify(Object.fromEntries(Object.entries(stats.drops).filter(([, n]) => n > 0)))}; ` +
    `flows ${stats.flows.cached} cached, ${stats.flows.evictions} evicted; RSS ${rss.map((mb) => mb.toFixed(0)).join(' -> ')} MB; ping ${pings.received}/${pings.sent}`);
  t.true(sent.every((n) => n >= MACS / 2), `the flooder sent most of its MACs: ${sent.join(', ')}`);
  t.is(macTable.capacity, MAC_TABLE_SIZE);
  t.is(macTable.entries, macTable.capacity, 'the table is at its cap');
  t.true(macTable.refusals > 0, 'what it could not take is counted');
  t.true(settled(), `memory stays bounded: after ${sent.length} million MACs it still grew, RSS ${rss.map((mb) => mb.toFixed(0)).join(' -> ')} MB`);
  t.true(pings.sent >= 100, 'the ping ran through the flood');
  t.deepEqual(pings.lost_at, [], 'vm2 and vm3 lost no ping');
  t.true(await eventually(() => ping(lab, vm2, '10.9.0.3', 1)), 'and still reach each other');
});
