// The store on etcd (v3 API, Debian's etcd-server), for many hosts: one key per object
// (ROOT/topology/KIND/ID), its value the object's protobuf bytes; hosts' liveness as keys
// under ROOT/liveness/ held by leases. An object's version is the
// key's mod revision; compare-and-set is an etcd transaction on it (create revision 0 for "must
// not exist yet"); a watch is etcd's own, from a revision, with the previous value for deletes.
import type { Etcd3, IKeyValue, Lease } from 'etcd3';
import { decodeObject, encodeObject } from './codec';
import { Kind, KINDS, KindMap, Stored } from './model';
import { StoreConflict, StoreEvent, StoreSnapshot, StoreUnavailable, TopologyStore } from './store';

const DEFAULT_ROOT = '/vswitch/';
/** Objects read per request: an answer with all of them would pass gRPC's 4 MB bound on a
 *  message at some 25,000 ports. Answers may be up to MAX_ANSWER_BYTES, for pages of large
 *  objects (a security group of many rules). Pages are large because etcd counts the rest of
 *  the range for each: at 500 a page, 200,000 objects took 16.5 s to read. */
const PAGE = 5000;
const MAX_ANSWER_BYTES = 64 << 20;

/** etcd's client library, loaded by the first store on etcd. Loading it takes 0.1–0.25 s of a
 *  thread, which an agent on the embedded store would pay in its start (the gap a restart
 *  leaves), as would each of its simulation threads and every `vswitch` command. */
function etcd3(): typeof import('etcd3') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
  return require('etcd3');
}

export interface EtcdTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export class EtcdStore implements TopologyStore {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly liveness: string;
  private readonly leases = new Set<Lease>();

  /** `endpoints`: etcd's client URLs, e.g. http://127.0.0.1:2379 (comma-separated for several);
   *  `root`: the key prefix of everything this store keeps; `tls`, for https:// endpoints: the
   *  CA that signed etcd's certificate, and a client certificate and key if etcd asks for one. */
  constructor(private readonly endpoints: string, root = DEFAULT_ROOT, tls?: EtcdTls) {
    const credentials = tls && { rootCertificate: tls.ca, ...(tls.cert ? { certChain: tls.cert, privateKey: tls.key } : {}) };
    this.client = new (etcd3().Etcd3)({
      hosts: endpoints.split(','), dialTimeout: 3000, grpcOptions: { 'grpc.max_receive_message_length': MAX_ANSWER_BYTES }, ...(credentials ? { credentials } : {}),
    });
    this.prefix = `${root}topology/`;
    this.liveness = `${root}liveness/`;
  }

  async get<K extends Kind>(kind: K, id: string): Promise<Stored<K> | undefined> {
    const response = await this.reach(() => this.client.get(this.key(kind, id)).exec());
    const kv = response.kvs[0];
    return kv ? (this.decode(kv) as Stored<K>) : undefined;
  }

  async list<K extends Kind>(kind: K): Promise<Stored<K>[]> {
    return (await this.read(`${this.prefix}${kind}/`)).objects as Stored<K>[];
  }

  async snapshot(): Promise<StoreSnapshot> {
    return this.read(this.prefix);
  }

  /** Every object under `prefix` as of one revision, read a page at a time. */
  private async read(prefix: string): Promise<StoreSnapshot> {
    const { start, end } = etcd3().Range.prefix(prefix);
    const objects: Stored[] = [];
    let revision = 0;
    for (let from = start; ;) {
      const page = this.client.getAll().inRange({ start: from, end }).limit(PAGE);
      if (revision > 0) page.revision(revision);
      const response = await this.reach(() => page.exec());
      revision ||= Number(response.header.revision);
      for (const kv of response.kvs) objects.push(this.decode(kv));
      if (!response.more || response.kvs.length === 0) return { revision, objects };
      from = Buffer.concat([response.kvs[response.kvs.length - 1].key, Buffer.from([0])]);
    }
  }


  async put<K extends Kind>(kind: K, value: KindMap[K], expectedVersion?: number): Promise<Stored<K>> {
    const key = this.key(kind, value.id);
    const bytes = Buffer.from(encodeObject({ kind, value }));
    const put = this.client.put(key).value(bytes);
    if (expectedVersion === undefined) {
      const response = await this.reach(() => put.exec());
      return { kind, version: Number(response.header.revision), value };
    }
    const column = expectedVersion === 0 ? 'Create' : 'Mod';
    const response = await this.reach(() => this.client.if(key, column, '==', expectedVersion).then(put).commit());
    if (!response.succeeded) throw new StoreConflict(kind, value.id, expectedVersion, (await this.get(kind, value.id))?.version ?? 0);
    return { kind, version: Number(response.header.revision), value };
  }

