// Port security in the walk: what a VM's port lets in, decided from the flow key; neighbor
// discovery checked frame by frame; pairs with their own MAC (VRRP); a port with addresses
// but no MAC; and the trace's words.
import test from 'ava';
import { Action } from '../../src/flow';
import { frameFromText } from '../../src/packet';
import { vportTag } from '../../src/simulation';
import type { Port } from '../../src/topology';
import { TestHost } from '../helpers/topology';

const VM = '52:54:00:00:00:0a';
const OTHER = '52:54:00:00:00:0b';
const VRRP = '00:00:5e:00:01:07';

function host(fields: Partial<Port>) {
  const h = new TestHost();
  const bridge = h.put('bridge', { name: 'b' });
  const vm = h.put('port', { device: bridge, name: 'vm', mac: VM, addresses: ['10.0.0.5', '2001:db8::5'], ...fields });
  const peer = h.put('port', { device: bridge, name: 'peer' });
  h.ports = [vm, peer].map((binding, i) => ({ number: i + 1, name: `tap${i + 1}`, up: true, binding }));
  return { h, vm };
}

const dropOf = (actions: Action[]) => (actions[0]?.type === 'drop' ? actions[0].reason : 'forwarded');

test('from its own MAC and addresses, its link-local address, DHCP from 0.0.0.0 and an ARP probe: forwarded', (t) => {
  const { h } = host({});
  for (const flow of [
    `udp,dl_src=${VM},nw_src=10.0.0.5,nw_dst=10.0.0.9`,
    `udp6,dl_src=${VM},nw_src=2001:db8::5,nw_dst=2001:db8::9`,
    `icmp6,dl_src=${VM},nw_src=fe80::5054:ff:fe00:a,nw_dst=ff02::2,icmp_type=133`,
    `udp,dl_src=${VM},nw_src=0.0.0.0,nw_dst=255.255.255.255,tp_src=68,tp_dst=67`,
    `arp,dl_src=${VM},nw_src=0.0.0.0,nw_dst=10.0.0.5,arp_op=1`,
    `arp,dl_src=${VM},nw_src=10.0.0.5,nw_dst=10.0.0.9,arp_op=2`,
  ]) t.is(dropOf(h.simulate(1, frameFromText(flow)).actions), 'forwarded', flow);
});

test('anything else is dropped with its reason, in flows tied to the port', (t) => {
  const { h, vm } = host({});
  for (const [flow, reason] of [
    [`udp,dl_src=${OTHER},nw_src=10.0.0.5`, 'spoofedMac'],
    [`udp,dl_src=${VM},nw_src=10.0.0.6`, 'spoofedIp'],
    [`udp6,dl_src=${VM},nw_src=2001:db8::6`, 'spoofedIp'],
    [`udp,dl_src=${VM},nw_src=0.0.0.0,tp_src=68,tp_dst=68`, 'spoofedIp'],
    [`arp,dl_src=${VM},nw_src=10.0.0.9,arp_op=2`, 'spoofedArp'],
    [`arp,dl_src=${VM},arp_sha=${OTHER},nw_src=10.0.0.5,arp_op=1`, 'spoofedArp'],
    [`icmp6,dl_src=${VM},nw_src=fe80::5054:ff:fe00:a,nw_dst=ff02::1,icmp_type=134`, 'routerAdvertisement'],
  ]) {
    const result = h.simulate(1, frameFromText(flow));
    t.is(dropOf(result.actions), reason, flow);
    t.true(result.cache && result.tags.includes(vportTag(vm)), `${flow}: cached, until the port changes`);
  }
  t.is(dropOf(h.simulate(2, frameFromText(`udp,dl_src=${OTHER},nw_src=10.9.9.9`)).actions), 'forwarded', 'a port without a MAC or addresses sends what it likes');
});

test('allowed address pairs: an address or prefix with the port\'s MAC, or with a MAC of its own (VRRP)', (t) => {
  const { h } = host({ allowedAddressPairs: [{ ipAddress: '10.0.1.0/24', macAddress: '' }, { ipAddress: '10.0.0.254', macAddress: VRRP }] });
  t.is(dropOf(h.simulate(1, frameFromText(`udp,dl_src=${VM},nw_src=10.0.1.77`)).actions), 'forwarded');
  t.is(dropOf(h.simulate(1, frameFromText(`udp,dl_src=${VRRP},nw_src=10.0.0.254`)).actions), 'forwarded');
  t.is(dropOf(h.simulate(1, frameFromText(`arp,dl_src=${VRRP},nw_src=10.0.0.254,arp_op=2`)).actions), 'forwarded', 'a gratuitous ARP for the virtual address');
  t.is(dropOf(h.simulate(1, frameFromText(`udp,dl_src=${VRRP},nw_src=10.0.0.5`)).actions), 'spoofedIp', 'the pair\'s MAC goes with the pair\'s address only');
});

test('portSecurity false, and a port with addresses but no MAC', (t) => {
  t.is(dropOf(host({ portSecurity: false }).h.simulate(1, frameFromText(`udp,dl_src=${OTHER},nw_src=10.9.9.9`)).actions), 'forwarded');
  const { h } = host({ mac: '' });
  t.is(dropOf(h.simulate(1, frameFromText(`udp,dl_src=${OTHER},nw_src=10.0.0.5`)).actions), 'forwarded', 'any MAC');
  t.is(dropOf(h.simulate(1, frameFromText(`udp,dl_src=${OTHER},nw_src=10.0.0.6`)).actions), 'spoofedIp', 'but only its addresses');
});

test('a trace says which rule of port security dropped the frame', (t) => {
  const { h } = host({});
  const result = h.simulate(1, frameFromText(`udp,dl_src=${VM},nw_src=10.0.0.6`), 'trace');
  t.regex(result.trace.join('\n'), /drop \(spoofedIp\): port security: vm sends from 10\.0\.0\.6, not its address/);
});
