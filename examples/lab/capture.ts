// tcpdump on an interface of a lab namespace: what really crossed it. A capture is ready once
// tcpdump says it listens (frames sent before then are not seen, however long one waits), and
// ends when it has seen `count` frames, when stopped, or at its deadline, whichever is first.
import type { Lab } from './namespaces';

export interface CaptureOptions {
  /** Ends after this many frames. */
  count?: number;
  /** A bound, so that a capture whose frames never come ends on its own. */
  seconds?: number;
  /** tcpdump's arguments for how lines look (`-e` for link-layer headers, `-tt` for times). */
  format?: string[];
}

export interface Capture {
  /** Resolves once tcpdump listens; rejects if it ended before. */
  ready: Promise<void>;
  /** The lines it printed, once it has ended. */
  lines: Promise<string[]>;
  /** The lines it has printed so far. */
  printed(): string[];
  /** Ends it now (tcpdump prints what it holds first); its lines. */
  stop(): Promise<string[]>;
}

export function capture(lab: Lab, ns: string, dev: string, filter: string, options: CaptureOptions = {}): Capture {
  const { count, seconds = 60, format = ['-e'] } = options;
  // Immediate mode: each frame is printed as it comes, not when a buffer block fills.
  const args = [String(seconds), 'tcpdump', '-i', dev, '-nn', '-l', '--immediate-mode', '-B', '4096', ...format, ...(count ? ['-c', String(count)] : []), filter];
  const dump = lab.spawn(ns, 'timeout', args);
  let text = '';
  let err = '';
  dump.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  const printed = () => text.split('\n').filter(Boolean);
  const lines = new Promise<string[]>((resolve) => dump.once('exit', () => resolve(printed())));
  const ready = new Promise<void>((resolve, reject) => {
    dump.stderr!.on('data', (d: Buffer) => (err += d.toString()).includes('listening on') && resolve());
    void lines.then(() => reject(new Error(`tcpdump ended before it listened: ${err.trim()}`)));
  });
  return {
    ready,
    lines,
    printed,
    stop() {
      // `timeout` hands the signal on to tcpdump.
      if (dump.exitCode === null && dump.signalCode === null) dump.kill('SIGINT');
      return lines;
    },
  };
}
