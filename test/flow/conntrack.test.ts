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

const OUTSIDE = parseAddress('198.51.100.7');
const GATEWAY = parseAddress('203.0.113.2');
const NAT_ZONE: [number, number] = [9, 9];

test('source NAT: a connection gets a port no other connection to the same destination holds; its reply is found by the translated tuple; both end together', (t) => {
  const table = new ConnTable(256);
  const nat = { zone: NAT_ZONE, address: GATEWAY, ports: [[2000, 2], [3000, 1]] as [number, number][] };
  const opened = [40000, 40001, 40002].map((port) => table.openTranslated({ zone: ZONE, protocol: IpProtocol.tcp, source: A, destination: OUTSIDE, sourcePort: port, destinationPort: 443 }, nat, CtState.synSent, 0));
  const ports = opened.map((c) => (typeof c === 'object' ? c.nat!.port : -1));
  t.deepEqual([...ports].sort(), [2000, 2001, 3000], 'three connections, three ports');
  t.is(table.openTranslated({ zone: ZONE, protocol: IpProtocol.tcp, source: B, destination: OUTSIDE, sourcePort: 1, destinationPort: 443 }, nat, CtState.synSent, 0), 'exhausted');
  t.is(table.exhausted, 1);
  t.like(table.openTranslated({ zone: ZONE, protocol: IpProtocol.tcp, source: B, destination: OUTSIDE, sourcePort: 1, destinationPort: 80 }, nat, CtState.synSent, 0), { nat: { replyIndex: false } }, 'another destination: a port is free for it');
  const again = table.openTranslated({ zone: ZONE, protocol: IpProtocol.tcp, source: A, destination: OUTSIDE, sourcePort: 40001, destinationPort: 443 }, nat, CtState.synSent, 0);
  t.like(again, { nat: { port: ports[1] } }, 'a connection keeps its port');
  const reply = table.find(NAT_ZONE, IpProtocol.tcp, OUTSIDE, GATEWAY, 443, ports[1]);
  t.like(reply, { reply: true, slot: (opened[1] as { slot: number }).slot, nat: { port: 40001, replyIndex: true } });
  t.like(table.find(ZONE, IpProtocol.tcp, A, OUTSIDE, 40001, 443), { reply: false, nat: { port: ports[1], replyIndex: false } });
  const size = table.size;
  table.close((opened[1] as { slot: number }).slot);
  t.is(table.size, size - 2, 'the connection and its reply index end together');
  t.is(table.find(NAT_ZONE, IpProtocol.tcp, OUTSIDE, GATEWAY, 443, ports[1]), null);
  t.is(table.translations().length, 3);
  const swept = table.sweep(10 ** 12);
  t.is(swept.length, 6, 'past their time: each connection with its reply index');
  t.is(table.size, 0);
});

test("a load balancer's connection whose client reuses a port held by a closing connection to the same member evicts it; a live one keeps it", (t) => {
  const table = new ConnTable(256);
  const [member, vip] = [parseAddress('10.0.2.13'), parseAddress('10.0.2.100')];
  const toMember = { zone: NAT_ZONE, address: member, ports: [[8080, 1]] as [number, number][], destination: true };
  const old = table.openTranslated({ zone: ZONE, protocol: IpProtocol.tcp, source: A, destination: vip, sourcePort: 40000, destinationPort: 80 }, toMember, CtState.established, 0);
  if (typeof old !== 'object') return t.fail(String(old));
  const through81 = { zone: ZONE, protocol: IpProtocol.tcp, source: A, destination: vip, sourcePort: 40000, destinationPort: 81 };
  t.is(table.openTranslated(through81, toMember, CtState.synSent, 0), 'exhausted', 'the member already has this client port, live');
  table.update(old.slot, CtState.closing, false, 0);
  const evicted: number[] = [];
  const opened = table.openTranslated(through81, toMember, CtState.synSent, 0, null, evicted);
  t.like(opened, { nat: { port: 8080, replyIndex: false } });
  t.is(evicted.length, 2, 'the closing connection and its reply index');
  t.true(evicted.includes(old.slot));
  t.like(table.find(NAT_ZONE, IpProtocol.tcp, member, A, 8080, 40000), { reply: true, slot: (opened as { slot: number }).slot, nat: { port: 81 } }, "the member's reply goes back through port 81 now");
  t.is(table.find(ZONE, IpProtocol.tcp, A, vip, 40000, 80), null);
});

test('a copy of the table, restored into a new one of the same capacity, finds the same connections; another capacity takes nothing', (t) => {
  const table = new ConnTable(64);
  const slot = table.open(ZONE, IpProtocol.udp, A, B, 40000, 7, CtState.unreplied, 0);
  const copy = table.copy();
  const successor = new ConnTable(64);
  t.true(successor.restore(copy));
  t.like(successor.find(ZONE, IpProtocol.udp, B, A, 7, 40000), { slot, reply: true, state: CtState.unreplied });
  t.is(successor.size, table.size);
  t.true(successor.open(ZONE, IpProtocol.tcp, A, B, 40001, 22, CtState.synSent, 0) >= 0, 'it takes new connections: its lock is free');
  const other = new ConnTable(128);
  t.false(other.restore(copy));
  t.is(other.find(ZONE, IpProtocol.udp, B, A, 7, 40000), null);
});
