// Rule chains in the walk: conditions and their inversion, first match, jump/return/continue,
// port groups, connection state, rejections, and where chains attach (ports, bridges, routers).
import test from 'ava';
import { Action } from '../../src/flow';
import { EtherType, formatAddress, formatMac, frameFromText, Icmpv4Message, Icmpv4Type, IpProtocol, Ipv4Packet, TcpFlag, TcpSegment, VNET_HEADER_BYTES } from '../../src/packet';
import { chainTag, portGroupTag } from '../../src/simulation';
import { ChainRule, EMPTY_CHAIN_RULE } from '../../src/topology';
import { outputs, TestHost } from '../helpers/topology';

const [A, B, C] = ['52:54:00:00:00:0a', '52:54:00:00:00:0b', '52:54:00:00:00:0c'];
const rule = (fields: Partial<ChainRule>): ChainRule => ({ ...EMPTY_CHAIN_RULE, sourcePortMax: fields.sourcePortMin ?? 0, destinationPortMax: fields.destinationPortMin ?? 0, ...fields });
const verdict = (actions: Action[]) => (actions[0]?.type === 'drop' ? actions[0].reason : 'forwarded');
const TCP = 6;
const UDP = 17;

/** vm a (port 1, 10.0.0.1), b (port 2, 10.0.0.2) and c (port 3, 10.0.0.3) on one bridge; chains
 *  by id, attached where `attach` says. */
function bridged(chains: Record<string, ChainRule[]>, attach: { a?: Partial<Record<'inboundChain' | 'outboundChain', string>>; b?: Partial<Record<'inboundChain' | 'outboundChain', string>>; bridge?: Partial<Record<'inboundChain' | 'outboundChain', string>> }, groups: Record<string, string[]> = {}) {
  const h = new TestHost();
  const ids = { a: 'a0000000-0000-0000-0000-000000000000', b: 'b0000000-0000-0000-0000-000000000000', c: 'c0000000-0000-0000-0000-000000000000' };
  for (const [id, ports] of Object.entries(groups)) h.put('portGroup', { id, name: id, ports: ports.map((p) => ids[p as keyof typeof ids]) });
  for (const [id, rules] of Object.entries(chains)) h.put('chain', { id, name: id, rules });
  const bridge = h.put('bridge', { name: 'net', ...attach.bridge });
  h.put('port', { id: ids.a, device: bridge, name: 'a', addresses: ['10.0.0.1'], portSecurity: false, ...attach.a });
  h.put('port', { id: ids.b, device: bridge, name: 'b', addresses: ['10.0.0.2'], portSecurity: false, ...attach.b });
  h.put('port', { id: ids.c, device: bridge, name: 'c', addresses: ['10.0.0.3'], portSecurity: false });
  h.ports = [ids.a, ids.b, ids.c].map((binding, i) => ({ number: i + 1, name: `tap${i + 1}`, up: true, binding }));
  for (const [port, mac, address] of [[1, A, '10.0.0.1'], [2, B, '10.0.0.2'], [3, C, '10.0.0.3']] as const) h.simulate(port, frameFromText(`arp,dl_src=${mac},nw_src=${address},nw_dst=10.0.0.9`));
  return { h, ids };
}
const ab = (what: string) => frameFromText(`${what},dl_src=${A},dl_dst=${B},nw_src=10.0.0.1,nw_dst=10.0.0.2`);
const ba = (what: string) => frameFromText(`${what},dl_src=${B},dl_dst=${A},nw_src=10.0.0.2,nw_dst=10.0.0.1`);

test('the first rule that holds decides; a chain that runs out of rules accepts; the trace names chain and rule', (t) => {
  const { h } = bridged({ to_b: [rule({ action: 'accept', protocol: TCP, destinationPortMin: 22 }), rule({ action: 'drop', protocol: TCP })] }, { b: { outboundChain: 'to_b' } });
  const ssh = h.simulate(1, ab('tcp,tp_dst=22'));
  t.is(verdict(ssh.actions), 'forwarded');
  t.true(ssh.tags.includes(chainTag('to_b')), 'the flow is the chain\'s: a rule change re-decides it');
  t.is(verdict(h.simulate(1, ab('tcp,tp_dst=80')).actions), 'chain');
  t.is(verdict(h.simulate(1, ab('udp,tp_dst=53')).actions), 'forwarded', 'no rule holds: the chain accepts');
  const trace = h.simulate(1, ab('tcp,tp_dst=80'), 'trace').trace.join('\n');
  t.regex(trace, /port b outbound: chain to_b rule 2 \(tcp\)/);
  t.regex(trace, /drop \(chain\)/);
  t.is(verdict(h.simulate(2, ba('tcp,tp_dst=80')).actions), 'forwarded', 'the chain is b\'s outbound: what b sends does not pass it');
});

