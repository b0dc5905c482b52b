// The MAC-learning bridge, walked by the slow path for a flow's first frame: learn where the
// source lives, then forward to the port that knows the destination, or flood. VLAN-aware:
// an access port carries one VLAN untagged, a trunk port carries every VLAN tagged (VLAN 0 is
// untagged). The result names what it depended on, so a change removes exactly its flows.
import { Action, describeKey, KeyFlag } from '../flow';
import { MacTable, macTag } from './mac-table';

export interface BridgePort {
  number: number;
  up: boolean;
  /** Access VLAN; absent for a trunk port. */
  vlan?: number;
}

export interface SimulationResult {
  actions: Action[];
  tags: string[];
  /** Tags whose flows are stale after what this simulation learned. */
  invalidate: string[];
}

/** Flows whose output set is the bridge's ports (floods): any port change invalidates them. */
export const FLOOD_TAG = 'bridge:flood';
/** Flows of stations the full table could not learn: retried when space frees. */
export const TABLE_SPACE_TAG = 'mac-table:space';
export const portTag = (port: number): string => `port:${port}`;

export class LearningBridge {
  constructor(private readonly macs: MacTable) {}

  simulate(key: Uint32Array, at: number, ports: readonly BridgePort[], now: number): SimulationResult {
    const fields = describeKey(key, at);
    const inPort = ports.find((p) => p.number === fields.inPort);
    const tags = [portTag(fields.inPort)];
    const invalidate: string[] = [];
    const drop = (reason: 'sourceIsMulticast' | 'vlanMismatch' | 'portDown'): SimulationResult => ({
      actions: [{ type: 'drop', reason }], tags, invalidate,
    });
    if (!inPort || !inPort.up) return drop('portDown');
    const tagged = (fields.flags & KeyFlag.vlan) !== 0;
    if (inPort.vlan !== undefined && tagged) return drop('vlanMismatch');
    const vlan = inPort.vlan ?? (tagged ? fields.vlanTci & 0x0fff : 0);
    if (fields.sourceMac[0] & 1) return drop('sourceIsMulticast');

    const learned = this.macs.learn(vlan, fields.sourceMac, 0, inPort.number, now);
    if (learned === 'new' || learned === 'moved') invalidate.push(macTag(vlan, fields.sourceMac));
    if (learned === 'refused') tags.push(TABLE_SPACE_TAG);

    let outputs: BridgePort[];
    if (fields.destinationMac[0] & 1) {
      outputs = ports.filter((p) => p.number !== inPort.number && p.up && carries(p, vlan));
      tags.push(FLOOD_TAG);
    } else {
      tags.push(macTag(vlan, fields.destinationMac));
      const known = this.macs.lookup(vlan, fields.destinationMac);
      const port = ports.find((p) => p.number === known);
      if (port) outputs = port.number === inPort.number || !port.up || !carries(port, vlan) ? [] : [port];
      else {
        outputs = ports.filter((p) => p.number !== inPort.number && p.up && carries(p, vlan));
        tags.push(FLOOD_TAG);
      }
    }
    for (const p of outputs) tags.push(portTag(p.number));
    return { actions: vlanActions(outputs, tagged, vlan), tags, invalidate };
  }
}

function carries(port: BridgePort, vlan: number): boolean {
  return port.vlan === undefined || port.vlan === vlan;
}

/** Outputs that take the frame as it came first, then one tag change, then the rest. */
function vlanActions(outputs: readonly BridgePort[], tagged: boolean, vlan: number): Action[] {
  const wantsTag = (p: BridgePort) => p.vlan === undefined && vlan !== 0;
  const asIs = outputs.filter((p) => wantsTag(p) === tagged);
  const changed = outputs.filter((p) => wantsTag(p) !== tagged);
  const actions: Action[] = asIs.map((p) => ({ type: 'output', port: p.number }));
  if (changed.length > 0) {
    actions.push(tagged ? { type: 'pop_vlan' } : { type: 'push_vlan', vid: vlan });
    for (const p of changed) actions.push({ type: 'output', port: p.number });
  }
  return actions;
}
