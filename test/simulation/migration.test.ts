// A port whose VM migrates is bound at both ends of the move: frames to it are delivered at
// the source and copied to the destination, from whichever host they start.
import test from 'ava';
import { Action } from '../../src/flow';
import { emitEthernet, EtherType, parseMac } from '../../src/packet';
import { TestHost } from '../helpers/topology';

const VM = '52:54:00:00:00:0a';
const PEER = '52:54:00:00:00:0b';
const H2 = '192.168.100.2';
const H3 = '192.168.100.3';

function frame(source: string, destination: string): Uint8Array {
  const b = new Uint8Array(64);
  emitEthernet(b, 0, { destination: parseMac(destination), source: parseMac(source), ethertype: EtherType.ipv4 });
  return b;
}

/** Host h1 with a peer VM on datapath port 2, and the migrating port `vm` (key 42) bound on
 *  `source`, moving to `destination` (interface tapd). */
function migrating(source: string, destination: string) {
  const host = new TestHost();
  host.put('host', { id: 'h2', underlayAddress: H2 });
  host.put('host', { id: 'h3', underlayAddress: H3 });
  const bridge = host.put('bridge', { name: 'b' });
  const vm = host.put('port', { device: bridge, name: 'vm', tunnelKey: 42 });
  const peer = host.put('port', { device: bridge, name: 'peer' });
  host.put('binding', { id: vm, host: source, interface: 'tap1' });
  host.put('binding', { id: peer, host: 'h1', interface: 'tap2' });
  host.put('migration', { id: vm, port: vm, sourceHost: source, destinationHost: destination, destinationInterface: 'tapd', state: 'mirroring', markKey: 77 });
  host.ports = [{ number: 2, name: 'tap2', up: true, binding: peer }];
  if (source === 'h1') host.ports.push({ number: 1, name: 'tap1', up: true, binding: vm });
  if (destination === 'h1') host.ports.push({ number: 3, name: 'tapd', up: true, binding: vm });
  return { host, vm };
}

const toVm = (host: TestHost, vmPort: number | null) => {
  if (vmPort !== null) host.simulate(vmPort, frame(VM, PEER)); // learned on the port, wherever it is
  return host.simulate(2, frame(PEER, VM)).actions;
};

test('at the source: delivered here, and copied to the destination', (t) => {
  const { host } = migrating('h1', 'h2');
  t.deepEqual(toVm(host, 1), [{ type: 'output', port: 1 }, { type: 'tunnel', key: 42, remote: H2 }] as Action[]);
});

test('at the source: what the guest sends goes its way, and first, as it came, to the destination by the mark key', (t) => {
  const { host } = migrating('h1', 'h2');
  host.simulate(2, frame(PEER, VM));
  t.deepEqual(host.simulate(1, frame(VM, PEER)).actions, [{ type: 'tunnel', key: 77, remote: H2 }, { type: 'output', port: 2 }] as Action[]);
});

test('at the destination: tunnelled to the source, and copied to the arriving interface; its frames enter as the port', (t) => {
  const { host, vm } = migrating('h2', 'h1');
  t.deepEqual(toVm(host, 3), [{ type: 'tunnel', key: 42, remote: H2 }, { type: 'output', port: 3 }] as Action[]);
  t.deepEqual(host.host.bindingsHere().get('tapd'), vm, 'the arriving interface is bound here while it lasts');
  t.deepEqual(host.host.tunnelMap(host.ports).delivery, [[42, 3]], 'copies from other hosts reach it by the port\'s key');
  t.deepEqual(host.host.tunnelMap(host.ports).marks, [[77, 3]], 'and the source\'s marks by the migration\'s');
  t.deepEqual(host.simulate(3, frame(VM, PEER)).actions.filter((a) => a.type === 'tunnel' && a.key === 77), [], 'a guest running here sends no marks');
});

test('on a third host: to both ends, one copy each', (t) => {
  const { host } = migrating('h2', 'h3');
  t.deepEqual(toVm(host, null).filter((a) => a.type === 'tunnel'), [{ type: 'tunnel', key: 42, remote: H2 }, { type: 'tunnel', key: 42, remote: H3 }] as Action[]);
});

test('committed: the binding moved, delivered at the destination alone', (t) => {
  const { host, vm } = migrating('h1', 'h2');
  host.put('binding', { id: vm, host: 'h2', interface: 'tapd' });
  host.put('migration', { id: vm, port: vm, sourceHost: 'h1', destinationHost: 'h2', destinationInterface: 'tapd', state: 'committed' });
  host.ports = host.ports.filter((p) => p.number !== 1);
  t.deepEqual(toVm(host, null).filter((a) => a.type !== 'output' || a.port !== 2), [{ type: 'tunnel', key: 42, remote: H2 }] as Action[]);
});

test('while a commit is half written (the binding moved, the migration not yet ended): one copy, to the destination', (t) => {
  const { host, vm } = migrating('h2', 'h3');
  host.put('binding', { id: vm, host: 'h3', interface: 'tapd' });
  t.deepEqual(toVm(host, null).filter((a) => a.type === 'tunnel'), [{ type: 'tunnel', key: 42, remote: H3 }] as Action[]);
});