test('each condition can be inverted; MACs, ethertype, source and destination ports, ICMP type and code', (t) => {
  const { h } = bridged({
    in: [
      rule({ action: 'drop', sourcePrefix: '10.0.0.0/31', invert: ['sourcePrefix'] }),
      rule({ action: 'drop', ethertype: EtherType.ipv6 }),
      rule({ action: 'drop', protocol: UDP, sourcePortMin: 1000, sourcePortMax: 1999 }),
      rule({ action: 'drop', protocol: 1, icmpType: Icmpv4Type.echoRequest, icmpCode: 0, invert: ['icmpCode'] }),
      rule({ action: 'drop', sourceMac: A, protocol: TCP, destinationPortMin: 9 }),
    ],
  }, { bridge: { inboundChain: 'in' } });
  t.is(verdict(h.simulate(1, ab('udp,tp_src=999')).actions), 'forwarded', 'from 10.0.0.1, in 10.0.0.0/31');
  t.is(verdict(h.simulate(3, frameFromText(`udp,dl_src=${C},dl_dst=${B},nw_src=10.0.0.3,nw_dst=10.0.0.2`)).actions), 'chain', '10.0.0.3 is not in it: the inverted condition holds');
  t.is(verdict(h.simulate(1, ab('udp,tp_src=1500')).actions), 'chain');
  t.is(verdict(h.simulate(1, frameFromText(`udp6,dl_src=${A},dl_dst=${B},nw_src=2001:db8::1,nw_dst=2001:db8::2`)).actions), 'chain');
  t.is(verdict(h.simulate(1, ab('icmp,icmp_type=8,icmp_code=0')).actions), 'forwarded');
  t.is(verdict(h.simulate(1, ab('icmp,icmp_type=8,icmp_code=1')).actions), 'chain');
  t.is(verdict(h.simulate(1, ab('tcp,tp_dst=9')).actions), 'chain');
  t.is(verdict(h.simulate(1, frameFromText(`tcp,dl_src=${A},dl_dst=${C},nw_src=10.0.0.1,nw_dst=10.0.0.3,tp_dst=10`)).actions), 'forwarded');
});

test('jump goes through another chain and comes back at its end or at a return; continue lets the next rule decide', (t) => {
  const { h } = bridged({
    sub: [rule({ action: 'return', protocol: TCP }), rule({ action: 'accept', protocol: UDP, destinationPortMin: 53 }), rule({ action: 'drop', protocol: 1 })],
    main: [rule({ action: 'continue' }), rule({ action: 'jump', jumpTo: 'sub' }), rule({ action: 'drop', protocol: UDP })],
  }, { b: { outboundChain: 'main' } });
  const tcp = h.simulate(1, ab('tcp'));
  t.is(verdict(tcp.actions), 'forwarded', 'sub returns, main has nothing more for TCP: accepted');
  t.true(tcp.tags.includes(chainTag('sub')) && tcp.tags.includes(chainTag('main')));
  t.is(verdict(h.simulate(1, ab('udp,tp_dst=53')).actions), 'forwarded', 'accepted in sub: final');
  t.is(verdict(h.simulate(1, ab('udp,tp_dst=54')).actions), 'chain', 'sub runs out, main drops UDP');
  t.is(verdict(h.simulate(1, ab('icmp')).actions), 'chain', 'dropped in sub');
  t.regex(h.simulate(1, ab('icmp'), 'trace').trace.join('\n'), /chain main rule 2 \(any\): jump chain sub[\s\S]*chain sub rule 3 \(icmp\): drop/);
});

