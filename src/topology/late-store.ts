// A store to build on before it is open: the agent builds its tenant API while the agent it
// takes over from still runs, and still holds the store, and gives it the store once that one
// has handed over. Every call goes to the store it was given; none may come before.
import { Kind, KindMap, Stored } from './model';
import { StoreEvent, StoreSnapshot, StoreUnavailable, TopologyStore } from './store';

export class LateStore implements TopologyStore {
  private store: TopologyStore | null = null;

  open(store: TopologyStore): void {
    this.store = store;
  }

  get<K extends Kind>(kind: K, id: string): Promise<Stored<K> | undefined> {
    return this.opened().get(kind, id);
  }

  list<K extends Kind>(kind: K): Promise<Stored<K>[]> {
    return this.opened().list(kind);
  }

  snapshot(): Promise<StoreSnapshot> {
    return this.opened().snapshot();
  }

  put<K extends Kind>(kind: K, value: KindMap[K], expectedVersion?: number): Promise<Stored<K>> {
    return this.opened().put(kind, value, expectedVersion);
  }

  delete(kind: Kind, id: string, expectedVersion?: number): Promise<boolean> {
    return this.opened().delete(kind, id, expectedVersion);
  }

  watch(fromRevision: number, listener: (event: StoreEvent) => void, onLost?: (error: Error) => void): () => void {
    return this.opened().watch(fromRevision, listener, onLost);
  }

  announce(host: string, ttlSeconds: number): Promise<() => Promise<void>> {
    return this.opened().announce(host, ttlSeconds);
  }

  liveHosts(): Promise<Set<string>> {
    return this.opened().liveHosts();
  }

  /** The store it was given is its opener's to close. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private opened(): TopologyStore {
    if (!this.store) throw new StoreUnavailable('not open yet', 'the agent has not opened it');
    return this.store;
  }
}
