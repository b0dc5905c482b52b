// What every topology store offers, embedded (one machine, a file) or distributed (etcd):
// versioned objects with compare-and-set, and a watch that replays from a revision, as etcd's
// own API does, so that the agent and the API code do not care which one runs.
import { Kind, KindMap, Stored } from './model';

export type StoreEvent =
  | { type: 'put'; revision: number; object: Stored }
  | { type: 'delete'; revision: number; kind: Kind; id: string; previous: Stored };

export interface StoreSnapshot {
  revision: number;
  objects: Stored[];
}

export interface TopologyStore {
  get<K extends Kind>(kind: K, id: string): Promise<Stored<K> | undefined>;
  list<K extends Kind>(kind: K): Promise<Stored<K>[]>;
  /** Everything at one revision: where a watcher starts. */
  snapshot(): Promise<StoreSnapshot>;
  /** Writes an object. With `expectedVersion`, only if it is still at that version (0: only if
   *  it does not exist yet); a conflict throws StoreConflict. Resolves once durable. */
  put<K extends Kind>(kind: K, value: KindMap[K], expectedVersion?: number): Promise<Stored<K>>;
  /** Deletes an object (false when there was none), under the same version check. */
  delete(kind: Kind, id: string, expectedVersion?: number): Promise<boolean>;
  /** Calls `listener` with every change after `fromRevision`, in order, then as they happen.
   *  When the changes since then are no longer kept it throws StoreCompacted, or, for a store
   *  that learns it later (etcd), calls `onLost`: take a snapshot and watch again. */
  watch(fromRevision: number, listener: (event: StoreEvent) => void, onLost?: (error: Error) => void): () => void;
  /** Says a host is alive for as long as its agent renews it (a lease of `ttlSeconds`); the
   *  returned function says it is leaving. An agent that dies expires with its lease. */
  announce(host: string, ttlSeconds: number): Promise<() => Promise<void>>;
  /** The hosts whose announcement has not expired. */
  liveHosts(): Promise<Set<string>>;
  close(): Promise<void>;
}

export class StoreConflict extends Error {
  constructor(readonly kind: Kind, readonly id: string, readonly expected: number, readonly actual: number) {
    super(`${kind} ${id} is at version ${actual}, not ${expected}: it changed meanwhile (read it again)`);
  }
}

/** The store cannot be reached (etcd down or partitioned away): nothing was written. */
export class StoreUnavailable extends Error {
  constructor(readonly where: string, why: string) {
    super(`the topology store (${where}) does not answer: ${why}; nothing was changed (try again when it is back)`);
  }
}

export class StoreCompacted extends Error {
  constructor(readonly fromRevision: number, readonly oldest: number) {
    super(`changes after revision ${fromRevision} are no longer kept (oldest kept: ${oldest}): start from a snapshot`);
  }
}
