// Network namespaces, a running agent and real traffic: shared by the demo, the tests and the benchmarks.
export * from './agent-process';
export * from './namespaces';
export * from './traffic';
export * from './topologies';
export * from './tenant-network';
export * from './etcd';
export * from './certificates';
export * from './libvirt';
export * from './qemu';
export * from './qmp';
export * from './sequenced-stream';
export * from './capture';
export * from './raw-frames';
export * from './flow-flood';
export * from './route-changes';
export * from './live-migration';
export * from './overlay-hosts';
