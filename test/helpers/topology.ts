// A host's topology for slow-path tests: store objects, the datapath ports that stand for
// them, and a walk over the state the simulation threads would get.
import { DatapathPortView, HostTopology } from '../../src/agent/host-topology';
import { Action, FlowKeyExtractor, KEY_WORDS } from '../../src/flow';
import { VNET_HEADER_BYTES } from '../../src/packet';
import { decodeState, SimulationResult, TopologySimulation, WalkMode } from '../../src/simulation';
import { EMPTY, Kind, KindMap, newId, Stored } from '../../src/topology';

export class TestHost {
  readonly host = new HostTopology('h1', 16);
  private objects: Stored[] = [];
  private readonly extractor = new FlowKeyExtractor();
  private simulation: TopologySimulation | null = null;
  private builtFor = '';

  constructor(public ports: DatapathPortView[] = []) {}

  /** Adds (or replaces) an object; returns its id. */
  put<K extends Kind>(kind: K, fields: Partial<KindMap[K]>): string {
    const value = { id: newId(), tenant: 't1', ...EMPTY[kind], ...fields } as KindMap[K];
    this.objects = [...this.objects.filter((o) => o.value.id !== value.id || o.kind !== kind), { kind, version: this.objects.length + 1, value }];
    this.host.setObjects(this.objects);
    this.simulation = null;
    return value.id;
  }

  /** Walks a frame (without vnet header) arriving on a datapath port. */
  simulate(inPort: number, frame: Uint8Array, mode: WalkMode = 'live'): SimulationResult {
    const withHeader = new Uint8Array(VNET_HEADER_BYTES + frame.length);
    withHeader.set(frame, VNET_HEADER_BYTES);
    const key = new Uint32Array(KEY_WORDS);
    this.extractor.extract(withHeader, VNET_HEADER_BYTES, withHeader.length, inPort, key, 0);
    const ports = JSON.stringify(this.ports);
    if (!this.simulation || ports !== this.builtFor) {
      this.host.changed();
      this.simulation = new TopologySimulation(decodeState(this.host.encode(this.ports)));
      this.builtFor = ports;
    }
    const result = this.simulation.simulate(key, 0, withHeader, 0, mode);
    if (this.host.learnNeighbors(result.learned).length > 0) this.simulation = null;
    return result;
  }
}

export const outputs = (actions: Action[]): number[] => actions.filter((a) => a.type === 'output').map((a) => (a as { port: number }).port);
