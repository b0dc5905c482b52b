// Entry point of a simulation thread (a piscina task): walks the virtual topology for each
// flow of an upcall batch. Learned state lives in shared memory, so any thread may take a batch.
import { workerData } from 'piscina';
import type { SlowPathFlow } from '../src/datapath';
import { KEY_WORDS } from '../src/flow';
import { BridgePort, LearningBridge, MacTable } from '../src/simulation';

export interface SimulationTask {
  keys: Uint32Array;
  ports: BridgePort[];
  now: number;
}

export interface SimulationAnswer {
  flows: SlowPathFlow[];
  invalidate: string[];
}

const bridge = new LearningBridge(new MacTable((workerData as { macTable: SharedArrayBuffer }).macTable));

export default function simulate(task: SimulationTask): SimulationAnswer {
  const flows: SlowPathFlow[] = [];
  const invalidate = new Set<string>();
  for (let at = 0; at < task.keys.length; at += KEY_WORDS) {
    const result = bridge.simulate(task.keys, at, task.ports, task.now);
    flows.push({ actions: result.actions, tags: result.tags });
    for (const tag of result.invalidate) invalidate.add(tag);
  }
  return { flows, invalidate: [...invalidate] };
}
