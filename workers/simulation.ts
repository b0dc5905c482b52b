// Entry point of a simulation thread (a piscina task): walks the virtual topology for each
// flow of an upcall batch. The topology arrives as a versioned state in shared memory, decoded
// when it changed; learned MACs go straight into the shared tables, so any thread may take a batch.
import { FrameBatch, frameOf, packAnswers, PredictedSlowPathFlow, SlowPathAnswers, SlowPathFlow, Transmission } from '../src/datapath';
import { KEY_WORDS } from '../src/flow';
import { decodeState, EncodedState, Hold, LearnedStation, Neighbor, Service, TopologySimulation } from '../src/simulation';

export interface SimulationTask {
  keys: Uint32Array;
  /** Each flow's first frame (vnet header first). */
  frames: FrameBatch;
  now: number;
  state: EncodedState;
}

export interface SimulationAnswer {
  answers: SlowPathAnswers;
  invalidate: string[];
  emit: Transmission[];
  learned: Neighbor[];
  stations: LearnedStation[];
  holds: Hold[];
  /** Answers of services (DHCP, router advertisements) sent from this host. */
  served: Record<Service, number>;
  /** Source NAT addresses (network/address) this host ran out of ports on, and how often. */
  natShortages: Record<string, number>;
  /** Replies to the agent's health probes. */
  probeReplies: Uint8Array[];
}

let simulation: TopologySimulation | null = null;

export default function simulate(task: SimulationTask): SimulationAnswer {
  if (simulation?.topology.version !== task.state.version) simulation = new TopologySimulation(decodeState(task.state));
  const answer: SimulationAnswer = { answers: packAnswers([]), invalidate: [], emit: [], learned: [], stations: [], holds: [], served: { dhcp: 0, routerAdvertisement: 0 }, natShortages: {}, probeReplies: [] };
  const flows: SlowPathFlow[] = [];
  const predicted: PredictedSlowPathFlow[] = [];
  const invalidate = new Set<string>();
  for (let i = 0; i * KEY_WORDS < task.keys.length; i++) {
    const result = simulation.simulate(task.keys, i * KEY_WORDS, frameOf(task.frames, i), task.now);
    flows.push({ actions: result.actions, tags: result.tags, cache: result.cache, connection: result.connection });
    for (const p of result.predicted) predicted.push({ key: p.key, actions: p.result.actions, tags: p.result.tags, cache: true, connection: p.result.connection, tell: p.way });
    for (const tag of result.invalidate) invalidate.add(tag);
    answer.emit.push(...result.emit);
    for (const e of result.emit) if (e.service) answer.served[e.service]++;
    answer.learned.push(...result.learned);
    answer.stations.push(...result.stations);
    answer.holds.push(...result.holds);
    answer.probeReplies.push(...result.probeReplies);
    for (const key of result.natShortages) answer.natShortages[key] = (answer.natShortages[key] ?? 0) + 1;
  }
  answer.invalidate = [...invalidate];
  answer.answers = packAnswers(flows, predicted);
  return answer;
}
