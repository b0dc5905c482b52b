import test from 'ava';
import { emitEthernet, emitVlanTag, EtherType, parseMac } from '../../src/packet';
import { deviceTag, floodTag, macTag, portTag, TABLE_SPACE_TAG, vportTag } from '../../src/simulation';
import { outputs, TestHost } from '../helpers/topology';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function frame(source: string, destination: string, vid?: number): Uint8Array {
  const b = new Uint8Array(64);
  const at = emitEthernet(b, 0, { destination: parseMac(destination), source: parseMac(source), ethertype: vid === undefined ? EtherType.ipv4 : EtherType.vlan });
  if (vid !== undefined) emitVlanTag(b, at, { pcp: 0, dei: false, vid, ethertype: EtherType.ipv4 });
  return b;
}

const trunks = () => new TestHost([1, 2, 3].map((number) => ({ number, name: `p${number}`, up: true })));

test('broadcast floods to every other up port of the bridge, tied to the bridge', (t) => {
  const host = trunks();
  host.ports.push({ number: 4, name: 'p4', up: false });
  const result = host.simulate(1, frame(A, BROADCAST));
  t.deepEqual(outputs(result.actions), [2, 3]);
  t.true(result.tags.includes(floodTag('local')), 'a port added to the bridge changes its floods');
  t.deepEqual(result.invalidate, [macTag('local', 0, parseMac(A))], 'a new station invalidates floods toward it');
});

test('unknown unicast floods; once the destination is learned it goes to its port only', (t) => {
  const host = trunks();
  const unknown = host.simulate(1, frame(A, B));
  t.deepEqual(outputs(unknown.actions), [2, 3]);
  t.true(unknown.tags.includes(macTag('local', 0, parseMac(B))), 'the flood is tied to B, so learning B replaces it');
  t.true(unknown.tags.includes(floodTag('local')), 'and to the ports it goes out of');
  host.simulate(2, frame(B, A));
  const known = host.simulate(1, frame(A, B));
  t.deepEqual(outputs(known.actions), [2]);
  t.deepEqual(known.tags.sort(), [macTag('local', 0, parseMac(B)), deviceTag('local'), portTag(1), portTag(2), vportTag('local:p1'), vportTag('local:p2')].sort(), 'not to the floods: a port that comes or goes leaves it be');
});

test('a MAC that moves invalidates the flows tagged with it', (t) => {
  const host = trunks();
  host.simulate(2, frame(B, A));
  t.deepEqual(host.simulate(2, frame(B, A)).invalidate, [], 'refreshing changes nothing');
  t.deepEqual(host.simulate(3, frame(B, A)).invalidate, [macTag('local', 0, parseMac(B))]);
  t.deepEqual(outputs(host.simulate(1, frame(A, B)).actions), [3]);
});

test('a full table still forwards, and tags the flow to retry when space frees', (t) => {
  const host = trunks();
  const table = host.host.macTable('local')!;
  for (let i = 0; i < table.capacity; i++) table.learn(0, parseMac(`52:54:00:00:01:${i.toString(16).padStart(2, '0')}`), 0, 9, 0);
  host.simulate(1, frame(A, BROADCAST));
  const refused = host.simulate(2, frame(B, '52:54:00:00:01:00'));
  t.true(refused.tags.includes(TABLE_SPACE_TAG));
  t.true(table.refusals >= 1);
});

test('a multicast source, a down in-port and an unbound one are drops with reasons', (t) => {
  const host = trunks();
  t.deepEqual(host.simulate(1, frame('01:00:5e:00:00:01', B)).actions, [{ type: 'drop', reason: 'sourceIsMulticast' }]);
  host.ports[0].up = false;
  t.deepEqual(host.simulate(1, frame(A, B)).actions, [{ type: 'drop', reason: 'portDown' }]);
  t.deepEqual(host.simulate(9, frame(A, B)).actions, [{ type: 'drop', reason: 'unbound' }]);
});

test('VLANs: access ports carry one VLAN untagged, trunks carry it tagged', (t) => {
  const host = new TestHost([
    { number: 1, name: 'p1', up: true, vlan: 100 }, { number: 2, name: 'p2', up: true, vlan: 100 },
    { number: 3, name: 'p3', up: true, vlan: 200 }, { number: 4, name: 'p4', up: true },
  ]);
  t.deepEqual(host.simulate(1, frame(A, BROADCAST)).actions, [{ type: 'output', port: 2 }, { type: 'push_vlan', vid: 100 }, { type: 'output', port: 4 }]);
  t.deepEqual(host.simulate(4, frame(B, BROADCAST, 100)).actions, [{ type: 'pop_vlan' }, { type: 'output', port: 1 }, { type: 'output', port: 2 }]);
  t.deepEqual(host.simulate(1, frame(A, B, 100)).actions, [{ type: 'drop', reason: 'vlanMismatch' }], 'tagged frames on an access port');
});

test('virtual bridges are separate: a frame never leaves its own bridge', (t) => {
  const host = new TestHost();
  const red = host.put('bridge', { name: 'red' });
  const blue = host.put('bridge', { name: 'blue' });
  const ports = [red, red, blue, blue].map((device, i) => host.put('port', { device, name: `v${i}` }));
  host.ports = ports.map((binding, i) => ({ number: i + 1, name: `tap${i}`, up: true, binding }));
  t.deepEqual(outputs(host.simulate(1, frame(A, BROADCAST)).actions), [2]);
  t.deepEqual(outputs(host.simulate(3, frame(A, BROADCAST)).actions), [4]);
  t.deepEqual(outputs(host.simulate(4, frame(B, A)).actions), [3], 'A is learned in blue on its own port, not in red');
});
