// What the agent's thread and the datapath workers say to each other. Frames never travel in
// messages on the fast path: only a flow's first frames, on a miss, and control.
import type { Action } from '../flow';
import { KEY_WORDS } from '../flow/key';
import type { CapturedFrame, CaptureSpec } from './capture';

export type PortKind = 'tap' | 'packet' | 'tunnel';

export interface PortSpec {
  number: number;
  name: string;
  kind: PortKind;
  fd: number;
  vnetHdr: boolean;
}

export interface SlowPathFlow {
  actions: Action[];
  tags: string[];
  /** False when the slow path answered the frame itself (a ping to a router): not installed,
   *  and every later frame of the flow comes up too. */
  cache: boolean;
  /** The tracked connection the flow belongs to (its slot), or -1: its flows end with it. */
  connection: number;
}

/** A flow the slow path set up ahead of its first frame (see predicted-flows.ts), with its key
 *  and which way of its connection its first hit is told to connection tracking as (TellFirst). */
export interface PredictedSlowPathFlow extends SlowPathFlow {
  key: Uint32Array;
  tell: number;
}

/** The slow path's answers for one upcall batch. Flows on the same path share their action
 *  list and tag set (tags name devices and stations, not 5-tuples), so each distinct one
 *  crosses the threads once and flows refer to it by index: a flood of new flows costs a few
 *  numbers per flow, not a copy of every string. */
export interface SlowPathAnswers {
  actionLists: Action[][];
  tagSets: string[][];
  /** Per flow, FLOW_FIELDS numbers: its action list, its tag set, 1 when it may be cached,
   *  and its connection (or -1). A connection is not a tag: one per flow, it would make every
   *  flow's tag set its own. */
  flows: Int32Array;
  /** Flows set up ahead: their keys one after another, their FLOW_FIELDS numbers as above
   *  (the third is their TellFirst), in the same lists. */
  predictedKeys: Uint32Array;
  predicted: Int32Array;
}
export const FLOW_FIELDS = 4;

export function packAnswers(flows: readonly SlowPathFlow[], predicted: readonly PredictedSlowPathFlow[] = []): SlowPathAnswers {
  const answers: SlowPathAnswers = {
    actionLists: [], tagSets: [], flows: new Int32Array(flows.length * FLOW_FIELDS),
    predictedKeys: new Uint32Array(predicted.length * KEY_WORDS), predicted: new Int32Array(predicted.length * FLOW_FIELDS),
  };
  const pack = (into: Int32Array, i: number, flow: SlowPathFlow, third: number) => {
    into[i * FLOW_FIELDS] = indexIn(answers.actionLists, flow.actions, sameAction);
    into[i * FLOW_FIELDS + 1] = indexIn(answers.tagSets, flow.tags, (a, b) => a === b);
    into[i * FLOW_FIELDS + 2] = third;
    into[i * FLOW_FIELDS + 3] = flow.connection;
  };
  flows.forEach((flow, i) => pack(answers.flows, i, flow, flow.cache ? 1 : 0));
  predicted.forEach((flow, i) => {
    answers.predictedKeys.set(flow.key, i * KEY_WORDS);
    pack(answers.predicted, i, flow, flow.tell);
  });
  return answers;
}

/** Lists looked at for an equal one: flows of one path come together, and a batch of all
 *  different flows must not cost a comparison with every other. */
const RECENT_LISTS = 8;

/** Where an equal list already is, or where it is added. The walk gives the same tag string
 *  objects again, so comparing is cheaper than naming a list by a joined key. */
function indexIn<T>(lists: T[][], list: T[], same: (a: T, b: T) => boolean): number {
  for (let at = lists.length - 1; at >= 0 && at >= lists.length - RECENT_LISTS; at--) {
    const known = lists[at];
    if (known.length === list.length && known.every((x, i) => same(x, list[i]))) return at;
  }
  return lists.push(list) - 1;
}

function sameAction(a: Action, b: Action): boolean {
  const fields = a as unknown as Record<string, unknown>;
  const other = b as unknown as Record<string, unknown>;
  return a.type === b.type && Object.keys(fields).every((k) => fields[k] === other[k]);
}

