// Port security with VM stand-ins in namespaces on one tenant bridge: vm1's port has its MAC,
// its addresses and an allowed address pair; vm3's has port security off. Spoofed frames from
// vm1 written byte by byte (MAC, IPv4, IPv6, ARP, a router advertisement, a neighbor
// advertisement for vm2's address) never reach vm2 and are counted on vm1's port by reason;
// its own traffic, DHCP discovery, duplicate address detection and the pair's address pass;
// vm3, and vm1 once its port security is off, get everything through.
import test from 'ava';
import { capture, eventually, Lab, macOf, ping, sendFrames, startAgent, tenantBridge, vmStandIns } from '../../examples/lab';
import { emitArp, emitEthernet, emitIpv4, emitIpv6, emitUdp, EtherType, IpProtocol, parseAddress, parseMac } from '../../src/packet';

const BROADCAST = 'ff:ff:ff:ff:ff:ff';
const ALL_NODES = '33:33:00:00:00:01';

function udp(src: string, dst: string, from: string, to: string, port: number, sourcePort = 40000): Uint8Array {
  const b = new Uint8Array(128);
  const v6 = from.includes(':');
  let at = emitEthernet(b, 0, { destination: parseMac(dst), source: parseMac(src), ethertype: v6 ? EtherType.ipv6 : EtherType.ipv4 });
  const ip = { source: parseAddress(from), destination: parseAddress(to), payloadLength: 8 };
  at = v6
    ? emitIpv6(b, at, { ...ip, trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.udp, hopLimit: 64 })
    : emitIpv4(b, at, { ...ip, dscp: 0, ecn: 0, identification: 1, dontFragment: false, ttl: 64, protocol: IpProtocol.udp });
  return b.slice(0, emitUdp(b, at, { sourcePort, destinationPort: port, payloadLength: 0 }));
}

function arp(src: string, oper: number, sha: string, spa: string, tpa: string): Uint8Array {
  const b = new Uint8Array(64);
  const at = emitEthernet(b, 0, { destination: parseMac(BROADCAST), source: parseMac(src), ethertype: EtherType.arp });
  return b.slice(0, Math.max(60, emitArp(b, at, { oper, sha: parseMac(sha), spa: parseAddress(spa), tha: new Uint8Array(6), tpa: parseAddress(tpa) })));
}

/** ICMPv6 neighbor discovery or a router advertisement, with a link-layer option for `src`. */
function icmp6(src: string, dst: string, from: string, to: string, type: number, target: string | null): Uint8Array {
  const body = new Uint8Array(target ? 32 : 24);
  body[0] = type;
  if (target) {
    body[4] = type === 136 ? 0x20 : 0; // an advertisement overrides
    body.set(parseAddress(target), 8);
  }
  body[body.length - 8] = type === 135 ? 1 : 2; // source or target link-layer address
  body[body.length - 7] = 1;
  body.set(parseMac(src), body.length - 6);
  const b = new Uint8Array(128);
  let at = emitEthernet(b, 0, { destination: parseMac(dst), source: parseMac(src), ethertype: EtherType.ipv6 });
  at = emitIpv6(b, at, { trafficClass: 0, flowLabel: 0, nextHeader: IpProtocol.icmpv6, hopLimit: 255, source: parseAddress(from), destination: parseAddress(to), payloadLength: body.length });
  b.set(body, at);
  return b.slice(0, at + body.length);
}

