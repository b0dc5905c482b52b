import test from 'ava';
import { ActionExecutor, ActionTable, DROP_REASONS, FrameSink } from '../../src/flow';
import { toHex } from '../helpers/bytes';
import { icmpEchoRequest } from '../helpers/frames';

class RecordingSink implements FrameSink {
  sent: { port: number; bytes: string }[] = [];
  drops: string[] = [];
  output(port: number, arena: Uint8Array, at: number, length: number) {
    this.sent.push({ port, bytes: toHex(arena.subarray(at, at + length)) });
  }
  drop(code: number) {
    this.drops.push(DROP_REASONS[code]);
  }
  tunnel(key: number, remote: number, arena: Uint8Array, at: number, length: number) {
    this.sent.push({ port: -key, bytes: `${remote.toString(16)}:${toHex(arena.subarray(at, at + length))}` });
  }
}

// vnet header: NEEDS_CSUM with csum_start 34 (the ICMP header), csum_offset 2.
const vnet = Uint8Array.from([1, 0, 0, 0, 0, 0, 34, 0, 2, 0]);

function setUp() {
  const arena = new Uint8Array(4096);
  arena.set(vnet, 0);
  arena.set(icmpEchoRequest, 10);
  const length = 10 + icmpEchoRequest.length;
  return { arena, length, executor: new ActionExecutor(arena, 2048, 2048), table: new ActionTable(), sink: new RecordingSink() };
}

test('outputs hand over the frame in place, in program order', (t) => {
  const { arena, length, executor, table, sink } = setUp();
  executor.run(table.programs[table.intern([{ type: 'output', port: 3 }, { type: 'output', port: 1 }])], 0, length, sink);
  t.deepEqual(sink.sent.map((s) => s.port), [3, 1]);
  t.is(sink.sent[0].bytes, toHex(arena.subarray(0, length)));
});

test('push_vlan inserts the tag after the MACs and moves csum_start; pop_vlan undoes it', (t) => {
  const { length, executor, table, sink } = setUp();
  const program = table.programs[table.intern([
    { type: 'push_vlan', vid: 100, pcp: 5 }, { type: 'output', port: 2 }, { type: 'pop_vlan' }, { type: 'output', port: 3 },
  ])];
  executor.run(program, 0, length, sink);
  const tagged = sink.sent[0].bytes;
  t.is(tagged.slice(20, 20 + 24), toHex(icmpEchoRequest.subarray(0, 12)));
  t.is(tagged.slice(44, 52), '8100a064');
  t.is(tagged.slice(52, 56), '0800');
  t.is(tagged.slice(12, 14), '26', 'csum_start 34 + 4 = 38');
  t.is(sink.sent[1].bytes, toHex(Uint8Array.from([...vnet, ...icmpEchoRequest])));
});

test('an empty program and pop_vlan on an untagged frame are counted drops', (t) => {
  const { length, executor, table, sink } = setUp();
  executor.run(table.programs[table.intern([])], 0, length, sink);
  executor.run(table.programs[table.intern([{ type: 'pop_vlan' }, { type: 'output', port: 1 }])], 0, length, sink);
  t.deepEqual(sink.drops, ['noOutput', 'vlanMismatch']);
  t.is(sink.sent.length, 0);
});
