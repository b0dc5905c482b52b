// `vswitch chain|rule|port-group`: rule chains and the port groups their rules name, through
// the tenant API. A rule is written as iptables users would: an action, then conditions as
// options, `!` before a value to invert it.
import type { ChainCondition, ChainRule } from '../topology';
import { Args, flag, integerFlag, oneOf } from './args';
import { Noun, resolve } from './lookup';
import type { CreateBody, Shown, TenantApi } from './tenant-api';
import type { Print } from './topology-commands';

export const CHAIN_USAGE = `
  chain create NAME               a chain of rules; one with none accepts everything
  chain list                      chain delete NAME|ID
  rule add CHAIN accept|drop|reject|return|continue|jump TARGET [--position N]
                    [--in-port PORT] [--out-port PORT] [--in-port-group G] [--out-port-group G]
                    [--src-mac MAC] [--dst-mac MAC] [--ethertype ipv4|ipv6|arp|0xNNNN]
                    [--src CIDR] [--dst CIDR] [--protocol tcp|udp|icmp|icmpv6|N]
                    [--sport N[-M]] [--dport N[-M]] [--icmp-type N] [--icmp-code N]
                    [--state new|established|related|invalid]
                                  the first rule whose conditions all hold decides; '!' before
                                  a value inverts its condition (--src '!10.0.0.0/8'); reject
                                  answers TCP with a reset, the rest with ICMP prohibited
  rule delete CHAIN N             the chain's Nth rule (chain list shows them)
  port-group create NAME [--port PORT]...     port-group list     port-group delete NAME|ID
  port-group add|remove GROUP PORT
  bridge|router|port set NAME|ID [--inbound-chain CHAIN|none] [--outbound-chain CHAIN|none]
                                  what enters or leaves the device (a router: pre- and
                                  post-routing), or enters or leaves it by the port`;

const CONDITIONS = ['in-port', 'out-port', 'in-port-group', 'out-port-group', 'src-mac', 'dst-mac', 'ethertype', 'src', 'dst', 'protocol', 'sport', 'dport', 'icmp-type', 'icmp-code', 'state'];
export const CHAIN_OPTIONS: Record<string, string[]> = {
  'rule add': [...CONDITIONS, 'position'],
  'port-group create': ['port'],
};
export const CHAIN_COMMANDS = new Set(['chain', 'rule', 'port-group']);

const ETHERTYPES: Record<string, number> = { ipv4: 0x0800, ipv6: 0x86dd, arp: 0x0806 };
const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };
const ACTIONS = ['accept', 'drop', 'reject', 'return', 'continue', 'jump'] as const;
const STATES = ['new', 'established', 'related', 'invalid'] as const;
type RuleBody = NonNullable<CreateBody<'chains'>['rules']>[number];

