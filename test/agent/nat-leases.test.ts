// Blocks of source NAT ports as a host leases them from the store: one for a gateway a VM
// bound here sits behind, more on a shortage, the spare ones back when unused, all back when
// the agent stops; a block another host holds is never taken while that host lives.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pino from 'pino';
import { HostTopology } from '../../src/agent/host-topology';
import { NatLeases } from '../../src/agent/nat-leases';
import { EMPTY, EMPTY_SUBNET, EmbeddedStore, Kind, KindMap, natBlockId, newId, TopologyStore } from '../../src/topology';

test('a host leases a block for the gateway its VM sits behind, more on a shortage, gives the spare ones back unused, and all when it stops', async (t) => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'nat-leases-'));
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  const store = EmbeddedStore.open(directory);
  t.teardown(() => store.close());
  const put = <K extends Kind>(kind: K, fields: Partial<KindMap[K]>) => store.put(kind, { id: newId(), tenant: 't1', ...EMPTY[kind], ...fields } as KindMap[K]).then((o) => o.value.id);
  const ext = await put('bridge', { name: 'public', external: true, subnets: [{ ...EMPTY_SUBNET, cidr: '203.0.113.0/24', gateway: '203.0.113.1', dhcp: false }] });
  const [router, gateway, inside, netSide] = [newId(), newId(), newId(), newId()];
  await put('router', { id: router, externalNetwork: ext, gatewayPort: gateway });
  await put('port', { id: gateway, device: router, addresses: ['203.0.113.2/24'] });
  const net = await put('bridge', { name: 'net1' });
  await put('port', { id: inside, device: router, addresses: ['10.0.1.1/24'], peer: netSide });
  await put('port', { id: netSide, device: net, peer: inside });
  const vm = await put('port', { device: net, addresses: ['10.0.1.5'] });
  // Another host holds block 0, and lives.
  await store.put('natBlock', { id: natBlockId(ext, '203.0.113.2', 0), tenant: 'admin', network: ext, address: '203.0.113.2', block: 0, host: 'h2' });
  const stop = await (store as TopologyStore).announce('h2', 60); // alive: its blocks are its own
  t.teardown(() => stop());

  const topology = new HostTopology('h1', 16);
  const follow = async () => topology.setObjects((await store.snapshot()).objects);
  await follow();
  const leases = new NatLeases(store, topology, pino({ level: 'silent' }), 0);
  const mine = async () => {
    await leases.settled();
    await follow();
    return topology.natBlocks().filter((b) => b.host === 'h1');
  };
  leases.balance({}, false);
  t.is((await mine()).length, 0, 'no VM of this host behind the gateway: no block');

  await store.put('binding', { id: vm, tenant: 'admin', host: 'h1', interface: 'tap1', vtepAddress: '', vni: 0, standby: [] });
  await follow();
  leases.balance({}, false);
  const first = await mine();
  t.is(first.length, 1, 'a VM bound here behind the gateway: one block');
  t.not(first[0].block, 0, 'not the other host\'s');

  leases.balance({ [`${ext}/203.0.113.2`]: 200 });
  t.is((await mine()).length, 19, '200 connections refused, all new since the last look: room for twice them and twice their growth (1,200 ports)');

  leases.balance();
  await mine();
  leases.balance(); // unused since the last look (idle time 0 here): the spare ones go back
  t.is((await mine()).length, 1, 'one is kept while a VM here sits behind the gateway');
  t.is(topology.natBlocks().find((b) => b.block === 0)?.host, 'h2');

  await leases.stop();
  await follow();
  t.is(topology.natBlocks().filter((b) => b.host === 'h1').length, 0, 'all go back when the agent stops');
});
