// `vswitch capture PORT [--direction in|out|both] [--match FLOW] [-c COUNT] [-w FILE|-] [--drops]`:
// a port's frames as pcapng, from the agent's /capture stream, to a file or to standard output
// (`-w -`: for `tcpdump -nr -` or Wireshark). Only whole pcapng blocks are written, so a
// capture stopped by Ctrl-C (or by its count) leaves a file readers take whole.
import fs from 'node:fs';
import { pcapngBlockLength } from '../packet';
import { Args, flag, integerFlag } from './args';
import type { ControlClient } from './client';

export const CAPTURE_USAGE = `  capture PORT [--direction in|out|both] [--match FLOW] [-c COUNT] [-w FILE|-] [--drops]
                                  the port's frames as pcapng (in: from its VM, out: to it);
                                  FLOW as mirrors take it (tcp,tp_dst=80); --drops adds the
                                  frames the switch dropped on it, the reason in a comment;
                                  -w - writes to standard output (| tcpdump -nr -)`;
export const CAPTURE_OPTIONS = ['direction', 'match', 'count', 'write', 'drops'];
/** Short forms, as tcpdump has them. */
export const CAPTURE_SHORT: Record<string, string> = { '-c': '--count', '-w': '--write' };

export async function captureCommand(client: ControlClient, port: string | undefined, args: Args): Promise<number> {
  if (!port) throw new Error('capture: which port? (vswitch capture PORT)');
  const query = new URLSearchParams({ port, direction: flag(args, 'direction') ?? 'both' });
  const match = flag(args, 'match');
  if (match) query.set('match', match);
  const count = integerFlag(args, 'count');
  if (count !== undefined) query.set('count', String(count));
  if (args.flags.has('drops')) query.set('drops', '1');
  const target = flag(args, 'write') ?? '-';
  const out = target === '-' ? process.stdout : fs.createWriteStream(target, { mode: 0o600 });
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let pending = Buffer.alloc(0);
  try {
    await client.stream(`/capture?${query}`, (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (let length = pcapngBlockLength(pending); length > 0; length = pcapngBlockLength(pending)) {
        out.write(pending.subarray(0, length));
        pending = pending.subarray(length);
      }
    }, stopped.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (out !== process.stdout) await new Promise((resolve) => (out as fs.WriteStream).end(resolve));
  }
  return 0;
}