export async function chainCommand(api: TenantApi, words: string[], args: Args, print: Print): Promise<number | null> {
  const [command, sub, ...rest] = words;
  if (command === 'chain' && sub === 'list') {
    const chains = await api.list('chains');
    const names = new Map(chains.map((c) => [c.id, c.name || c.id.slice(0, 8)]));
    print(chains, () => chains.map((c) => describeChain(c, names)).join('\n') || '(no chains)');
    return 0;
  }
  if (command === 'rule' && (sub === 'add' || sub === 'delete')) {
    if (!rest[0]) throw new Error(`vswitch rule ${sub} needs a chain (name or id)`);
    const id = await resolve(api, 'chain', rest[0]);
    const chain = await api.get('chains', id);
    const rules: RuleBody[] = chain.rules;
    if (sub === 'add') {
      const position = integerFlag(args, 'position') ?? chain.rules.length + 1;
      if (position < 1 || position > chain.rules.length + 1) throw new Error(`--position: chain ${rest[0]} has room for 1 to ${chain.rules.length + 1}`);
      rules.splice(position - 1, 0, await ruleFrom(api, rest.slice(1), args));
    } else {
      const n = Number(rest[1]);
      if (!Number.isInteger(n) || n < 1 || n > chain.rules.length) throw new Error(`chain ${rest[0]} has rules 1 to ${chain.rules.length}`);
      rules.splice(n - 1, 1);
    }
    const changed = await api.update('chains', id, { rules });
    const names = new Map((await api.list('chains')).map((c) => [c.id, c.name || c.id.slice(0, 8)]));
    print(changed, () => describeChain(changed, names));
    return 0;
  }
  if (command === 'port-group' && sub === 'create') {
    if (!rest[0]) throw new Error('vswitch port-group create needs a name');
    const ports = await Promise.all((args.flags.get('port') ?? []).map((p) => resolve(api, 'port', p)));
    const group = await api.create('port-groups', { name: rest[0], ports });
    print(group, () => `port-group ${group.name} ${group.id}`);
    return 0;
  }
  if (command === 'port-group' && (sub === 'add' || sub === 'remove')) {
    if (!rest[0] || !rest[1]) throw new Error(`vswitch port-group ${sub} needs a group and a port`);
    const id = await resolve(api, 'port-group', rest[0]);
    const port = await resolve(api, 'port', rest[1]);
    const group = await api.get('port-groups', id);
    const ports = sub === 'add' ? [...new Set([...group.ports, port])] : group.ports.filter((p) => p !== port);
    const changed = await api.update('port-groups', id, { ports });
    print(changed, () => `port-group ${changed.name} ${changed.id}: ${changed.ports.length} ports`);
    return 0;
  }
  if (command === 'rule') throw new Error('vswitch rule add|delete CHAIN ... (chain list shows the rules)');
  return null;
}

/** The chains of a bridge, router or port, from --inbound-chain and --outbound-chain (none: no chain). */
export async function chainsFrom(api: TenantApi, args: Args): Promise<{ inboundChain?: string; outboundChain?: string }> {
  const body: { inboundChain?: string; outboundChain?: string } = {};
  for (const [option, field] of [['inbound-chain', 'inboundChain'], ['outbound-chain', 'outboundChain']] as const) {
    const value = flag(args, option);
    if (value !== undefined) body[field] = value === 'none' ? '' : await resolve(api, 'chain', value);
  }
  return body;
}

async function ruleFrom(api: TenantApi, words: string[], args: Args): Promise<RuleBody> {
  const [actionWord, target] = words;
  const action = ACTIONS.find((a) => a === actionWord);
  if (!action) throw new Error(`vswitch rule add CHAIN needs an action: ${ACTIONS.join(', ')}`);
  const invert: ChainCondition[] = [];
  const rule: RuleBody = { action, invert };
  if (action === 'jump') {
    if (!target) throw new Error('vswitch rule add CHAIN jump needs the chain to jump to');
    rule.jumpTo = await resolve(api, 'chain', target);
  }
  const condition = async (option: string, field: ChainCondition, parse: (text: string) => Promise<Partial<RuleBody>> | Partial<RuleBody>) => {
    const text = flag(args, option);
    if (text === undefined) return;
    const inverted = text.startsWith('!');
    Object.assign(rule, await parse(inverted ? text.slice(1) : text));
    if (inverted) invert.push(field);
  };
  const id = (noun: Noun, text: string) => resolve(api, noun, text);
  const number = (option: string) => (text: string) => {
    if (!/^\d+$/.test(text)) throw new Error(`--${option} takes a whole number, not '${text}'`);
    return Number(text);
  };
  const range = (option: string, field: 'sourcePort' | 'destinationPort') => (text: string): Partial<RuleBody> => {
    const [min, max] = text.split('-').map(number(option));
    return { [`${field}Min`]: min, [`${field}Max`]: max ?? min };
  };
  const named = (option: string, names: Record<string, number>) => (text: string) => names[text.toLowerCase()] ?? (/^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : number(option)(text));
  await condition('in-port', 'inPort', async (t) => ({ inPort: await id('port', t) }));
  await condition('out-port', 'outPort', async (t) => ({ outPort: await id('port', t) }));
  await condition('in-port-group', 'inPortGroup', async (t) => ({ inPortGroup: await id('port-group', t) }));
  await condition('out-port-group', 'outPortGroup', async (t) => ({ outPortGroup: await id('port-group', t) }));
  await condition('src-mac', 'sourceMac', (t) => ({ sourceMac: t }));
  await condition('dst-mac', 'destinationMac', (t) => ({ destinationMac: t }));
  await condition('ethertype', 'ethertype', (t) => ({ ethertype: named('ethertype', ETHERTYPES)(t) }));
  await condition('src', 'sourcePrefix', (t) => ({ sourcePrefix: t }));
  await condition('dst', 'destinationPrefix', (t) => ({ destinationPrefix: t }));
  await condition('protocol', 'protocol', (t) => ({ protocol: named('protocol', PROTOCOLS)(t) }));
  await condition('sport', 'sourcePorts', range('sport', 'sourcePort'));
  await condition('dport', 'destinationPorts', range('dport', 'destinationPort'));
  await condition('icmp-type', 'icmpType', (t) => ({ icmpType: number('icmp-type')(t) }));
  await condition('icmp-code', 'icmpCode', (t) => ({ icmpCode: number('icmp-code')(t) }));
  await condition('state', 'connectionState', (t) => ({ connectionState: oneOf('state', STATES, t) }));
  return rule;
}