/** Frames packed end to end, frame i at bytes[ends[i-1], ends[i]): one buffer crosses the
 *  threads instead of one object per frame. */
export interface FrameBatch {
  bytes: Uint8Array;
  ends: Uint32Array;
}

export function packFrames(frames: readonly Uint8Array[]): FrameBatch {
  const ends = new Uint32Array(frames.length);
  let total = 0;
  frames.forEach((f, i) => (ends[i] = total += f.length));
  const bytes = new Uint8Array(total);
  frames.forEach((f, i) => bytes.set(f, ends[i] - f.length));
  return { bytes, ends };
}

export function frameOf(batch: FrameBatch, i: number): Uint8Array {
  return batch.bytes.subarray(i === 0 ? 0 : batch.ends[i - 1], batch.ends[i]);
}

/** A frame the slow path sends (a device's reply, a frame that waited for a neighbor). */
export interface Transmission {
  /** The frame behind its virtio-net header. */
  frame: Uint8Array;
  actions: Action[];
}

export interface FlowDump {
  key: Uint32Array;
  actions: Action[];
  tags: readonly string[];
  packets: number;
  bytes: number;
  idleMs: number;
}

export interface ActiveSource {
  port: number;
  vlanTci: number;
  mac: Uint8Array;
}

/** Where tunnelled frames go, by their key: to a local datapath port (as the sending host's
 *  simulation chose), into the topology (from a VTEP), or, for a VM arriving here, marks from
 *  its source host of what the guest sent there; and the hosts whose datagrams are taken
 *  (IPv4 addresses as numbers). */
export interface TunnelMap {
  delivery: [number, number][];
  ingress: [number, number][];
  marks: [number, number][];
  peers: number[];
}

export type ToDatapath =
  /** `holdMs`: the port holds what is sent to it from its first frame (a VM arriving here). */
  | { type: 'addPort'; port: PortSpec; receive: boolean; holdMs?: number }
  | { type: 'capture'; spec: CaptureSpec }
  | { type: 'captureEnd'; id: number }
  | { type: 'removePort'; number: number }
  | { type: 'results'; batch: number; generation: number; answers: SlowPathAnswers }
  | { type: 'failed'; batch: number }
  | { type: 'transmit'; frames: Transmission[] }
  | ({ type: 'tunnelMap' } & TunnelMap)
  | { type: 'invalidate'; generation: number; tags: string[] }
  | { type: 'dumpFlows'; request: number }
  /** Read no port again; answered (readingStopped) once no frame waits for the slow path. */
  | { type: 'stopReading'; request: number }
  | { type: 'flushFlows'; request: number }
  /** Hold what is sent to the port (the newest `windowMs` of it) until its guest sends. */
  | { type: 'hold'; number: number; windowMs: number }
  /** Send what is held for the port, and stop holding. */
  | { type: 'release'; number: number };

export type FromDatapath =
  | { type: 'upcall'; batch: number; keys: Uint32Array; frames: FrameBatch }
  /** Copies of frames captures asked for (capture.ts). */
  | { type: 'captured'; frames: CapturedFrame[] }
  /** Another host asks for a capture of a port here (`from`: its underlay address). */
  | { type: 'captureRequest'; from: number; bytes: Uint8Array }
  | { type: 'portFailed'; number: number; errno: number }
  /** A held port's guest sent its first frame: it runs here now. */
  | { type: 'guestRunning'; number: number }
  | { type: 'portRemoved'; number: number }
  | { type: 'activeSources'; sources: ActiveSource[] }
  /** Tracked connections (their slots) whose flows were used since the last report. */
  | { type: 'activeConnections'; slots: number[] }
  /** Connections flow state from another host ended here (it took their NAT port): their
   *  flows must go. */
  | { type: 'connectionsEnded'; slots: number[] }
  | { type: 'flows'; request: number; flows: FlowDump[] }
  | { type: 'readingStopped'; request: number }
  | { type: 'flushed'; request: number; removed: number };
