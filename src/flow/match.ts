// A condition on a flow's key, written in Open vSwitch's flow syntax: an optional protocol word
// (arp, ip, ipv6, icmp, icmp6, tcp, tcp6, udp, udp6) and fields dl_src=, dl_dst=, nw_src=,
// nw_dst= (an address or a prefix), tp_src=, tp_dst=. What a mirror copies is chosen by one.
// The flow cache keys on every field named here, so a decision made on a flow's first frame
// holds for all its frames.
import { contains, EtherType, FLOW_PROTOCOLS, formatMac, parseMac, parsePrefix } from '../packet';
import type { FlowKeyFields } from './key';

export class FlowMatchError extends Error {}

const FIELDS = ['dl_src', 'dl_dst', 'nw_src', 'nw_dst', 'tp_src', 'tp_dst'] as const;
const ANY_IP = 0xfd;

export type FlowMatch = (fields: FlowKeyFields) => boolean;

/** The predicate `text` stands for; an empty text matches every frame. Throws FlowMatchError. */
export function parseFlowMatch(text: string): FlowMatch {
  const tests: FlowMatch[] = [];
  for (const word of text.split(/[\s,]+/).filter(Boolean)) {
    const protocol = FLOW_PROTOCOLS[word];
    if (protocol) {
      const { ethertype, ip } = protocol;
      tests.push((f) => f.ethertype === ethertype && (ip === undefined || ip === ANY_IP || f.ipProtocol === ip));
      continue;
    }
    const [name, value] = word.split('=');
    if (!(FIELDS as readonly string[]).includes(name) || !value) throw new FlowMatchError(`'${word}' is not a protocol word or a field=value of ${FIELDS.join(', ')}`);
    tests.push(fieldTest(name as (typeof FIELDS)[number], value));
  }
  return (f) => tests.every((test) => test(f));
}

function fieldTest(name: (typeof FIELDS)[number], value: string): FlowMatch {
  try {
    switch (name) {
      case 'dl_src':
      case 'dl_dst': {
        const mac = formatMac(parseMac(value));
        return name === 'dl_src' ? (f) => formatMac(f.sourceMac) === mac : (f) => formatMac(f.destinationMac) === mac;
      }
      case 'nw_src':
      case 'nw_dst': {
        const prefix = parsePrefix(value);
        const ip = (f: FlowKeyFields) => f.ethertype === EtherType.ipv4 || f.ethertype === EtherType.ipv6;
        return name === 'nw_src' ? (f) => ip(f) && contains(prefix, f.networkSource) : (f) => ip(f) && contains(prefix, f.networkDestination);
      }
      case 'tp_src':
      case 'tp_dst': {
        if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new Error('not a port number from 0 to 65535');
        const port = Number(value);
        return name === 'tp_src' ? (f) => f.transportSource === port : (f) => f.transportDestination === port;
      }
    }
  } catch (error) {
    throw new FlowMatchError(`${name}: ${(error as Error).message}`);
  }
}
