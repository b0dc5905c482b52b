// Security groups in the walk: rules by direction and protocol, remote groups by their
// members' addresses (and their tag), ICMP echo tracked as one connection (a request the other
// way is new), neighbor discovery unasked, and zones that keep tenants apart.
import test from 'ava';
import { Action, connectionTag } from '../../src/flow';
import { frameFromText } from '../../src/packet';
import { securityGroupTag } from '../../src/simulation';
import { EMPTY_RULE, SecurityGroupRule } from '../../src/topology';
import { TestHost } from '../helpers/topology';

const [A, B] = ['52:54:00:00:00:0a', '52:54:00:00:00:0b'];
const rule = (fields: Partial<SecurityGroupRule>): SecurityGroupRule => ({ ...EMPTY_RULE, ...fields });
const verdict = (actions: Action[]) => (actions[0]?.type === 'drop' ? actions[0].reason : 'forwarded');

/** vm a (port 1, 10.0.0.1) and vm b (port 2, 10.0.0.2) on one bridge, each in its groups. */
function host(groups: { a: string[]; b: string[] }, rules: Record<string, SecurityGroupRule[]>, tenant = '11111111-2222-3333-4444-555555555555') {
  const h = new TestHost();
  for (const [id, list] of Object.entries(rules)) h.put('securityGroup', { id, tenant, name: id, rules: list });
  const bridge = h.put('bridge', { name: 'b', tenant });
  const a = h.put('port', { device: bridge, name: 'a', tenant, addresses: ['10.0.0.1'], securityGroups: groups.a, portSecurity: false });
  const b = h.put('port', { device: bridge, name: 'b', tenant, addresses: ['10.0.0.2'], securityGroups: groups.b, portSecurity: false });
  h.ports = [a, b].map((binding, i) => ({ number: i + 1, name: `tap${i + 1}`, up: true, binding }));
  h.simulate(1, frameFromText(`arp,dl_src=${A},nw_src=10.0.0.1,nw_dst=10.0.0.9`));
  h.simulate(2, frameFromText(`arp,dl_src=${B},nw_src=10.0.0.2,nw_dst=10.0.0.9`));
  return h;
}
const OUT = rule({ direction: 'egress' });

test('a rule of the frame\'s protocol lets it in; the reply goes back as the same connection, tagged with it', (t) => {
  const h = host({ a: ['open'], b: ['web'] }, { open: [OUT], web: [OUT, rule({ direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80 })] });
  t.is(verdict(h.simulate(1, frameFromText(`tcp,dl_src=${A},dl_dst=${B},nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=22`)).actions), 'securityGroup');
  const syn = h.simulate(1, frameFromText(`tcp,dl_src=${A},dl_dst=${B},nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=80`));
  t.is(verdict(syn.actions), 'forwarded');
  t.true(syn.tags.includes(securityGroupTag('web')) && syn.connection >= 0, 'tied to the group, and to its connection');
  const reply = h.simulate(2, frameFromText(`tcp,dl_src=${B},dl_dst=${A},nw_src=10.0.0.2,nw_dst=10.0.0.1,tp_src=80,tp_dst=40000`));
  t.is(verdict(reply.actions), 'forwarded', 'a has no ingress rule: the reply passes as the connection\'s');
  t.is(reply.connection, syn.connection);
  t.is(connectionTag(syn.connection), `ct:${syn.connection}`);
});

test('ICMP echo: the reply of a request is its connection; a request the other way is new', (t) => {
  const h = host({ a: ['open'], b: ['ping'] }, { open: [OUT], ping: [OUT, rule({ direction: 'ingress', protocol: 'icmp' })] });
  t.is(verdict(h.simulate(1, frameFromText(`icmp,dl_src=${A},dl_dst=${B},nw_src=10.0.0.1,nw_dst=10.0.0.2,icmp_type=8`)).actions), 'forwarded');
  t.is(verdict(h.simulate(2, frameFromText(`icmp,dl_src=${B},dl_dst=${A},nw_src=10.0.0.2,nw_dst=10.0.0.1,icmp_type=0`)).actions), 'forwarded', 'the reply');
  t.is(verdict(h.simulate(2, frameFromText(`icmp,dl_src=${B},dl_dst=${A},nw_src=10.0.0.2,nw_dst=10.0.0.1,icmp_type=8`)).actions), 'securityGroup', 'b pinging a is new: a lets no ICMP in');
});

test('a rule naming a remote group takes its members\' addresses; neighbor discovery passes unasked', (t) => {
  const h = host({ a: ['peers'], b: ['peers'] }, { peers: [OUT, rule({ direction: 'ingress', remoteGroup: 'peers' })] });
  const udp = h.simulate(1, frameFromText(`udp,dl_src=${A},dl_dst=${B},nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=5000`));
  t.is(verdict(udp.actions), 'forwarded', 'a is a member: let in');
  t.is(verdict(h.simulate(1, frameFromText(`udp,dl_src=${A},dl_dst=${B},nw_src=10.0.0.7,nw_dst=10.0.0.2,tp_dst=5000`)).actions), 'securityGroup', 'another address is not a member\'s');
  t.is(verdict(h.simulate(1, frameFromText(`icmp6,dl_src=${A},dl_dst=33:33:ff:00:00:02,nw_src=fe80::1,nw_dst=ff02::1:ff00:2,icmp_type=135`)).actions), 'forwarded');
});

test('zones: a connection of one tenant is not another\'s with the same addresses', (t) => {
  const rules = { open: [OUT], dns: [OUT, rule({ direction: 'ingress', protocol: 'udp', portMin: 53, portMax: 53 })] };
  const one = host({ a: ['open'], b: ['dns'] }, rules, '11111111-0000-0000-0000-000000000000');
  one.simulate(1, frameFromText(`udp,dl_src=${A},dl_dst=${B},nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1000,tp_dst=53`));
  t.is(verdict(one.simulate(2, frameFromText(`udp,dl_src=${B},dl_dst=${A},nw_src=10.0.0.2,nw_dst=10.0.0.1,tp_src=53,tp_dst=1000`)).actions), 'forwarded', 'the reply, in its zone');
  // The same table (one host), another tenant: the reply finds nothing.
  one.put('securityGroup', { id: 'closed2', tenant: '22222222-0000-0000-0000-000000000000', name: 'closed2', rules: [OUT] });
  const bridge = one.put('bridge', { name: 'b2', tenant: '22222222-0000-0000-0000-000000000000' });
  const c = one.put('port', { device: bridge, name: 'c', tenant: '22222222-0000-0000-0000-000000000000', securityGroups: ['closed2'], portSecurity: false });
  const d = one.put('port', { device: bridge, name: 'd', tenant: '22222222-0000-0000-0000-000000000000', portSecurity: false });
  one.ports = [...one.ports, { number: 3, name: 'tap3', up: true, binding: c }, { number: 4, name: 'tap4', up: true, binding: d }];
  one.simulate(3, frameFromText(`arp,dl_src=${A},nw_src=10.0.0.1,nw_dst=10.0.0.9`));
  t.is(verdict(one.simulate(4, frameFromText(`udp,dl_src=${B},dl_dst=${A},nw_src=10.0.0.2,nw_dst=10.0.0.1,tp_src=53,tp_dst=1000`)).actions), 'securityGroup');
});
