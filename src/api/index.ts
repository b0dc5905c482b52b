// The tenant API server.
export * from './server';
export { ApiError } from './rules';
export { abortMigration, beginMigration, commitMigration, expireMigration } from './migrations';
export { newToken, tokenDigest } from './callers';
export type { Caller, Role } from './callers';
export { httpsOnly } from './https-only';
