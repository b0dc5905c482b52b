// Flows a new TCP connection will need, set up with its first. The flow key keeps a SYN apart
// from the connection's later segments (KeyFlag.tcpOpening), so a connection needs three flows:
// its SYN's, and one for each way of its later segments, each the first time a slow-path round
// trip. When the SYN's walk opens the connection (or none tracks it) and forwards it, the other
// two are walked at once, in `predict` mode, as their first segments will find the connection:
// - the later segments the same way: the SYN's key but for its opening bit;
// - the replies, when the SYN leaves by one port of this host: the frame as it leaves, turned
//   around (addresses, ports and MACs swapped), entering by that port.
// Each is installed ahead only if its walk forwards it, cached, with no side effect, on the
// same connection. A guess that does not hold (a reply from another MAC, say) costs nothing: the
// reply misses and comes up as before, and the unused flow idles out. Connection tracking still
// hears of each flow's first segment, from the datapath (ConnectionSegments: the SYN-ACK that
// makes the connection SYN_RECV, the ACK that makes it ESTABLISHED).
import { KEY_WORDS, KeyFlag, KeyWord, TcpBits, TellFirst } from '../flow';
import { IpProtocol } from '../packet';
import type { SimulationResult, Walk } from './walk';

export interface PredictedFlow {
  key: Uint32Array;
  result: SimulationResult;
  /** Which way of the connection it goes (TellFirst). */
  way: number;
}

/** The flows to set up with the flow `w` walked (key[at..]); `walk` walks a key in `predict` mode. */
export function predictedFlows(w: Walk, key: Uint32Array, at: number, walk: (key: Uint32Array) => SimulationResult): PredictedFlow[] {
  const f = w.fields;
  if (w.mode !== 'live' || !w.cache || w.outputs === 0 || f.ipProtocol !== IpProtocol.tcp || w.tcpControl !== TcpBits.syn) return [];
  if (w.tracking && (w.tracking.state !== 'new' || w.connection < 0)) return [];
  const later = key.slice(at, at + KEY_WORDS);
  later[KeyWord.typeProtoFlags] &= ~KeyFlag.tcpOpening;
  const keys: [Uint32Array, number][] = [[later, TellFirst.original]];
  const reply = replyKey(w);
  if (reply) keys.push([reply, TellFirst.reply]);
  const predicted: PredictedFlow[] = [];
  for (const [k, way] of keys) {
    const r = walk(k);
    const forwards = r.actions.some((a) => a.type === 'output' || a.type === 'tunnel');
    if (r.cache && forwards && r.connection === w.connection && r.holds.length === 0 && r.emit.length === 0) predicted.push({ key: k, result: r, way: w.connection >= 0 ? way : TellFirst.none });
  }
  return predicted;
}

/** The key of the reply to the frame `w` sends, as it would enter by the one port of this host
 *  the frame leaves by; null when it leaves otherwise (a tunnel, several ports) or tagged. */
function replyKey(w: Walk): Uint32Array | null {
  const f = w.fields;
  const outputs = w.actions.filter((a) => a.type === 'output');
  if (outputs.length !== 1 || w.outputs !== 1 || !w.leftWith || f.flags & KeyFlag.vlan || w.actions.some((a) => a.type === 'push_vlan' || a.type === 'pop_vlan')) return null;
  const port = (outputs[0] as { port: number }).port;
  const key = new Uint32Array(KEY_WORDS);
  key[KeyWord.inPortVlan] = port << 16;
  key[KeyWord.typeProtoFlags] = ((f.ethertype << 16) | (IpProtocol.tcp << 8)) >>> 0;
  const macs = [...w.leftWith.source, ...w.leftWith.destination]; // the reply's destination is this frame's source
  for (let i = 0; i < 3; i++) key[KeyWord.macs + i] = ((macs[4 * i] << 24) | (macs[4 * i + 1] << 16) | (macs[4 * i + 2] << 8) | macs[4 * i + 3]) >>> 0;
  const words = (address: Uint8Array, first: number) => {
    for (let i = 0; i < address.length; i += 4) key[first + i / 4] = ((address[i] << 24) | (address[i + 1] << 16) | (address[i + 2] << 8) | address[i + 3]) >>> 0;
  };
  words(f.networkDestination, KeyWord.networkSource);
  words(f.networkSource, KeyWord.networkDestination);
  key[KeyWord.transport] = ((f.transportDestination << 16) | f.transportSource) >>> 0;
  return key;
}
