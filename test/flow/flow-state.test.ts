// Flow state between hosts: a record written out byte by byte, parsed, emitted back the same,
// and refused when short, of another version or of a bad address length.
import test from 'ava';
import { acceptFlowState, ConnTable, CtState, emitFlowState, FLOW_STATE_BYTES, parseFlowState } from '../../src/flow';
import { IpProtocol, parseAddress } from '../../src/packet';
import { hex, toHex } from '../helpers/bytes';

const RECORD = hex(`
  03 03 06 04  0000 0001 ffff fffe
  0a00 0105 0000 0000 0000 0000 0000 0000
  0a00 0206 0000 0000 0000 0000 0000 0000
  e3a2 0016  0000 0000 0000 0000  0000 0000 0000 0000 0000 0000 0000 0000  0000 00 00 0000 0000`);
/** The same connection, translated to 203.0.113.2:1088 with its reply index in zone [7, 8]. */
const TRANSLATED = hex(`
  03 03 06 04  0000 0001 ffff fffe
  0a00 0105 0000 0000 0000 0000 0000 0000
  0a00 0206 0000 0000 0000 0000 0000 0000
  e3a2 0016  0000 0007 0000 0008  cb00 7102 0000 0000 0000 0000 0000 0000  0440 01 00 0000 0000`);

test('a record parses to the connection it names, and is emitted back byte for byte', (t) => {
  t.is(RECORD.length, FLOW_STATE_BYTES);
  const state = parseFlowState(RECORD, 0, RECORD.length)!;
  t.deepEqual({ ...state, source: [...state.source], destination: [...state.destination] }, {
    zone: [1, -2], protocol: IpProtocol.tcp, source: [10, 0, 1, 5], destination: [10, 0, 2, 6], sourcePort: 58274, destinationPort: 22, state: CtState.established, nat: null,
  });
  const out = new Uint8Array(FLOW_STATE_BYTES);
  emitFlowState(out, 0, state);
  t.is(toHex(out), toHex(RECORD));
  const table = new ConnTable(16);
  table.open(state.zone, state.protocol, state.source, state.destination, state.sourcePort, state.destinationPort, state.state, 0);
  t.like(table.find([1, -2], IpProtocol.tcp, parseAddress('10.0.2.6'), parseAddress('10.0.1.5'), 22, 58274), { reply: true, state: CtState.established });
});

test('short, another version, or an address that is neither 4 nor 16 bytes: refused', (t) => {
  t.is(parseFlowState(RECORD, 0, RECORD.length - 1), null);
  for (const [at, value] of [[0, 2], [3, 5], [1, 0]]) {
    const bad = RECORD.slice();
    bad[at] = value;
    t.is(parseFlowState(bad, 0, bad.length), null, `byte ${at} = ${value}`);
  }
});

test('a translated connection\'s record carries its translation; taken in, its reply is found by the translated tuple, and a port taken from a stale connection ends it', (t) => {
  const state = parseFlowState(TRANSLATED, 0, TRANSLATED.length)!;
  t.deepEqual(state.nat && { ...state.nat, address: [...state.nat.address] }, { zone: [7, 8], address: [203, 0, 113, 2], port: 1088, destination: false });
  const out = new Uint8Array(FLOW_STATE_BYTES);
  emitFlowState(out, 0, state);
  t.is(toHex(out), toHex(TRANSLATED));
  const table = new ConnTable(64);
  // A stale connection here held 203.0.113.2:1088 to the same destination: the sender's lease says it is over.
  const stale = table.openTranslated({ ...state, sourcePort: 40000 }, { zone: [7, 8], address: state.nat!.address, ports: [[1088, 1]] }, CtState.established, 0);
  t.like(stale, { nat: { port: 1088 } });
  t.deepEqual(acceptFlowState(table, state, 0)?.length, 2, 'the stale connection and its reply index ended');
  const reply = table.find([7, 8], IpProtocol.tcp, parseAddress('10.0.2.6'), parseAddress('203.0.113.2'), 22, 1088);
  t.like(reply, { reply: true, nat: { port: 58274, replyIndex: true } });
  t.deepEqual([...reply!.nat!.address], [10, 0, 1, 5]);
  t.deepEqual(acceptFlowState(table, state, 0), [], 'told again: nothing changes');
});
