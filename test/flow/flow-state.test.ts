// Flow state between hosts: a record written out byte by byte, parsed, emitted back the same,
// and refused when short, of another version or of a bad address length.
import test from 'ava';
import { ConnTable, CtState, emitFlowState, FLOW_STATE_BYTES, parseFlowState } from '../../src/flow';
import { IpProtocol, parseAddress } from '../../src/packet';
import { hex, toHex } from '../helpers/bytes';

const RECORD = hex(`
  01 03 06 04  0000 0001 ffff fffe
  0a00 0105 0000 0000 0000 0000 0000 0000
  0a00 0206 0000 0000 0000 0000 0000 0000
  e3a2 0016`);

test('a record parses to the connection it names, and is emitted back byte for byte', (t) => {
  t.is(RECORD.length, FLOW_STATE_BYTES);
  const state = parseFlowState(RECORD, 0, RECORD.length)!;
  t.deepEqual({ ...state, source: [...state.source], destination: [...state.destination] }, {
    zone: [1, -2], protocol: IpProtocol.tcp, source: [10, 0, 1, 5], destination: [10, 0, 2, 6], sourcePort: 58274, destinationPort: 22, state: CtState.established,
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
