// `vswitch trace`: what the switch would do with a frame arriving on a port, step by step,
// without sending or learning anything (ovs-appctl ofproto/trace, MidoNet's trace requests).
import { describeKey, formatActions, formatKey } from '../flow';
import { EtherType, formatIpv4, formatIpv6, formatMac, frameFromText, FrameTextError } from '../packet';
import { SwitchError } from './errors';
import type { Switch } from './switch';

export interface TraceReport {
  /** The flow the frame belongs to, in ovs-ofctl's syntax. */
  flow: string;
  /** The devices visited and each decision. */
  steps: string[];
  /** The flow's actions, as they would be cached (or run once, when not cached). */
  actions: string;
  cached: boolean;
  /** Frames the devices would send, with where they go. */
  sends: string[];
}

/** A trace request's body: {port, flow}; port is an interface, a port number or a virtual port id. */
export function traceRequest(sw: Switch, body: unknown): TraceReport {
  const { port, flow } = (body ?? {}) as { port?: unknown; flow?: unknown };
  if (typeof port !== 'string' && typeof port !== 'number') throw new SwitchError('MISSING_FIELD', 'port is required: the port the frame arrives on', 400, 'port');
  if (typeof flow !== 'string') throw new SwitchError('MISSING_FIELD', 'flow is required, e.g. "icmp,dl_dst=02:…,nw_src=10.0.1.5,nw_dst=10.0.2.5"', 400, 'flow');
  return trace(sw, port, flow);
}

export function trace(sw: Switch, port: string | number, flow: string): TraceReport {
  let frame: Uint8Array;
  try {
    frame = frameFromText(flow);
  } catch (error) {
    if (error instanceof FrameTextError) throw new SwitchError('INVALID_FLOW', error.message, 400, 'flow');
    throw error;
  }
  const result = sw.trace(port, frame);
  const fields = describeKey(result.flow, 0);
  const address = fields.ethertype === EtherType.ipv6 ? formatIpv6 : formatIpv4;
  return {
    flow: formatKey(fields, formatMac, address),
    steps: result.trace,
    actions: formatActions(result.actions),
    cached: result.cache,
    sends: [...result.emit, ...result.holds.flatMap((h) => (h.request ? [h.request] : []))].map((e) => formatActions(e.actions)),
  };
}