test('port security: spoofed MAC, IPv4, IPv6, ARP, RA and NA are dropped and counted; own traffic, DHCP, DAD and a pair pass; portSecurity false lets all through', async (t) => {
  const lab = new Lab();
  t.teardown(() => lab.cleanup());
  const sw = await lab.namespace('sw');
  const vms = await vmStandIns(lab, sw, 3, true);
  const [vm1, vm2, vm3] = vms;
  const macs = await Promise.all(vms.map((vm) => macOf(lab, vm)));
  const agent = await startAgent(lab, sw);
  const { api, bridge } = await tenantBridge(agent.api, 'acme');
  const ports: string[] = [];
  for (const [i, extra] of [{ allowedAddressPairs: [{ ipAddress: '10.0.0.100' }] }, {}, { portSecurity: false }].entries()) {
    const n = i + 1;
    const port = await api.request<{ id: string; portSecurity: boolean }>('POST', '/v1/ports', { device: bridge, name: `vm${n}`, mac: macs[i], addresses: [`10.0.0.1${n}`, `fd00::1${n}`], ...extra });
    t.is(port.portSecurity, n !== 3, 'on unless turned off');
    await agent.api.request('POST', '/v1/bindings', { port: port.id, interface: `t${n}` });
    ports.push(port.id);
  }
  t.true(await eventually(() => ping(lab, vm1, '10.0.0.12', 1)), 'vm1 reaches vm2 from its own MAC and address');
  t.true(await ping(lab, vm1, 'fd00::12', 1), 'and over IPv6');
  const lla2 = /inet6 (fe80::\S+)\//.exec((await lab.ip(vm2, '-6', 'addr', 'show', 'dev', 'eth0')).stdout)![1];
  // Each link-local address is tentative until its duplicate address detection is done.
  t.true(await eventually(() => ping(lab, vm1, `${lla2}%eth0`, 1)), 'and from its link-local address');

  const seen = capture(lab, vm2, 'eth0', 'udp or arp or icmp6', { format: [] });
  await seen.ready;
  const [own, fake] = [macs[0], '02:00:00:00:99:99'];
  await sendFrames(lab, vm1, 'eth0', [
    udp(fake, BROADCAST, '10.0.0.11', '10.0.0.255', 9001),
    udp(own, BROADCAST, '10.0.0.99', '10.0.0.255', 9002),
    udp(own, ALL_NODES, 'fd00::99', 'ff02::1', 9003),
    arp(own, 2, own, '10.0.0.12', '10.0.0.12'),
    arp(own, 1, fake, '10.0.0.11', '10.0.0.77'),
    icmp6(own, ALL_NODES, 'fe80::1', 'ff02::1', 134, null),
    icmp6(own, ALL_NODES, 'fd00::11', 'ff02::1', 136, 'fd00::12'),
    // Allowed: DHCP discovery, duplicate address detection from ::.
    udp(own, BROADCAST, '0.0.0.0', '255.255.255.255', 67, 68),
    icmp6(own, '33:33:ff:00:00:11', '::', 'ff02::1:ff00:11', 135, 'fd00::11'),
  ]);
  const expected = { spoofedMac: 1, spoofedIp: 2, spoofedArp: 2, routerAdvertisement: 1, spoofedNeighbor: 1 };
  t.true(await eventually(async () => {
    const drops = (await agent.port('t1')).drops;
    return Object.entries(expected).every(([reason, n]) => (drops[reason] ?? 0) >= n) && seen.printed().some((l) => /who has fd00::11/.test(l));
  }), `each spoofed frame is counted on vm1's port by its reason: ${JSON.stringify((await agent.port('t1')).drops)}`);
  t.true(await eventually(async () => seen.printed().some((l) => /0\.0\.0\.0\.68 > 255\.255\.255\.255\.67/.test(l))), 'DHCP discovery from 0.0.0.0 passes');

  // The pair's address: vm1 sends from it, and answers ARP for it.
  await lab.ip(vm1, 'addr', 'add', '10.0.0.100/32', 'dev', 'eth0');
  t.true(await ping(lab, vm1, '10.0.0.12', 2, ['-I', '10.0.0.100']), 'an allowed address pair passes');

  // Port security off (vm3's port): the same spoofing goes through.
  await sendFrames(lab, vm3, 'eth0', [udp(fake, BROADCAST, '10.0.0.13', '10.0.0.255', 9004), arp(macs[2], 2, macs[2], '10.0.0.12', '10.0.0.66')]);
  t.true(await eventually(async () => seen.printed().some((l) => /\.9004:/.test(l)) && seen.printed().some((l) => /Reply 10\.0\.0\.12 is-at/.test(l))), 'portSecurity false: spoofed MAC and ARP pass');
  t.deepEqual((await agent.port('t3')).drops, {}, 'and nothing is counted against vm3');

  const lines = seen.printed();
  for (const [what, pattern] of [
    ['spoofed MAC', /\.9001:/], ['spoofed IPv4', /10\.0\.0\.99/], ['spoofed IPv6', /fd00::99/], ['ARP for another\'s address', new RegExp(`Reply 10\\.0\\.0\\.12 is-at ${own}`)],
    ['ARP with another sender MAC', /10\.0\.0\.77/], ['router advertisement', /router advertisement/], ['advertisement of another\'s address', /tgt is fd00::12/],
  ] as const) {
    t.deepEqual(lines.filter((l) => pattern.test(l)), [], `vm2 saw no ${what} from vm1`);
  }

  // vm1's port with port security turned off: its spoofed frames now pass.
  await api.request('PATCH', `/v1/ports/${ports[0]}`, { portSecurity: false });
  t.true(await eventually(async () => {
    await sendFrames(lab, vm1, 'eth0', [udp(own, BROADCAST, '10.0.0.98', '10.0.0.255', 9005)]);
    return seen.printed().some((l) => /10\.0\.0\.98\.40000 > 10\.0\.0\.255\.9005/.test(l));
  }), 'portSecurity false on vm1\'s port lets its spoofed address through');
  await seen.stop();
});
