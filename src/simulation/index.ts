// The slow path: what the virtual topology does with a flow's first frame.
export * from './bridge';
export * from './mac-table';
