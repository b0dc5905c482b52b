// A sequenced UDP stream to an echo, as a separate process (`node sequenced-stream.js ADDRESS
// PORT RATE`, run in a lab namespace): RATE numbered datagrams a second until its standard
// input closes, then it listens until every number has its echo or none has come for
// ECHO_QUIET_MS; prints what came back as one JSON line (and, as it goes, `echoed N` lines, for
// a test to wait on). It runs as long as what it measures
// takes, however slow the machine: a stream of fixed length can end before the event it is
// meant to cross.
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { Lab } from './namespaces';

export interface StreamReport {
  sent: number;
  /** Sent and never echoed. */
  lost: number;
  /** The last number lost (-1: none). */
  last_lost: number;
  /** Echoes beyond the first of a number. */
  duplicated: number;
  /** First echoes of a number lower than one already heard. */
  reordered: number;
  /** The longest silence between two first echoes. */
  max_gap_ms: number;
  /** The longest time from sending a number to hearing its first echo. */
  max_rtt_ms: number;
  /** The numbers whose first echo came back later than 200 ms. */
  late: number;
  /** Where the lost and the duplicated numbers are, as runs `first-last`, the first ten. */
  lost_runs: string[];
  duplicated_runs: string[];
}

export interface StreamEnd {
  report: StreamReport;
  sentAt: number[];
  lostNumbers: number[];
}

export interface SequencedStream {
  /** How many datagrams have been echoed so far (as of the stream's last word, every 50 ms). */
  echoed(): number;
  /** Ends the stream; resolves with its report once the last echoes are in, with when each
   *  number was sent (ms since the epoch, the machine's clock, as QEMU's and the agents'), and
   *  with every number lost. */
  stop(): Promise<StreamEnd>;
}

const LATE_MS = 200;
/** The stream's and the echo's receive buffers: what a switch held back and then sends at once
 *  (a takeover, a migration) must not overflow the ends, whose losses are not the switch's. The
 *  kernel caps it at net.core.rmem_max (4 MB on the project's machines; 208 kB by default). */
const RECEIVE_BUFFER_BYTES = 4 << 20;
/** After the last send: how long without an echo ends the wait for the rest. */
const ECHO_QUIET_MS = 2000;

/** Starts the stream from namespace `ns`. */
export function sequencedStream(lab: Lab, ns: string, address: string, port: number, rate: number): SequencedStream {
  const child = lab.spawn(ns, process.execPath, [__filename, address, String(port), String(rate)], { stdin: true });
  const output = collect(child);
  let echoed = 0;
  child.stdout!.on('data', (d: Buffer) => {
    for (const [, count] of d.toString().matchAll(/^echoed (\d+)$/gm)) echoed = Number(count);
  });
  return {
    echoed: () => echoed,
    async stop() {
      child.stdin!.end();
      const { stdout, stderr, code } = await output;
      if (code !== 0) throw new Error(`the sequenced stream failed (exit ${code}): ${stderr}`);
      return JSON.parse(stdout.trim().split('\n').pop()!) as StreamEnd;
    },
  };
}

/** A UDP echo on `port` in namespace `ns` (what a VM stand-in answers the stream with), as a
 *  process of the lab's; resolves once it is bound. */
export async function udpEcho(lab: Lab, ns: string, port: number): Promise<void> {
  const script = `const s = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: ${RECEIVE_BUFFER_BYTES} }); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.bind(${port}, () => console.log('bound'))`;
  const child = lab.spawn(ns, process.execPath, ['-e', script]);
  let said = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => (said += d.toString()).includes('bound') && resolve());
    child.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    child.once('exit', (code) => reject(new Error(`the UDP echo exited (${code}): ${said}`)));
  });
}

function collect(child: ChildProcess): Promise<{ stdout: string; stderr: string; code: number | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ stdout, stderr, code })));
}

