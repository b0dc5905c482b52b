// Flows: the key a frame is switched on, the cache of decided flows, and their actions.
export * from './actions';
export * from './cache';
export * from './execute';
export * from './key';
export * from './match';
export * from './tags';
