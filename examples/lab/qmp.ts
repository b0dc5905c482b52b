// A QMP client (QEMU's machine protocol: one JSON object per line over a socket): commands
// answered in order by id, and the events QEMU sends, kept with QEMU's own timestamps.
import net from 'node:net';

export interface QmpEvent {
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each event has its own data
  data?: any;
  /** When QEMU emitted it, in ms since the epoch. */
  at: number;
}

export class Qmp {
  readonly events: QmpEvent[] = [];
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly waiters: { test: (e: QmpEvent) => boolean; resolve: (e: QmpEvent) => void }[] = [];
  private nextId = 1;
  private buffer = '';

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let end = this.buffer.indexOf('\n'); end >= 0; end = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, end).trim();
        this.buffer = this.buffer.slice(end + 1);
        if (line) this.receive(JSON.parse(line));
      }
    });
    socket.on('close', () => {
      for (const { reject } of this.pending.values()) reject(new Error('QMP connection closed'));
      this.pending.clear();
    });
  }

  /** Connects (retrying while QEMU has not made its socket yet) and leaves negotiation mode. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(path, () => resolve(s)).once('error', reject);
        });
        const qmp = new Qmp(socket);
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (error) {
        if (Date.now() > end) throw new Error(`no QMP at ${path}: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  execute<T = unknown>(command: string, args?: object): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(JSON.stringify({ execute: command, arguments: args, id }) + '\n');
    });
  }

  /** The first event (already received or still to come) for which `test` holds. */
  event(name: string, test: (data: QmpEvent['data']) => boolean = () => true, timeoutMs = 30_000): Promise<QmpEvent> {
    const matches = (e: QmpEvent) => e.event === name && test(e.data);
    const seen = this.events.find(matches);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no QMP event ${name} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ test: matches, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- QMP's messages
  private receive(message: any): void {
    if (message.event) {
      const e: QmpEvent = { event: message.event, data: message.data, at: message.timestamp.seconds * 1000 + message.timestamp.microseconds / 1000 };
      this.events.push(e);
      for (const [i, w] of [...this.waiters.entries()].reverse()) {
        if (w.test(e)) {
          this.waiters.splice(i, 1);
          w.resolve(e);
        }
      }
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error) waiting.reject(new Error(`QMP: ${message.error.class}: ${message.error.desc}`));
    else waiting.resolve(message.return);
  }
}
