// A sequenced UDP stream to an echo, as a separate process (`node sequenced-stream.js ADDRESS
// PORT RATE SECONDS`, run in a lab namespace): RATE numbered datagrams a second for SECONDS,
// then a second more to hear the last echoes; prints what came back as one JSON line.
import dgram from 'node:dgram';
import { Lab } from './namespaces';

export interface StreamReport {
  sent: number;
  /** Sent and never echoed. */
  lost: number;
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

const LATE_MS = 200;

/** Runs the stream from namespace `ns`; resolves when it has ended. */
export async function sequencedStream(lab: Lab, ns: string, address: string, port: number, rate: number, seconds: number): Promise<StreamReport> {
  const { stdout } = await lab.exec(ns, process.execPath, [__filename, address, String(port), String(rate), String(seconds)], (seconds + 30) * 1000);
  return JSON.parse(stdout.trim().split('\n').pop()!) as StreamReport;
}

function stream(address: string, port: number, rate: number, seconds: number): Promise<StreamReport> {
  const socket = dgram.createSocket('udp4');
  const count = Math.round(rate * seconds);
  const sentAt = new Float64Array(count);
  const firstEchoAt = new Float64Array(count);
  const echoes = new Uint16Array(count);
  let highest = -1;
  let reordered = 0;
  let lastEcho = 0;
  let maxGap = 0;
  const now = () => performance.now();
  socket.on('message', (message) => {
    const seq = message.length >= 4 ? message.readUInt32BE(0) : count;
    if (seq >= count) return;
    if (echoes[seq]++ > 0) return;
    const at = now();
    firstEchoAt[seq] = at;
    if (lastEcho > 0) maxGap = Math.max(maxGap, at - lastEcho);
    lastEcho = at;
    if (seq < highest) reordered++;
    highest = Math.max(highest, seq);
  });
  return new Promise((resolve) => {
    socket.bind(() => {
      const start = now();
      let next = 0;
      // Node's timers tick about every millisecond: each tick sends what is due by then.
      const timer = setInterval(() => {
        const due = Math.min(count, Math.floor(((now() - start) * rate) / 1000) + 1);
        for (; next < due; next++) {
          // A buffer each: dgram sends after this returns.
          const payload = Buffer.alloc(64);
          payload.writeUInt32BE(next, 0);
          sentAt[next] = now();
          socket.send(payload, port, address);
        }
        if (next < count) return;
        clearInterval(timer);
        setTimeout(() => {
          socket.close();
          let lost = 0;
          let duplicated = 0;
          let maxRtt = 0;
          let late = 0;
          for (let i = 0; i < count; i++) {
            if (echoes[i] === 0) lost++;
            else {
              duplicated += echoes[i] - 1;
              const rtt = firstEchoAt[i] - sentAt[i];
              maxRtt = Math.max(maxRtt, rtt);
              if (rtt > LATE_MS) late++;
            }
          }
          const round = (ms: number) => Math.round(ms * 10) / 10;
          resolve({
            sent: count, lost, duplicated, reordered, max_gap_ms: round(maxGap), max_rtt_ms: round(maxRtt), late,
            lost_runs: runs(echoes, (n) => n === 0), duplicated_runs: runs(echoes, (n) => n > 1),
          });
        }, 1000);
      }, 1);
    });
  });
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
  const [address, port, rate, seconds] = process.argv.slice(2);
  stream(address, Number(port), Number(rate), Number(seconds)).then((report) => process.stdout.write(JSON.stringify(report) + '\n'));
}
