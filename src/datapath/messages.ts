// What the agent's thread and the datapath workers say to each other. Frames never travel in
// messages on the fast path: only a flow's first frames, on a miss, and control.
import type { Action } from '../flow';

export type PortKind = 'tap' | 'packet';

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
}

/** The slow path's answers for one upcall batch. Flows on the same path share their action
 *  list and tag set (tags name devices and stations, not 5-tuples), so each distinct one
 *  crosses the threads once and flows refer to it by index: a flood of new flows costs a few
 *  numbers per flow, not a copy of every string. */
export interface SlowPathAnswers {
  actionLists: Action[][];
  tagSets: string[][];
  /** Per flow, three numbers: its action list, its tag set, and 1 when it may be cached. */
  flows: Int32Array;
}

export function packAnswers(flows: readonly SlowPathFlow[]): SlowPathAnswers {
  const actionIndex = new Map<string, number>();
  const tagIndex = new Map<string, number>();
  const answers: SlowPathAnswers = { actionLists: [], tagSets: [], flows: new Int32Array(flows.length * 3) };
  const indexOf = <T>(index: Map<string, number>, list: T[], value: T, name: string) => {
    let at = index.get(name);
    if (at === undefined) index.set(name, (at = list.push(value) - 1));
    return at;
  };
  flows.forEach((flow, i) => {
    answers.flows[i * 3] = indexOf(actionIndex, answers.actionLists, flow.actions, JSON.stringify(flow.actions));
    answers.flows[i * 3 + 1] = indexOf(tagIndex, answers.tagSets, flow.tags, flow.tags.join('\n'));
    answers.flows[i * 3 + 2] = flow.cache ? 1 : 0;
  });
  return answers;
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

export type ToDatapath =
  | { type: 'addPort'; port: PortSpec; receive: boolean }
  | { type: 'removePort'; number: number }
  | { type: 'results'; batch: number; generation: number; answers: SlowPathAnswers }
  | { type: 'failed'; batch: number }
  | { type: 'transmit'; frames: Transmission[] }
  | { type: 'invalidate'; generation: number; tags: string[] }
  | { type: 'dumpFlows'; request: number }
  | { type: 'flushFlows'; request: number };

export type FromDatapath =
  | { type: 'upcall'; batch: number; keys: Uint32Array; frames: FrameBatch }
  | { type: 'portFailed'; number: number; errno: number }
  | { type: 'portRemoved'; number: number }
  | { type: 'activeSources'; sources: ActiveSource[] }
  | { type: 'flows'; request: number; flows: FlowDump[] }
  | { type: 'flushed'; request: number; removed: number };