function stream(address: string, port: number, rate: number, stopped: Promise<void>): Promise<StreamEnd> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
  // Grown as the stream goes: it has no length fixed in advance.
  let sentAt = new Float64Array(1 << 14);
  let firstEchoAt = new Float64Array(sentAt.length);
  let echoes = new Uint16Array(sentAt.length);
  let count = 0;
  let highest = -1;
  let reordered = 0;
  let lastEcho = 0;
  let maxGap = 0;
  let echoedCount = 0;
  const now = () => performance.timeOrigin + performance.now();
  socket.on('message', (message) => {
    const seq = message.length >= 4 ? message.readUInt32BE(0) : count;
    if (seq >= count) return;
    const at = now();
    if (echoes[seq]++ > 0) return;
    echoedCount++;
    firstEchoAt[seq] = at;
    if (lastEcho > 0) maxGap = Math.max(maxGap, at - lastEcho);
    lastEcho = at;
    if (seq < highest) reordered++;
    highest = Math.max(highest, seq);
  });
  const grow = () => {
    const size = sentAt.length * 2;
    const bigger = <T extends Float64Array | Uint16Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    sentAt = bigger(sentAt, (n) => new Float64Array(n));
    firstEchoAt = bigger(firstEchoAt, (n) => new Float64Array(n));
    echoes = bigger(echoes, (n) => new Uint16Array(n));
  };
  let stopping = false;
  void stopped.then(() => (stopping = true));
  let heard = 0;
  const telling = setInterval(() => {
    if (heard !== echoedCount) process.stdout.write(`echoed ${(heard = echoedCount)}\n`);
  }, 50);
  return new Promise((resolve) => {
    socket.bind(() => {
      const start = now();
      // Node's timers tick about every millisecond: each tick sends what is due by then.
      const sender = setInterval(() => {
        if (stopping) {
          clearInterval(sender);
          clearInterval(telling);
          const lastSend = now();
          const waiting = setInterval(() => {
            let answered = 0;
            for (let i = 0; i < count; i++) if (echoes[i] > 0) answered++;
            if (answered < count && now() - Math.max(lastSend, lastEcho) < ECHO_QUIET_MS) return;
            clearInterval(waiting);
            socket.close();
            const lostNumbers = [];
            for (let i = 0; i < count; i++) if (echoes[i] === 0) lostNumbers.push(i);
            resolve({ report: summary(), sentAt: Array.from(sentAt.subarray(0, count), Math.round), lostNumbers });
          }, 50);
          return;
        }
        const due = Math.floor(((now() - start) * rate) / 1000) + 1;
        for (; count < due; count++) {
          if (count === sentAt.length) grow();
          // A buffer each: dgram sends after this returns.
          const payload = Buffer.alloc(64);
          payload.writeUInt32BE(count, 0);
          sentAt[count] = now();
          socket.send(payload, port, address);
        }
      }, 1);
    });
  });

  function summary(): StreamReport {
    let lost = 0;
    let lastLost = -1;
    let duplicated = 0;
    let maxRtt = 0;
    let late = 0;
    for (let i = 0; i < count; i++) {
      if (echoes[i] === 0) {
        lost++;
        lastLost = i;
      } else {
        duplicated += echoes[i] - 1;
        const rtt = firstEchoAt[i] - sentAt[i];
        maxRtt = Math.max(maxRtt, rtt);
        if (rtt > LATE_MS) late++;
      }
    }
    const round = (ms: number) => Math.round(ms * 10) / 10;
    const answered = echoes.subarray(0, count);
    return {
      sent: count, lost, last_lost: lastLost, duplicated, reordered, max_gap_ms: round(maxGap), max_rtt_ms: round(maxRtt), late,
      lost_runs: runs(answered, (n) => n === 0), duplicated_runs: runs(answered, (n) => n > 1),
    };
  }
}

function runs(echoes: Uint16Array, test: (n: number) => boolean): string[] {
  const found: string[] = [];
  for (let i = 0; i < echoes.length && found.length < 10; i++) {
    if (!test(echoes[i])) continue;
    let last = i;
    while (last + 1 < echoes.length && test(echoes[last + 1])) last++;
    found.push(last === i ? String(i) : `${i}-${last}`);
    i = last;
  }
  return found;
}

if (require.main === module) {
  const [address, port, rate] = process.argv.slice(2);
  const stopped = new Promise<void>((resolve) => {
    process.stdin.on('end', resolve).on('close', resolve).resume();
  });
  stream(address, Number(port), Number(rate), stopped).then((result) => process.stdout.write(JSON.stringify(result) + '\n'));
}
