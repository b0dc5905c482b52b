// Mirrors in the walk: a copy of a port's frames is an action of the flow, to a port bound
// here (SPAN) or on another host (over the tunnel); the destination takes nothing else.
import test from 'ava';
import { Action } from '../../src/flow';
import { emitEthernet, EtherType, parseMac } from '../../src/packet';
import { vportTag } from '../../src/simulation';
import { MirrorDirection } from '../../src/topology';
import { icmpEchoRequest, udpDatagram } from '../helpers/frames';
import { outputs, TestHost } from '../helpers/topology';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

function frame(source: string, destination: string): Uint8Array {
  const b = new Uint8Array(64);
  emitEthernet(b, 0, { destination: parseMac(destination), source: parseMac(source), ethertype: EtherType.ipv4 });
  return b;
}

/** A bridge with vm1 (datapath port 1), vm2 (2) and a monitor port (3), vm1 mirrored to it. */
function mirrored(direction: MirrorDirection, match = '') {
  const host = new TestHost();
  const bridge = host.put('bridge', { name: 'b' });
  const [vm1, vm2, monitor] = ['vm1', 'vm2', 'monitor'].map((name) => host.put('port', { device: bridge, name }));
  host.ports = [vm1, vm2, monitor].map((binding, i) => ({ number: i + 1, name: `tap${i + 1}`, up: true, binding }));
  host.put('mirror', { name: 'span', port: vm1, toPort: monitor, direction, match });
  return { host, vm1, monitor };
}

test('both directions: what vm1 sends and what it gets is copied to the monitor, which floods leave out', (t) => {
  const { host, monitor } = mirrored('both');
  const sent = host.simulate(1, frame(A, B));
  t.deepEqual(outputs(sent.actions), [3, 2], 'the copy first, then the flood, which skips the monitor');
  t.true(sent.tags.includes(vportTag(monitor)), 'a change to the destination reaches the flow');
  const got = host.simulate(2, frame(B, A));
  t.deepEqual(outputs(got.actions), [3, 1], 'toward vm1: copied as it leaves');
  const between = host.simulate(2, frame(B, 'ff:ff:ff:ff:ff:ff'));
  t.deepEqual(outputs(between.actions), [3, 1], 'a broadcast reaches vm1 once and the monitor once');
});

test('one direction copies only that way', (t) => {
  const inbound = mirrored('in').host;
  t.deepEqual(outputs(inbound.simulate(1, frame(A, B)).actions), [3, 2]);
  t.deepEqual(outputs(inbound.simulate(2, frame(B, A)).actions), [1]);
  const outbound = mirrored('out').host;
  t.deepEqual(outputs(outbound.simulate(1, frame(A, B)).actions), [2]);
  t.deepEqual(outputs(outbound.simulate(2, frame(B, A)).actions), [3, 1]);
});

test('a match selects the frames copied', (t) => {
  const { host } = mirrored('in', 'icmp,nw_dst=10.0.0.0/24');
  t.deepEqual(outputs(host.simulate(1, icmpEchoRequest).actions), [3, 2]);
  t.deepEqual(outputs(host.simulate(1, udpDatagram).actions), [2], 'not ICMP: no copy');
});

test('the monitor sends nothing and is learned nowhere', (t) => {
  const { host } = mirrored('both');
  const result = host.simulate(3, frame('52:54:00:00:00:0c', 'ff:ff:ff:ff:ff:ff'));
  t.deepEqual(result.actions, [{ type: 'drop', reason: 'mirrorDestination' }] as Action[]);
  t.deepEqual(result.stations, []);
});

test('a destination bound on another host gets the copy through the tunnel', (t) => {
  const { host, monitor } = mirrored('in');
  host.put('host', { id: 'h2', underlayAddress: '192.168.100.2' });
  host.put('port', { id: monitor, device: host.host.state(host.ports).ports.find((p) => p.id === monitor)!.device, name: 'monitor', tunnelKey: 77 });
  host.put('binding', { id: monitor, host: 'h2', interface: 'tap9' });
  host.ports = host.ports.filter((p) => p.number !== 3);
  const result = host.simulate(1, frame(A, B));
  t.deepEqual(result.actions.slice(0, 2), [{ type: 'tunnel', key: 77, remote: '192.168.100.2' }, { type: 'output', port: 2 }] as Action[]);
});

test('a trace says which mirror copied, and where', (t) => {
  const { host } = mirrored('in');
  t.true(host.simulate(1, frame(A, B), 'trace').trace.some((line) => /mirror span: copy to monitor \(datapath port 3\)/.test(line)));
});
