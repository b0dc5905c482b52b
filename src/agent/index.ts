// One host's agent: the switch, its control API and metrics.
export * from './agent';
export * from './control-api';
export * from './control-socket';
export * from './errors';
export type { LearnedMac } from './learned-macs';
export * from './metrics';
export * from './port-config';
export * from './switch';
export * from './switch-options';
export type { TopologyChange } from './host-topology';
