import test from 'ava';
import { HostTopology, LOCAL_BRIDGE, MAX_NEIGHBORS_PER_ROUTER } from '../../src/agent/host-topology';
import { deviceTag, floodTag, vportTag } from '../../src/simulation';
import { EMPTY, EMPTY_RULE, Kind, KindMap, Stored } from '../../src/topology';

let version = 0;
const stored = <K extends Kind>(kind: K, fields: Partial<KindMap[K]> & { id: string }): Stored<K> => ({
  kind, version: ++version, value: { tenant: 't1', ...EMPTY[kind], ...fields } as KindMap[K],
});

const bridge = stored('bridge', { id: 'b1', name: 'b1' });
const port = stored('port', { id: 'p1', device: 'b1', name: 'vm1' });
const here = stored('binding', { id: 'p1', host: 'h1', interface: 'vnet0' });

test('bindings of this host are the interfaces to attach; another host\'s are not', (t) => {
  const host = new HostTopology('h1', 16);
  host.setObjects([bridge, port, here, stored('port', { id: 'p2', device: 'b1' }), stored('binding', { id: 'p2', host: 'h2', interface: 'vnet0' })]);
  t.deepEqual([...host.bindingsHere()], [['vnet0', 'p1']]);
});

test('a change invalidates the tags of what it touched, and only those: a bridge port its floods, a router port every flow of its router', (t) => {
  const host = new HostTopology('h1', 16);
  host.setObjects([bridge, port, here]);
  t.deepEqual(host.setObjects([bridge, port, here]), [], 'nothing changed: nothing stale');
  const renamed = { ...port, version: ++version, value: { ...port.value, name: 'vm-one' } };
  t.deepEqual(host.setObjects([bridge, renamed, here]).sort(), [floodTag('b1'), vportTag('p1')].sort());
  t.deepEqual(host.setObjects([bridge, renamed]).sort(), [floodTag('b1'), vportTag('p1')].sort(), 'an unbinding');
  const router = stored('router', { id: 'r1', name: 'r1' });
  host.setObjects([bridge, renamed, router]);
  t.deepEqual(host.setObjects([bridge, renamed, router, stored('port', { id: 'p9', device: 'r1' })]).sort(), [deviceTag('r1'), vportTag('p9')].sort(), 'its connected routes');
});

test('the state numbers ports stably, binds them to datapath ports, and keeps unbound ones on the local bridge', (t) => {
  const host = new HostTopology('h1', 16);
  host.setObjects([bridge, port, here]);
  const state = host.state([{ number: 3, name: 'vnet0', up: true, binding: 'p1' }, { number: 4, name: 'eth9', up: true, vlan: 10 }]);
  const vm = state.ports.find((p) => p.id === 'p1')!;
  const local = state.ports.find((p) => p.device === LOCAL_BRIDGE)!;
  t.is(vm.datapathPort, 3);
  t.is(local.datapathPort, 4);
  t.is(local.vlan, 10);
  t.false(local.trunk);
  host.changed();
  const again = host.state([{ number: 3, name: 'vnet0', up: true, binding: 'p1' }]);
  t.is(again.ports.find((p) => p.id === 'p1')!.index, vm.index, 'a port keeps its index while it exists');
});

test("a deleted bridge's MAC table is given to the next bridge, emptied", (t) => {
  const host = new HostTopology('h1', 16);
  host.setObjects([bridge]);
  host.macTable('b1')!.learn(0, Uint8Array.of(2, 0, 0, 0, 0, 1), 0, 1, 0);
  host.setObjects([]);
  t.is(host.macTable('b1'), undefined);
  host.setObjects([stored('bridge', { id: 'b2' })]);
  t.is(host.macTable('b2')!.size, 0);
  t.is(host.allMacTables().length, 2, 'the local bridge and b2');
  t.is(host.encode([]).macTables.length, 2, 'no table is left behind for the deleted bridge');
});

test('neighbors learned once invalidate once; those of a deleted router go', (t) => {
  const host = new HostTopology('h1', 16);
  const router = stored('router', { id: 'r1' });
  host.setObjects([router]);
  const n = { router: 'r1', address: '10.0.0.5', mac: '52:54:00:00:00:05' };
  t.is(host.learnNeighbors([n]).length, 1);
  t.is(host.learnNeighbors([n]).length, 0);
  host.setObjects([]);
  t.deepEqual(host.neighborList(), []);
});

test('a router keeps at most MAX_NEIGHBORS_PER_ROUTER neighbors: new ones past it are refused and counted, known ones still move, and room comes back as they go', (t) => {
  const host = new HostTopology('h1', 16);
  host.setObjects([stored('router', { id: 'r1' }), stored('router', { id: 'r2' })]);
  const neighbor = (router: string, i: number, mac = '52:54:00:00:00:05') => ({ router, address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, mac });
  const flood = Array.from({ length: MAX_NEIGHBORS_PER_ROUTER + 10 }, (_, i) => neighbor('r1', i));
  host.learnNeighbors(flood);
  t.is(host.neighborList().length, MAX_NEIGHBORS_PER_ROUTER);
  t.is(host.neighborRefusals, 10);
  t.false(host.knowsNeighbor(flood.at(-1)!), 'a refused one is not known, so it is not shared');
  t.is(host.learnNeighbors([neighbor('r1', 0, '52:54:00:00:00:06')]).length, 1, 'a known one moves');
  t.is(host.learnNeighbors([neighbor('r2', 0)]).length, 1, 'another router has its own room');
  host.setObjects([stored('router', { id: 'r2' })]);
  t.is(host.learnNeighbors([neighbor('r2', 1)]).length, 1);
  host.setObjects([stored('router', { id: 'r1' }), stored('router', { id: 'r2' })]);
  t.is(host.learnNeighbors([neighbor('r1', 1)]).length, 1, 'r1 went with its neighbors, and has room again');
});

