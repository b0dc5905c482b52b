// The tenant API server.
export * from './server';
export { ApiError } from './rules';
