// The virtual topology: its model (topology.proto), the store interface and the embedded store.
export * from './model';
export * from './store';
export * from './embedded-store';
export * from './etcd-store';
export * from './late-store';