test('tunnel zones: a host tunnels only to the hosts it shares a zone with (to all when there is none)', (t) => {
  const host = new HostTopology('h1', 16);
  const hosts = ['h1', 'h2', 'h3'].map((id, i) => stored('host', { id, underlayAddress: `192.168.100.${i + 2}` }));
  const ports = ['p2', 'p3'].map((id) => stored('port', { id, device: 'b1', tunnelKey: id === 'p2' ? 2 : 3 }));
  const bindings = [stored('binding', { id: 'p2', host: 'h2', interface: 'vnet0' }), stored('binding', { id: 'p3', host: 'h3', interface: 'vnet0' })];
  // h1's own VM on the bridge: its walks reach p2 and p3.
  host.setObjects([bridge, ...hosts, port, here, ...ports, ...bindings]);
  t.deepEqual(host.tunnelMap([]).peers.sort(), ['192.168.100.3', '192.168.100.4'], 'no zone: every host');
  const zone = stored('tunnelZone', { id: 'z1', name: 'rack1', hosts: ['h1', 'h2'] });
  t.true(host.setObjects([bridge, ...hosts, port, here, ...ports, ...bindings, zone]).includes('host:h2'), 'a zone change reaches the flows toward its hosts');
  t.deepEqual(host.tunnelMap([]).peers, ['192.168.100.3']);
  const state = host.state([]);
  t.is(state.ports.find((p) => p.id === 'p2')!.remote, '192.168.100.3');
  t.is(state.ports.find((p) => p.id === 'p3')!.remote, '', 'h3 is not in a zone with h1: not reached');
});

test("the state holds the ports this host's walks can reach: its devices', link by link, and the members of the groups their rules name", (t) => {
  const host = new HostTopology('h1', 16);
  const far = [stored('bridge', { id: 'b2' }), stored('port', { id: 'q1', device: 'b2' }), stored('binding', { id: 'q1', host: 'h2', interface: 'vnet0' })];
  host.setObjects([bridge, port, here, ...far]);
  const ids = () => host.state([{ number: 1, name: 'vnet0', up: true, binding: 'p1' }]).ports.map((p) => p.id).sort();
  t.deepEqual(ids(), ['p1'], 'another bridge, with no link to this host\'s: not in reach');
  const linked = [
    stored('router', { id: 'r1' }),
    stored('port', { id: 'rp1', device: 'r1', peer: 'lp1' }), stored('port', { id: 'lp1', device: 'b1', peer: 'rp1' }),
    stored('port', { id: 'rp2', device: 'r1', peer: 'lp2' }), stored('port', { id: 'lp2', device: 'b2', peer: 'rp2' }),
  ];
  host.setObjects([bridge, port, here, ...far, ...linked]);
  t.deepEqual(ids(), ['lp1', 'lp2', 'p1', 'q1', 'rp1', 'rp2'], 'through a router: in reach');
  const groups = [
    stored('securityGroup', { id: 'g1', rules: [{ ...EMPTY_RULE, remoteGroup: 'g2' }] }), stored('securityGroup', { id: 'g2' }),
    stored('bridge', { id: 'b3' }), stored('port', { id: 'm1', device: 'b3', securityGroups: ['g2'], addresses: ['10.3.0.5/24'] }),
  ];
  const member = { ...port, version: ++version, value: { ...port.value, securityGroups: ['g1'] } };
  host.setObjects([bridge, member, here, ...far, ...groups]);
  t.deepEqual(ids(), ['m1', 'p1'], 'out of reach, but its address is what a rule of p1\'s group matches');
});

test("a change says whether it touches what this host attaches or tunnels to: another host's binding or port does not", (t) => {
  const host = new HostTopology('h1', 16);
  host.setObjects([bridge, port, here]);
  const elsewhere = stored('port', { id: 'q1', device: 'b1' });
  t.false(host.apply([{ type: 'put', object: elsewhere }, { type: 'put', object: stored('binding', { id: 'q1', host: 'h2', interface: 'vnet0' }) }]).here);
  t.false(host.apply([{ type: 'put', object: { ...elsewhere, version: ++version, value: { ...elsewhere.value, name: 'renamed' } } }]).here);
  t.true(host.apply([{ type: 'put', object: { ...port, version: ++version, value: { ...port.value, name: 'renamed' } } }]).here, 'a port bound here');
  t.true(host.apply([{ type: 'put', object: stored('binding', { id: 'q1', host: 'h1', interface: 'vnet1' }) }]).here, 'a binding moved here');
  t.true(host.apply([{ type: 'delete', kind: 'binding', id: 'q1' }]).here, 'and gone from here');
  t.deepEqual([...host.bindingsHere()], [['vnet0', 'p1']]);
  t.true(host.apply([{ type: 'put', object: stored('host', { id: 'h3', underlayAddress: '192.168.100.9' }) }]).here, 'a host: a tunnel peer');
});
