// Flows: the key a frame is switched on, the cache of decided flows, their actions, and the
// connections security groups track.
export * from './actions';
export * from './cache';
export * from './execute';
export * from './key';
export * from './match';
export * from './tags';
export * from './conntrack';
export * from './flow-state';
