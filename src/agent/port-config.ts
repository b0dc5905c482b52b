// A port as the switch's callers describe it (PortConfig) and see it (PortInfo), and the
// checks a description must pass before anything is opened.
import type { PortKind } from '../datapath';
import { SwitchError } from './errors';

const PORT_NAME = /^[A-Za-z0-9_.:-]{1,15}$/;

export interface PortConfig {
  name: string;
  kind: PortKind;
  /** Access VLAN (untagged on the port); absent for a trunk. */
  vlan?: number;
  /** Carry virtio-net headers (offloads); on by default. */
  vnetHdr?: boolean;
}

export type PortState = 'up' | 'down';

export interface PortInfo {
  number: number;
  name: string;
  kind: PortKind;
  vlan?: number;
  /** The virtual port it is bound to. */
  binding?: string;
  state: PortState;
  reason?: string;
  counters: { rxPackets: number; rxBytes: number; rxDropped: number; txPackets: number; txBytes: number; txDropped: number };
  /** What it sent that was dropped, by reason (only reasons that happened). */
  drops: Record<string, number>;
}

export function validatePortConfig(config: PortConfig): void {
  if (typeof config.name !== 'string' || !PORT_NAME.test(config.name)) {
    throw new SwitchError('INVALID_NAME', 'name must be an interface name of 1 to 15 letters, digits or _.:-', 400, 'name');
  }
  if (config.kind !== 'tap' && config.kind !== 'packet') {
    throw new SwitchError('INVALID_KIND', "kind must be 'tap' (open a tap device) or 'packet' (attach to an existing interface)", 400, 'kind');
  }
  if (config.vlan !== undefined && (!Number.isInteger(config.vlan) || config.vlan < 1 || config.vlan > 4094)) {
    throw new SwitchError('INVALID_VLAN', 'vlan must be an integer from 1 to 4094', 400, 'vlan');
  }
  if (config.vnetHdr !== undefined && typeof config.vnetHdr !== 'boolean') {
    throw new SwitchError('INVALID_VNET_HDR', 'vnetHdr must be true or false', 400, 'vnetHdr');
  }
}
