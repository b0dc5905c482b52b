// The switch's ports: each by its number and its interface's name, the numbers given out, and
// how a port looks to the topology's walk, to the holds for arriving guests and to the operator.
import type { PortSpec } from '../datapath';
import type { HoldablePort } from './arriving-guests';
import type { DatapathThread } from './datapath-thread';
import { SwitchError } from './errors';
import { DatapathPortView, VTEP_PORT_BASE } from './host-topology';
import type { PortInfo, PortState } from './port-config';

export interface PortRecord {
  spec: PortSpec;
  vlan?: number;
  /** The virtual port it is bound to (a PortBinding for this host), if any. */
  binding?: string;
  state: PortState;
  reason?: string;
  owner: DatapathThread;
}

/** A port's counts, as `port list` shows them (the workers' shared counters). */
export type PortTotals = (number: number) => Pick<PortInfo, 'counters' | 'drops'>;

export class SwitchPorts {
  private readonly records = new Map<number, PortRecord>();

  get size(): number {
    return this.records.size;
  }

  values(): IterableIterator<PortRecord> {
    return this.records.values();
  }

  get(number: number): PortRecord | undefined {
    return this.records.get(number);
  }

  named(name: string): PortRecord | undefined {
    return [...this.records.values()].find((r) => r.spec.name === name);
  }

  /** By number, interface name or (`alsoBinding`) the virtual port bound to it; NO_SUCH_PORT otherwise. */
  find(nameOrNumber: string | number, alsoBinding = false): PortRecord {
    const asNumber = typeof nameOrNumber === 'number' ? nameOrNumber : /^\d+$/.test(nameOrNumber) ? Number(nameOrNumber) : NaN;
    const record = (alsoBinding ? [...this.records.values()].find((r) => r.binding === nameOrNumber) : undefined)
      ?? this.records.get(asNumber) ?? (typeof nameOrNumber === 'string' ? this.named(nameOrNumber) : undefined);
    if (!record) throw new SwitchError('NO_SUCH_PORT', `no port ${nameOrNumber} on this switch (vswitch port list shows the ports)`, 404, 'port');
    return record;
  }

  /** The lowest number not in use; numbers from VTEP_PORT_BASE up are the tunnel's. */
  freeNumber(): number {
    for (let n = 1; n < VTEP_PORT_BASE; n++) if (!this.records.has(n)) return n;
    throw new SwitchError('TOO_MANY_PORTS', `this switch holds at most ${VTEP_PORT_BASE - 1} ports`, 409);
  }

  add(record: PortRecord): void {
    this.records.set(record.spec.number, record);
  }

  delete(number: number): void {
    this.records.delete(number);
  }

  clear(): void {
    this.records.clear();
  }

  /** The ports as the topology's walk sees them. */
  views(): DatapathPortView[] {
    return [...this.records.values()].map(viewOf);
  }

  holdable(): HoldablePort[] {
    return [...this.records.values()].map(holdableOf);
  }

  /** A port as `port list` shows it, with its counts (`totals`). */
  info(number: number, totals: PortTotals): PortInfo | undefined {
    const record = this.records.get(number);
    if (!record) return undefined;
    return {
      number,
      name: record.spec.name,
      kind: record.spec.kind,
      ...(record.vlan !== undefined ? { vlan: record.vlan } : {}),
      ...(record.binding ? { binding: record.binding } : {}),
      state: record.state,
      ...(record.reason ? { reason: record.reason } : {}),
      ...totals(number),
    };
  }

  /** Every port as `port list` shows it, by number. */
  list(totals: PortTotals): PortInfo[] {
    return [...this.records.keys()].sort((a, b) => a - b).map((n) => this.info(n, totals)!);
  }
}

export function viewOf(r: PortRecord): DatapathPortView {
  return { number: r.spec.number, name: r.spec.name, up: r.state === 'up', vlan: r.vlan, binding: r.binding };
}

export function holdableOf(r: PortRecord): HoldablePort {
  return { number: r.spec.number, name: r.spec.name, binding: r.binding };
}
