// The store of one machine: objects in memory, every change appended to a log file and
// fsynced before it is acknowledged. The log is a sequence of records (length, CRC-32,
// protobuf LogRecord); replay stops at the first torn or corrupt record, so a crash in the
// middle of a write leaves the last committed state. When the log grows long, a snapshot is
// written beside it (temporary file, fsync, rename, fsync of the directory) and the log restarts.
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeLogRecord, decodeSnapshot, encodeLogRecord, encodeSnapshot, LogRecord } from './codec';
import { Kind, KindMap, Stored } from './model';
import { StoreCompacted, StoreConflict, StoreEvent, StoreSnapshot, TopologyStore } from './store';

const LOG = 'topology.log';
const SNAPSHOT = 'topology.snapshot';
const RECORD_HEADER = 8;
/** Log records after which the log is folded into a snapshot. */
const COMPACT_AFTER = 4096;
/** Changes kept in memory for watchers that resume from a revision. */
const HISTORY = 10_000;

export class EmbeddedStore implements TopologyStore {
  private readonly objects = new Map<string, Stored>();
  private readonly history: StoreEvent[] = [];
  private readonly watchers = new Set<(event: StoreEvent) => void>();
  private readonly announced = new Set<string>();
  private revision = 0;
  private logFd = -1;
  private logRecords = 0;

  /** Opens (or creates) the store kept in `directory`. */
  static open(directory: string): EmbeddedStore {
    const store = new EmbeddedStore(directory);
    store.load();
    return store;
  }

  private constructor(private readonly directory: string) {}

  async get<K extends Kind>(kind: K, id: string): Promise<Stored<K> | undefined> {
    return this.objects.get(keyOf(kind, id)) as Stored<K> | undefined;
  }

  async list<K extends Kind>(kind: K): Promise<Stored<K>[]> {
    return [...this.objects.values()].filter((o): o is Stored<K> => o.kind === kind);
  }

  async snapshot(): Promise<StoreSnapshot> {
    return { revision: this.revision, objects: [...this.objects.values()] };
  }

  async put<K extends Kind>(kind: K, value: KindMap[K], expectedVersion?: number): Promise<Stored<K>> {
    this.check(kind, value.id, expectedVersion);
    const object: Stored<K> = { kind, version: this.revision + 1, value: structuredClone(value) };
    this.commit({ revision: object.version, put: object });
    this.objects.set(keyOf(kind, value.id), object);
    this.publish({ type: 'put', revision: object.version, object });
    return object;
  }

  async delete(kind: Kind, id: string, expectedVersion?: number): Promise<boolean> {
    this.check(kind, id, expectedVersion);
    const previous = this.objects.get(keyOf(kind, id));
    if (!previous) return false;
    const revision = this.revision + 1;
    this.commit({ revision, deleted: { kind, id } });
    this.objects.delete(keyOf(kind, id));
    this.publish({ type: 'delete', revision, kind, id, previous });
    return true;
  }

  watch(fromRevision: number, listener: (event: StoreEvent) => void): () => void {
    const oldest = this.history.length > 0 ? this.history[0].revision : this.revision + 1;
    if (fromRevision < this.revision && fromRevision + 1 < oldest) throw new StoreCompacted(fromRevision, oldest);
    for (const event of this.history) if (event.revision > fromRevision) listener(event);
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** One machine, one agent: a host is alive while its agent has it announced. */
  async announce(host: string): Promise<() => Promise<void>> {
    this.announced.add(host);
    return async () => void this.announced.delete(host);
  }

  async liveHosts(): Promise<Set<string>> {
    return new Set(this.announced);
  }

  async close(): Promise<void> {
    this.watchers.clear();
    if (this.logFd >= 0) fs.closeSync(this.logFd);
    this.logFd = -1;
  }

  private check(kind: Kind, id: string, expectedVersion: number | undefined): void {
    if (this.logFd < 0) throw new Error('the topology store is closed');
    if (expectedVersion === undefined) return;
    const actual = this.objects.get(keyOf(kind, id))?.version ?? 0;
    if (actual !== expectedVersion) throw new StoreConflict(kind, id, expectedVersion, actual);
  }

  /** Durable before it returns: the caller acknowledges only what a restart will find. */
  private commit(record: LogRecord): void {
    const body = encodeLogRecord(record);
    const framed = Buffer.alloc(RECORD_HEADER + body.length);
    framed.writeUInt32LE(body.length, 0);
    framed.writeUInt32LE(crc32(body), 4);
    framed.set(body, RECORD_HEADER);
    fs.writeSync(this.logFd, framed);
    fs.fdatasyncSync(this.logFd);
    this.revision = record.revision;
    if (++this.logRecords >= COMPACT_AFTER) this.compact();
  }

  private publish(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    for (const watcher of this.watchers) watcher(event);
  }

  private load(): void {
    fs.mkdirSync(this.directory, { recursive: true });
    const snapshotPath = path.join(this.directory, SNAPSHOT);
    if (fs.existsSync(snapshotPath)) {
      const snapshot = decodeSnapshot(fs.readFileSync(snapshotPath));
      this.revision = snapshot.revision;
      for (const object of snapshot.objects) this.objects.set(keyOf(object.kind, object.value.id), object);
    }
    const logPath = path.join(this.directory, LOG);
    const log = fs.existsSync(logPath) ? fs.readFileSync(logPath) : Buffer.alloc(0);
    let at = 0;
    while (at + RECORD_HEADER <= log.length) {
      const length = log.readUInt32LE(at);
      const body = log.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
      if (body.length < length || crc32(body) !== log.readUInt32LE(at + 4)) break; // torn by a crash: the rest never committed
      this.replay(decodeLogRecord(body));
      at += RECORD_HEADER + length;
      this.logRecords++;
    }
    this.logFd = fs.openSync(logPath, 'a+');
    if (at < log.length) fs.ftruncateSync(this.logFd, at);
  }

  private replay(record: LogRecord): void {
    if (record.revision <= this.revision) return; // already in the snapshot
    this.revision = record.revision;
    if (record.put) this.objects.set(keyOf(record.put.kind, record.put.value.id), record.put);
    if (record.deleted) this.objects.delete(keyOf(record.deleted.kind, record.deleted.id));
  }

  private compact(): void {
    const temporary = path.join(this.directory, `${SNAPSHOT}.tmp`);
    const fd = fs.openSync(temporary, 'w');
    fs.writeSync(fd, encodeSnapshot(this.revision, [...this.objects.values()]));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(temporary, path.join(this.directory, SNAPSHOT));
    const dir = fs.openSync(this.directory, 'r');
    fs.fsyncSync(dir);
    fs.closeSync(dir);
    // A crash before this truncation replays records the snapshot already holds: they are skipped.
    fs.ftruncateSync(this.logFd, 0);
    this.logRecords = 0;
  }
}

const keyOf = (kind: Kind, id: string): string => `${kind}/${id}`;
