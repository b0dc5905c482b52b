// The slow path: what the virtual topology does with a flow's first frame.
export * from './mac-table';
export * from './tags';
export * from './topology-simulation';
export * from './virtual-topology';
export * from './walk';
export * from './security-groups';
export * from './load-balancer';
