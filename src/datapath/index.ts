// The fast path: ports, the per-worker engine, its counters, and the native I/O under them.
export * from './counters';
export * from './datapath';
export * from './messages';
export * from './meters';
export * from './native';
export * from './pending';
export * from './port';
export * from './tx-queue';
export * from './capture';
export * from './latency';
export * from './worker-loop';