/** A chain and its rules, numbered as `rule delete` takes them, in the options that make them. */
function describeChain(chain: Shown<'chains'>, names: ReadonlyMap<string, string>): string {
  const rules = chain.rules.map((r: ChainRule, i) => {
    const not = (field: ChainCondition) => (r.invert.includes(field) ? '!' : '');
    const name = (table: Record<string, number>, n: number) => Object.keys(table).find((k) => table[k] === n) ?? `${n}`;
    const range = (min: number, max: number) => (max !== min ? `${min}-${max}` : `${min}`);
    const parts = [
      r.action, r.jumpTo ? names.get(r.jumpTo) ?? r.jumpTo : '',
      ...(['inPort', 'outPort', 'inPortGroup', 'outPortGroup', 'sourceMac', 'destinationMac', 'sourcePrefix', 'destinationPrefix'] as const)
        .filter((f) => r[f]).map((f) => `--${OPTION_OF[f]} ${not(f)}${r[f].length === 36 ? r[f].slice(0, 8) : r[f]}`),
      r.ethertype ? `--ethertype ${not('ethertype')}${name(ETHERTYPES, r.ethertype)}` : '',
      r.protocol ? `--protocol ${not('protocol')}${name(PROTOCOLS, r.protocol)}` : '',
      r.sourcePortMax ? `--sport ${not('sourcePorts')}${range(r.sourcePortMin, r.sourcePortMax)}` : '',
      r.destinationPortMax ? `--dport ${not('destinationPorts')}${range(r.destinationPortMin, r.destinationPortMax)}` : '',
      r.icmpType >= 0 ? `--icmp-type ${not('icmpType')}${r.icmpType}` : '',
      r.icmpCode >= 0 ? `--icmp-code ${not('icmpCode')}${r.icmpCode}` : '',
      r.connectionState ? `--state ${not('connectionState')}${r.connectionState}` : '',
    ].filter(Boolean);
    return `  ${i + 1}: ${parts.join(' ')}`;
  });
  return [`chain ${chain.name || ''} (${chain.id})`, ...rules].join('\n');
}

const OPTION_OF: Record<string, string> = {
  inPort: 'in-port', outPort: 'out-port', inPortGroup: 'in-port-group', outPortGroup: 'out-port-group', sourceMac: 'src-mac', destinationMac: 'dst-mac', sourcePrefix: 'src', destinationPrefix: 'dst',
};
