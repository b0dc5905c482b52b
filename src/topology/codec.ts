// Objects to and from their protobuf bytes (topology.proto), for the store's log and snapshot.
import path from 'node:path';
import protobuf from 'protobufjs';
import { EMPTY, Kind, KINDS, Stored } from './model';

// The schema ships as source: from dist/src/topology back to src/topology.
const SCHEMA = path.resolve(__dirname, '..', '..', '..', 'src', 'topology', 'topology.proto');
const root = protobuf.loadSync(SCHEMA);
const TopologyObject = root.lookupType('vswitch.topology.TopologyObject');
const LogRecordType = root.lookupType('vswitch.topology.LogRecord');
const SnapshotType = root.lookupType('vswitch.topology.Snapshot');

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true, oneofs: false };

export interface LogRecord {
  revision: number;
  put?: Stored;
  deleted?: { kind: Kind; id: string };
}

function toMessage(stored: Stored): Record<string, unknown> {
  return { version: stored.version, [stored.kind]: stored.value };
}

function fromMessage(message: Record<string, unknown>): Stored {
  const kind = KINDS.find((k) => message[k] !== undefined && message[k] !== null);
  if (!kind) throw new Error('a stored object of no known kind');
  return { kind, version: Number(message.version), value: message[kind] as Stored['value'] };
}

/** One object's bytes, without its version (a store that keeps revisions itself, as etcd does). */
export function encodeObject(stored: Pick<Stored, 'kind' | 'value'>): Uint8Array {
  return TopologyObject.encode(TopologyObject.fromObject({ [stored.kind]: stored.value })).finish();
}

export function decodeObject(bytes: Uint8Array, version: number): Stored {
  const message = TopologyObject.toObject(TopologyObject.decode(bytes), { longs: Number }) as Record<string, unknown>;
  return complete({ ...fromMessage(message), version });
}

export function encodeLogRecord(record: LogRecord): Uint8Array {
  const message = {
    revision: record.revision,
    ...(record.put ? { put: toMessage(record.put) } : {}),
    ...(record.deleted ? { deletedKind: record.deleted.kind, deletedId: record.deleted.id } : {}),
  };
  return LogRecordType.encode(LogRecordType.fromObject(message)).finish();
}

export function decodeLogRecord(bytes: Uint8Array): LogRecord {
  const m = LogRecordType.toObject(LogRecordType.decode(bytes), { longs: Number }) as {
    revision: number; put?: Record<string, unknown>; deletedKind?: string; deletedId?: string;
  };
  return {
    revision: m.revision,
    ...(m.put ? { put: complete(fromMessage(m.put)) } : {}),
    ...(m.deletedKind ? { deleted: { kind: m.deletedKind as Kind, id: m.deletedId ?? '' } } : {}),
  };
}

export function encodeSnapshot(revision: number, objects: Stored[]): Uint8Array {
  return SnapshotType.encode(SnapshotType.fromObject({ revision, objects: objects.map(toMessage) })).finish();
}

export function decodeSnapshot(bytes: Uint8Array): { revision: number; objects: Stored[] } {
  const m = SnapshotType.toObject(SnapshotType.decode(bytes), { longs: Number, arrays: true }) as { revision?: number; objects: Record<string, unknown>[] };
  return { revision: m.revision ?? 0, objects: m.objects.map((o) => complete(fromMessage(o))) };
}

/** proto3 leaves fields at their defaults out of the bytes: put them back (a message field
 *  that was never written, such as one added since, as the model's empty value). */
function complete(stored: Stored): Stored {
  const type = root.lookupType(`vswitch.topology.${typeName(stored.kind)}`);
  const value = type.toObject(type.fromObject(stored.value), TO_OBJECT);
  for (const [field, empty] of Object.entries(EMPTY[stored.kind])) if (value[field] === null) value[field] = empty;
  return { ...stored, value: value as Stored['value'] };
}

const TYPE_NAMES: Partial<Record<Kind, string>> = { binding: 'PortBinding', neighbor: 'RouterNeighbor', station: 'Station', tunnelZone: 'TunnelZone', securityGroup: 'SecurityGroup', portGroup: 'PortGroup', floatingIp: 'FloatingIp', natBlock: 'NatBlock', loadBalancer: 'LoadBalancer', memberStatus: 'MemberStatus' };
const typeName = (kind: Kind): string => TYPE_NAMES[kind] ?? kind[0].toUpperCase() + kind.slice(1);
