import test from 'ava';
import { parseMac } from '../../src/packet';
import { MacTable, macTag } from '../../src/simulation';

const mac = (n: number) => parseMac(`52:54:00:00:00:${n.toString(16).padStart(2, '0')}`);

test('learns, refreshes, moves, and looks up by VLAN and MAC', (t) => {
  const table = new MacTable(16);
  t.is(table.learn(0, mac(1), 0, 3, 100), 'new');
  t.is(table.learn(0, mac(1), 0, 3, 101), 'refreshed');
  t.is(table.lookup(0, mac(1)), 3);
  t.is(table.lookup(10, mac(1)), 0, 'another VLAN is another table');
  t.is(table.learn(0, mac(1), 0, 4, 102), 'moved');
  t.is(table.lookup(0, mac(1)), 4);
  t.is(table.size, 1);
});

test('a full table refuses new MACs and counts it, keeping the ones it knows', (t) => {
  const table = new MacTable(4);
  for (let i = 0; i < 4; i++) t.is(table.learn(0, mac(i), 0, 1, 0), 'new');
  t.is(table.learn(0, mac(9), 0, 1, 0), 'refused');
  t.is(table.refusals, 1);
  t.is(table.lookup(0, mac(0)), 1);
  t.is(table.learn(0, mac(0), 0, 2, 0), 'moved', 'a known MAC may still move');
});

test('expires entries not seen since a time; refresh keeps them', (t) => {
  const table = new MacTable(64);
  for (let i = 0; i < 40; i++) table.learn(0, mac(i), 0, 1 + (i % 3), 10);
  table.refresh(0, mac(5), 0, 3, 500); // mac 5 lives on port 3: refreshed
  table.refresh(0, mac(6), 0, 2, 500); // mac 6 lives on port 1: not its port, not refreshed
  const expired = table.expire(300);
  t.is(expired.length, 39);
  t.deepEqual(table.entries().map((e) => e.port), [3]);
});

test('flushing a port removes exactly its entries and the rest stay reachable', (t) => {
  const table = new MacTable(64);
  for (let i = 0; i < 50; i++) table.learn(i % 2, mac(i), 0, 1 + (i % 5), 0);
  const flushed = table.flushPort(2);
  t.is(flushed.length, 10);
  t.true(flushed.every((e) => e.port === 2));
  for (let i = 0; i < 50; i++) t.is(table.lookup(i % 2, mac(i)), i % 5 === 1 ? 0 : 1 + (i % 5));
});

test('another thread sees the same table through its buffer', (t) => {
  const table = new MacTable(8);
  table.learn(0, mac(7), 0, 2, 0);
  t.is(new MacTable(table.buffer).lookup(0, mac(7)), 2);
  t.is(macTag('b1', 0, mac(7)), 'mac:b1:0:525400000007');
});