  async delete(kind: Kind, id: string, expectedVersion?: number): Promise<boolean> {
    const key = this.key(kind, id);
    if (expectedVersion === undefined) return Number((await this.reach(() => this.client.delete().key(key).exec())).deleted) > 0;
    const response = await this.reach(() => this.client.if(key, 'Mod', '==', expectedVersion).then(this.client.delete().key(key)).commit());
    if (!response.succeeded) throw new StoreConflict(kind, id, expectedVersion, (await this.get(kind, id))?.version ?? 0);
    return Number(response.responses[0]?.response_delete_range?.deleted ?? 0) > 0;
  }

  watch(fromRevision: number, listener: (event: StoreEvent) => void, onLost?: (error: Error) => void): () => void {
    let stopped = false;
    let cancel = () => {};
    this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(fromRevision + 1))
      .withPreviousKV()
      .create()
      .then((watcher) => {
        cancel = () => void watcher.cancel();
        if (stopped) return cancel();
        watcher.on('put', (kv) => listener({ type: 'put', revision: Number(kv.mod_revision), object: this.decode(kv) }));
        watcher.on('delete', (kv, previous) => {
          const [kind, id] = this.parse(kv.key.toString());
          listener({ type: 'delete', revision: Number(kv.mod_revision), kind, id, previous: previous ? this.decode(previous) : { kind, version: 0, value: { id } as Stored['value'] } });
        });
        // etcd gone: the caller starts again from a snapshot once it answers, rather than wait
        // for this watch's own reconnection backoff.
        watcher.on('disconnected', (error) => onLost?.(error));
        watcher.on('error', (error) => onLost?.(error));
      })
      .catch((error: Error) => onLost?.(error));
    return () => {
      stopped = true;
      cancel();
    };
  }

  /** A key held by a lease that the client renews; when the lease is lost (etcd away longer
   *  than its TTL), a new one is taken. */
  async announce(host: string, ttlSeconds: number): Promise<() => Promise<void>> {
    let leaving = false;
    let lease: Lease;
    const take = async (): Promise<void> => {
      lease = this.client.lease(ttlSeconds);
      this.leases.add(lease);
      lease.on('lost', () => {
        this.leases.delete(lease);
        if (!leaving) setTimeout(() => void take().catch(() => undefined), 1000);
      });
      await lease.put(`${this.liveness}${host}`).value(String(Date.now()));
    };
    await this.reach(take);
    return async () => {
      leaving = true;
      this.leases.delete(lease);
      await lease.revoke().catch(() => undefined);
    };
  }

  async liveHosts(): Promise<Set<string>> {
    const response = await this.reach(() => this.client.getAll().prefix(this.liveness).exec());
    return new Set(response.kvs.map((kv) => kv.key.toString().slice(this.liveness.length)));
  }

  /** Closing without leaving lets this client's announcements expire with their leases. */
  async close(): Promise<void> {
    for (const lease of this.leases) lease.release();
    this.leases.clear();
    this.client.close();
  }

  /** One call to etcd; failing to reach it is StoreUnavailable, which callers can tell apart. */
  private async reach<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new StoreUnavailable(`etcd at ${this.endpoints}`, tlsReason((error as Error).message) ?? (error as Error).message);
    }
  }

  private key(kind: Kind, id: string): string {
    return `${this.prefix}${kind}/${id}`;
  }

  private parse(key: string): [Kind, string] {
    const [kind, id] = key.slice(this.prefix.length).split('/');
    if (!KINDS.includes(kind as Kind)) throw new Error(`etcd key ${key} is not a topology object`);
    return [kind as Kind, id];
  }

  private decode(kv: IKeyValue): Stored {
    return decodeObject(kv.value, Number(kv.mod_revision));
  }
}

/** What a TLS failure under gRPC's words means for whoever configures the agent. */
function tlsReason(message: string): string | undefined {
  if (/alert bad certificate|alert certificate required|alert unknown ca|SSL alert number (42|48|116)/.test(message)) {
    return 'etcd refused this client\'s certificate, or the lack of one: give a client certificate and key that etcd\'s --trusted-ca-file signed (etcdCert, etcdKey)';
  }
  if (/unable to verify|self[- ]signed certificate|unable to get local issuer|certificate has expired|Hostname\/IP does not match/.test(message)) {
    return `etcd showed a certificate that etcdCa did not sign, or not for this address (${message.split('Last error: ').at(-1)?.split('. Resolution')[0]})`;
  }
  return undefined;
}
