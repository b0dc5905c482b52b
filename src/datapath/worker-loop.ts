// A datapath worker's own loop: it waits in native code on one epoll set over the ports it
// reads and a wake-up eventfd (the agent's thread signals it after posting a message), and
// calls each ready port's reader from here. libuv is not entered, so a wake-up costs no
// callback scope, and the worker's few timers (housekeeping, a limited port's pause, the
// shaper's releases) are kept here too. Once a second it returns to libuv for one turn: V8
// posts tasks there (garbage collection steps, finalizers) that would otherwise never run.
import { native } from './native';

/** Timers as the datapath sets them: Node's, or a worker loop's. */
export interface Scheduler {
  after(ms: number, run: () => void): unknown;
  cancel(timer: unknown): void;
}

export const nodeTimers: Scheduler = {
  after: (ms, run) => setTimeout(run, ms),
  cancel: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

/** How long the loop runs before it gives libuv a turn. */
const YIELD_MS = 1000;

interface Timer {
  at: number;
  run: () => void;
  cancelled: boolean;
}

export class WorkerLoop implements Scheduler {
  private readonly poller = native.openPoller();
  /** What each token's readiness calls, the descriptor it stands for, and whether traffic on it
   *  is what busy polling waits for. */
  private readonly readers = new Map<number, { fd: number; onReadable: (readyAt: number) => void; polled: boolean }>();
  private nextToken = 1;
  /** Pending timers, the soonest first. */
  private timers: Timer[] = [];
  private running = true;
  private readonly tokens = new Int32Array(64);
  private readonly readyAt = new Float64Array(1);

  /** spinUs: after a wake-up with traffic, how long to look again before sleeping (busy polling). */
  constructor(private readonly spinUs: number) {}

  /** `polled`: a port's traffic, after which the loop busy-polls; not the agent's messages, which
   *  would make an idle worker spin after every one. */
  watch(fd: number, onReadable: (readyAt: number) => void, polled = true): unknown {
    const token = this.nextToken++;
    native.pollerAdd(this.poller, fd, token);
    this.readers.set(token, { fd, onReadable, polled });
    return token;
  }

  unwatch(handle: unknown): void {
    const reader = this.readers.get(handle as number);
    if (!reader) return;
    this.readers.delete(handle as number);
    native.pollerRemove(this.poller, reader.fd);
  }

  after(ms: number, run: () => void): unknown {
    const timer: Timer = { at: performance.now() + ms, run, cancelled: false };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1].at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return timer;
  }

  cancel(timer: unknown): void {
    (timer as Timer).cancelled = true;
  }

  /** Runs until stop(): ready readers and due timers in turn, and libuv's turn now and then.
   *  An error a reader or a timer throws ends the thread (a bug), after `failed` has run. */
  start(failed?: () => void): void {
    const turn = () => {
      try {
        this.runFor(YIELD_MS);
      } catch (error) {
        try {
          failed?.();
        } catch {
          // The state may be broken: the first error is the one to report.
        }
        native.closePoller(this.poller); // the thread ends, and its epoll set would outlive it
        throw error;
      }
      if (this.running) setImmediate(turn);
      else native.closePoller(this.poller);
    };
    turn();
  }

  private runFor(ms: number): void {
    const end = performance.now() + ms;
    let spinUs = 0;
    while (this.running && performance.now() < end) {
      this.runDueTimers();
      if (!this.running) break;
      const next = Math.min(this.timers[0]?.at ?? Infinity, end);
      const timeout = Math.max(0, Math.ceil(next - performance.now()));
      const n = native.pollerWait(this.poller, this.tokens, timeout, spinUs, this.readyAt);
      let traffic = false;
      for (let i = 0; i < n; i++) {
        const reader = this.readers.get(this.tokens[i]);
        if (!reader) continue;
        traffic ||= reader.polled;
        reader.onReadable(this.readyAt[0]);
      }
      spinUs = traffic ? this.spinUs : 0;
    }
  }

  stop(): void {
    this.running = false;
  }

  private runDueTimers(): void {
    const now = performance.now();
    while (this.timers.length > 0 && this.timers[0].at <= now) {
      const timer = this.timers.shift()!;
      if (!timer.cancelled) timer.run();
    }
  }
}