test('ports and port groups: in and out ports as the device sees them; a group\'s flows carry its tag', (t) => {
  const { h, ids } = bridged({ out: [rule({ action: 'drop', inPortGroup: 'g' }), rule({ action: 'drop', outPort: 'b0000000-0000-0000-0000-000000000000', protocol: UDP })] }, { bridge: { outboundChain: 'out' } }, { g: ['c'] });
  const fromC = h.simulate(3, frameFromText(`tcp,dl_src=${C},dl_dst=${B},nw_src=10.0.0.3,nw_dst=10.0.0.2`));
  t.is(verdict(fromC.actions), 'chain', 'c is in the group');
  t.true(fromC.tags.includes(portGroupTag('g')));
  t.is(verdict(h.simulate(1, ab('tcp')).actions), 'forwarded');
  t.is(verdict(h.simulate(1, ab('udp')).actions), 'chain', 'UDP out of b');
  t.deepEqual(outputs(h.simulate(1, frameFromText(`udp,dl_src=${A},dl_dst=ff:ff:ff:ff:ff:ff,nw_src=10.0.0.1,nw_dst=10.0.0.255`)).actions), [3], 'a flood: every port but b');
  h.put('portGroup', { id: 'g', name: 'g', ports: [ids.a] });
  t.is(verdict(h.simulate(3, frameFromText(`tcp,dl_src=${C},dl_dst=${B},nw_src=10.0.0.3,nw_dst=10.0.0.2`)).actions), 'forwarded', 'c has left the group');
});

test('connection state: new, established and invalid; replies of what was let out pass; a rule added drops established connections by state', (t) => {
  const stateful = [rule({ action: 'accept', connectionState: 'established' }), rule({ action: 'accept', connectionState: 'related' })];
  const chains = {
    to_b: [...stateful, rule({ action: 'accept', protocol: TCP, destinationPortMin: 22, connectionState: 'new' }), rule({ action: 'drop' })],
    to_a: [...stateful, rule({ action: 'drop' })],
  };
  const { h } = bridged(chains, { a: { outboundChain: 'to_a' }, b: { outboundChain: 'to_b' } });
  const syn = h.simulate(1, ab('tcp,tp_src=40000,tp_dst=22'));
  t.is(verdict(syn.actions), 'forwarded');
  t.true(syn.connection >= 0, 'the chain asked for the state: the connection is tracked');
  const synAck = h.simulate(2, ba('tcp,tp_src=22,tp_dst=40000,tcp_flags=syn|ack'));
  t.is(verdict(synAck.actions), 'forwarded', 'a reply: established for to_a');
  t.is(synAck.connection, syn.connection);
  t.regex(h.simulate(2, ba('tcp,tp_src=22,tp_dst=40000,tcp_flags=ack'), 'trace').trace.join('\n'), /chain to_a rule 1 \(ct established\), conntrack SYN_RECV \(reply\): accept/);
  t.is(verdict(h.simulate(1, ab('tcp,tp_src=40001,tp_dst=80')).actions), 'chain', 'new, not ssh');
  t.is(verdict(h.simulate(2, ba('tcp,tp_src=40002,tp_dst=22')).actions), 'chain', 'b opening a connection to a is new there');
  t.regex(h.simulate(1, ab('tcp,tp_src=40003,tp_dst=22,tcp_flags=rst'), 'trace').trace.join('\n'), /conntrack INVALID/, 'a reset of nothing');

  h.put('chain', { id: 'to_b', name: 'to_b', rules: [rule({ action: 'drop', protocol: TCP, destinationPortMin: 22, connectionState: 'established' }), ...chains.to_b] });
  t.is(verdict(h.simulate(1, ab('tcp,tp_src=40000,tp_dst=22,tcp_flags=ack')).actions), 'chain', 'the open connection is cut');
  t.is(verdict(h.simulate(1, ab('tcp,tp_src=40004,tp_dst=22')).actions), 'forwarded', 'a new one still connects');
});

test('reject: a TCP reset, or ICMP administratively prohibited, back to the sender from the destination\'s addresses; not cached', (t) => {
  const { h } = bridged({ to_b: [rule({ action: 'reject' })] }, { b: { outboundChain: 'to_b' } });
  const tcp = h.simulate(1, ab('tcp,tp_src=40000,tp_dst=80'));
  t.is(verdict(tcp.actions), 'rejected');
  t.false(tcp.cache, 'every frame of the flow comes to be rejected');
  t.is(tcp.emit.length, 1);
  t.deepEqual(outputs(tcp.emit[0].actions), [1], 'back out of a\'s port');
  const reset = tcp.emit[0].frame;
  t.is(formatMac(reset.subarray(VNET_HEADER_BYTES, VNET_HEADER_BYTES + 6)), A);
  t.is(formatMac(reset.subarray(VNET_HEADER_BYTES + 6, VNET_HEADER_BYTES + 12)), B);
  const ip = new Ipv4Packet(reset, VNET_HEADER_BYTES + 14);
  t.is(formatAddress(ip.repr().source), '10.0.0.2');
  t.is(ip.protocol, IpProtocol.tcp);
  t.true(ip.verifyChecksum());
  const segment = new TcpSegment(reset, ip.payloadAt, reset.length);
  t.deepEqual([segment.sourcePort, segment.destinationPort, segment.flags, segment.acknowledgment], [80, 40000, TcpFlag.rst | TcpFlag.ack, 2], 'acknowledges the SYN (sequence 1)');

  const udp = h.simulate(1, ab('udp,tp_dst=53'));
  const icmp = new Icmpv4Message(udp.emit[0].frame, VNET_HEADER_BYTES + 34);
  t.deepEqual([icmp.type, icmp.code], [Icmpv4Type.destinationUnreachable, 13]);
  t.is(h.simulate(1, ab('tcp,tcp_flags=rst')).emit.length, 0, 'a reset is never answered');
});

