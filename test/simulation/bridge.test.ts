import test from 'ava';
import { Action, FlowKeyExtractor, KEY_WORDS } from '../../src/flow';
import { emitEthernet, emitVlanTag, EtherType, parseMac } from '../../src/packet';
import { BridgePort, FLOOD_TAG, LearningBridge, MacTable, macTag, portTag, TABLE_SPACE_TAG } from '../../src/simulation';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const extractor = new FlowKeyExtractor();

function key(inPort: number, source: string, destination: string, vid?: number): Uint32Array {
  const frame = new Uint8Array(64);
  const at = emitEthernet(frame, 0, { destination: parseMac(destination), source: parseMac(source), ethertype: vid === undefined ? EtherType.ipv4 : EtherType.vlan });
  if (vid !== undefined) emitVlanTag(frame, at, { pcp: 0, dei: false, vid, ethertype: EtherType.ipv4 });
  const k = new Uint32Array(KEY_WORDS);
  extractor.extract(frame, 0, frame.length, inPort, k, 0);
  return k;
}

const trunks: BridgePort[] = [1, 2, 3].map((number) => ({ number, up: true }));
const outputs = (actions: Action[]) => actions.filter((a) => a.type === 'output').map((a) => (a as { port: number }).port);

test('broadcast floods to every other up port, tagged as a flood', (t) => {
  const bridge = new LearningBridge(new MacTable(16));
  const ports = [...trunks, { number: 4, up: false }];
  const result = bridge.simulate(key(1, A, BROADCAST), 0, ports, 0);
  t.deepEqual(outputs(result.actions), [2, 3]);
  t.true(result.tags.includes(FLOOD_TAG));
  t.deepEqual(result.invalidate, [macTag(0, parseMac(A))], 'a new station invalidates floods toward it');
});

test('unknown unicast floods; once the destination is learned it goes to its port only', (t) => {
  const bridge = new LearningBridge(new MacTable(16));
  const unknown = bridge.simulate(key(1, A, B), 0, trunks, 0);
  t.deepEqual(outputs(unknown.actions), [2, 3]);
  t.true(unknown.tags.includes(macTag(0, parseMac(B))), 'the flood is tied to B, so learning B replaces it');
  bridge.simulate(key(2, B, A), 0, trunks, 0);
  const known = bridge.simulate(key(1, A, B), 0, trunks, 0);
  t.deepEqual(outputs(known.actions), [2]);
  t.deepEqual(known.tags.sort(), [macTag(0, parseMac(B)), portTag(1), portTag(2)].sort());
});

test('a MAC that moves invalidates the flows tagged with it', (t) => {
  const bridge = new LearningBridge(new MacTable(16));
  bridge.simulate(key(2, B, A), 0, trunks, 0);
  t.deepEqual(bridge.simulate(key(2, B, A), 0, trunks, 0).invalidate, [], 'refreshing changes nothing');
  const moved = bridge.simulate(key(3, B, A), 0, trunks, 0);
  t.deepEqual(moved.invalidate, [macTag(0, parseMac(B))]);
  t.deepEqual(outputs(bridge.simulate(key(1, A, B), 0, trunks, 0).actions), [3]);
});

test('a full table still forwards, and tags the flow to retry when space frees', (t) => {
  const table = new MacTable(1);
  const bridge = new LearningBridge(table);
  bridge.simulate(key(1, A, BROADCAST), 0, trunks, 0);
  const refused = bridge.simulate(key(2, B, A), 0, trunks, 0);
  t.deepEqual(outputs(refused.actions), [1]);
  t.true(refused.tags.includes(TABLE_SPACE_TAG));
  t.is(table.refusals, 1);
});

test('a multicast source and a down in-port are drops with reasons', (t) => {
  const bridge = new LearningBridge(new MacTable(16));
  t.deepEqual(bridge.simulate(key(1, '01:00:5e:00:00:01', B), 0, trunks, 0).actions, [{ type: 'drop', reason: 'sourceIsMulticast' }]);
  t.deepEqual(bridge.simulate(key(1, A, B), 0, [{ number: 1, up: false }, ...trunks.slice(1)], 0).actions, [{ type: 'drop', reason: 'portDown' }]);
});

test('VLANs: access ports carry one VLAN untagged, trunks carry it tagged', (t) => {
  const bridge = new LearningBridge(new MacTable(16));
  const ports: BridgePort[] = [{ number: 1, up: true, vlan: 100 }, { number: 2, up: true, vlan: 100 }, { number: 3, up: true, vlan: 200 }, { number: 4, up: true }];
  const fromAccess = bridge.simulate(key(1, A, BROADCAST), 0, ports, 0);
  t.deepEqual(fromAccess.actions, [{ type: 'output', port: 2 }, { type: 'push_vlan', vid: 100 }, { type: 'output', port: 4 }]);
  const fromTrunk = bridge.simulate(key(4, B, BROADCAST, 100), 0, ports, 0);
  t.deepEqual(fromTrunk.actions, [{ type: 'pop_vlan' }, { type: 'output', port: 1 }, { type: 'output', port: 2 }]);
  t.deepEqual(bridge.simulate(key(1, A, B, 100), 0, ports, 0).actions, [{ type: 'drop', reason: 'vlanMismatch' }], 'tagged frames on an access port');
});
