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
  | { type: 'results'; batch: number; generation: number; flows: SlowPathFlow[] }
  | { type: 'failed'; batch: number }
  | { type: 'transmit'; frames: Transmission[] }
  | { type: 'invalidate'; generation: number; tags: string[] }
  | { type: 'dumpFlows'; request: number }
  | { type: 'flushFlows'; request: number };

export type FromDatapath =
  | { type: 'upcall'; batch: number; keys: Uint32Array; frames: Uint8Array[] }
  | { type: 'portFailed'; number: number; errno: number }
  | { type: 'portRemoved'; number: number }
  | { type: 'activeSources'; sources: ActiveSource[] }
  | { type: 'flows'; request: number; flows: FlowDump[] }
  | { type: 'flushed'; request: number; removed: number };