test('rejections are rate-limited per chain (50 at once, 1000 a second); past the limit the drop is cached, so a flood meets it in the datapath', (t) => {
  const { h } = bridged({ to_b: [rule({ action: 'reject' })] }, { b: { outboundChain: 'to_b' } });
  const results = Array.from({ length: 500 }, () => h.simulate(1, ab('udp,tp_dst=53')));
  const sent = results.filter((r) => r.emit.length > 0);
  t.true(sent.length >= 50 && sent.length < 500, `${sent.length} of 500 rejections sent`);
  t.true(sent.every((r) => !r.cache), 'an answered flow comes back to be answered again');
  t.true(results.filter((r) => r.emit.length === 0).every((r) => r.cache && verdict(r.actions) === 'rejected'), 'one over the limit is a cached drop');
});

test('routers: pre-routing sees the frame as it came, post-routing as routed; a rejection goes back through the router', (t) => {
  const h = new TestHost();
  const R1 = '02:00:00:00:01:01';
  h.put('chain', { id: 'pre', name: 'pre', rules: [rule({ action: 'drop', destinationMac: R1, protocol: UDP })] });
  h.put('chain', { id: 'post', name: 'post', rules: [rule({ action: 'reject', sourceMac: '02:00:00:00:02:01', protocol: TCP })] });
  const router = h.put('router', { name: 'r', inboundChain: 'pre', outboundChain: 'post' });
  const [b1, b2] = [h.put('bridge', { name: 'b1' }), h.put('bridge', { name: 'b2' })];
  const [r1, r2, b1r, b2r] = ['1', '2', '3', '4'].map((n) => `${n}0000000-0000-0000-0000-00000000000${n}`);
  h.put('port', { id: r1, device: router, name: 'r1', mac: R1, addresses: ['10.0.1.1/24'], peer: b1r });
  h.put('port', { id: r2, device: router, name: 'r2', mac: '02:00:00:00:02:01', addresses: ['10.0.2.1/24'], peer: b2r });
  h.put('port', { id: b1r, device: b1, name: 'b1r', peer: r1 });
  h.put('port', { id: b2r, device: b2, name: 'b2r', peer: r2 });
  const v1 = h.put('port', { device: b1, name: 'v1', portSecurity: false });
  const v2 = h.put('port', { device: b2, name: 'v2', portSecurity: false });
  h.put('neighbor', { id: `${router}_10.0.2.5`, router, address: '10.0.2.5', mac: B });
  h.ports = [{ number: 1, name: 'tap1', up: true, binding: v1 }, { number: 2, name: 'tap2', up: true, binding: v2 }];
  const routed = (what: string) => frameFromText(`${what},dl_src=${A},dl_dst=${R1},nw_src=10.0.1.5,nw_dst=10.0.2.5`);
  t.is(verdict(h.simulate(1, routed('udp')).actions), 'chain', 'pre-routing: to the router\'s MAC');
  t.is(verdict(h.simulate(1, routed('icmp')).actions), 'forwarded');
  const tcp = h.simulate(1, routed('tcp'));
  t.is(verdict(tcp.actions), 'rejected', 'post-routing: from the router\'s other port');
  t.deepEqual(outputs(tcp.emit[0].actions), [1]);
  const reset = tcp.emit[0].frame;
  t.is(formatMac(reset.subarray(VNET_HEADER_BYTES, VNET_HEADER_BYTES + 6)), A, 'routed back to the sender');
  t.is(formatMac(reset.subarray(VNET_HEADER_BYTES + 6, VNET_HEADER_BYTES + 12)), R1);
  t.is(formatAddress(new Ipv4Packet(reset, VNET_HEADER_BYTES + 14).repr().source), '10.0.2.5');
});
