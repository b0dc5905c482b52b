// The connection table: found either way within its zone only, TCP's states from flow setups,
// expiry by state, a bounded table that refuses new connections, and two threads' views of one.
import test from 'ava';
import { IpProtocol, parseAddress } from '../../src/packet';
import { ConnTable, CtState, nextTcpState, TcpBits } from '../../src/flow';

const [A, B] = [parseAddress('10.0.0.1'), parseAddress('10.0.0.2')];
const ZONE: [number, number] = [1, 2];
const OTHER_ZONE: [number, number] = [3, 4];

test('a connection is found both ways in its own zone, and in no other', (t) => {
  const table = new ConnTable(64);
  const slot = table.open(ZONE, IpProtocol.tcp, A, B, 40000, 22, CtState.synSent, 0);
  t.true(slot >= 0);
  t.like(table.find(ZONE, IpProtocol.tcp, A, B, 40000, 22), { slot, reply: false, state: CtState.synSent });
  t.like(table.find(ZONE, IpProtocol.tcp, B, A, 22, 40000), { slot, reply: true });
  t.is(table.find(OTHER_ZONE, IpProtocol.tcp, B, A, 22, 40000), null, 'another tenant with the same addresses');
  t.is(table.find(ZONE, IpProtocol.udp, A, B, 40000, 22), null);
  t.is(table.open(ZONE, IpProtocol.tcp, A, B, 40000, 22, CtState.synSent, 0), slot, 'opened again: the same');
  t.is(new ConnTable(table.buffer).find(ZONE, IpProtocol.tcp, B, A, 22, 40000)?.slot, slot, 'another thread sees it');
});

test("TCP's states follow SYN, SYN-ACK, ACK, FIN and RST", (t) => {
  let s = nextTcpState(0, TcpBits.syn, false);
  t.is(s, CtState.synSent);
  s = nextTcpState(s, TcpBits.syn | TcpBits.ack, true);
  t.is(s, CtState.synReceived);
  s = nextTcpState(s, TcpBits.ack, false);
  t.is(s, CtState.established);
  t.is(nextTcpState(s, TcpBits.ack, true), CtState.established);
  t.is(nextTcpState(s, TcpBits.fin | TcpBits.ack, true), CtState.closing);
  t.is(nextTcpState(s, TcpBits.rst, false), CtState.closed);
  t.is(nextTcpState(0, TcpBits.ack, false), CtState.established, 'picked up mid-stream');
});

test('connections end at their state\'s timeout unless refreshed; a full table refuses new ones and counts them', (t) => {
  const table = new ConnTable(4);
  const at = 1_000_000;
  const slots = [0, 1, 2, 3].map((i) => table.open(ZONE, IpProtocol.udp, A, B, 1000 + i, 53, CtState.unreplied, at));
  t.true(slots.every((s) => s >= 0));
  t.is(table.open(ZONE, IpProtocol.udp, A, B, 2000, 53, CtState.unreplied, at), -1, 'full');
  t.is(table.refusals, 1);
  table.update(slots[0], CtState.replied, true, at);
  table.refresh([slots[1]], at + 20_000);
  t.deepEqual(table.sweep(at + 29_000), [], 'nothing before 30 s');
  t.deepEqual(table.sweep(at + 31_000).sort(), [slots[2], slots[3]].sort(), 'unreplied: 30 s, unless used since');
  t.true(table.open(ZONE, IpProtocol.udp, A, B, 2000, 53, CtState.unreplied, at + 31_000) >= 0, 'room again');
  t.deepEqual(table.sweep(at + 60_000), [slots[1]], 'refreshed at 20 s: gone at 50 s');
  t.deepEqual(table.sweep(at + 121_000).includes(slots[0]), true, 'replied: 120 s');
});
