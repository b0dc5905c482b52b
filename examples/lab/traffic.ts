// Real traffic between lab namespaces: ping and iperf3, with their results read back.
import type { Lab } from './namespaces';
import { sleep } from './agent-process';

/** Sends traffic (`send`, again and again) until `done` settles, for at most a minute: what
 *  waits for traffic (a capture counting frames, a page showing rates) gets it however late it
 *  started. */
export async function trafficUntil(done: Promise<unknown>, send: () => Promise<unknown>): Promise<void> {
  let settled = false;
  void done.finally(() => (settled = true));
  for (const end = Date.now() + 60_000; !settled && Date.now() < end;) await send();
}

export async function ping(lab: Lab, ns: string, address: string, count = 3, extra: string[] = []): Promise<boolean> {
  try {
    await lab.exec(ns, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', ...extra, address]);
    return true;
  } catch {
    return false;
  }
}

export interface PingReport {
  sent: number;
  received: number;
  duplicates: number;
  /** When each unanswered ping was sent, about (ms since the epoch: its round's start plus 10 ms
   *  a sequence number), to place a loss beside other events. */
  lost_at: number[];
}

const PINGS_A_ROUND = 100;

/** Pings every 10 ms until stopped, in rounds of a second: each round waits for all its
 *  replies (30 s at most), so stopping loses no reply still on its way. Without -w, ping waits
 *  only about two round trips after its last request: a reply held a second through a
 *  migration came to a ping that had exited, and counted as lost. With -w, ping goes on
 *  sending until PINGS_A_ROUND have been answered: what counts is those first ones. */
export function pingUntilStopped(lab: Lab, ns: string, address: string): { stop(): Promise<PingReport> } {
  const total: PingReport = { sent: 0, received: 0, duplicates: 0, lost_at: [] };
  let stopping = false;
  const rounds = (async () => {
    while (!stopping) {
      const start = Date.now();
      const args = ['-c', String(PINGS_A_ROUND), '-i', '0.01', '-w', '30', address];
      // ping exits 1 when a reply is missing: its replies are what counts.
      const { stdout } = await lab.exec(ns, 'ping', args, 60_000).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
      const sent = Math.min(PINGS_A_ROUND, Number(/(\d+) packets transmitted/.exec(stdout)?.[1] ?? 0));
      const answered = new Set([...stdout.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])).filter((seq) => seq <= sent));
      total.sent += sent;
      total.received += answered.size;
      total.duplicates += Number(/\+(\d+) duplicates/.exec(stdout)?.[1] ?? 0);
      for (let seq = 1; seq <= sent; seq++) if (!answered.has(seq)) total.lost_at.push(start + (seq - 1) * 10);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await rounds;
      return total;
    },
  };
}

/** A TCP stream of `seconds` from `client` to `server`; returns bits/s received. */
export async function iperfTcp(lab: Lab, server: string, client: string, address: string, seconds: number): Promise<number> {
  const result = await iperf(lab, server, client, address, ['-t', String(seconds)], seconds);
  return result.end.sum_received.bits_per_second as number;
}

/** One iperf3 run with -J; `wrap` prefixes both ends' commands (e.g. taskset). The client
 *  retries while the server is not yet listening: on a loaded machine it can take a while. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- iperf3's JSON report
export async function iperf(lab: Lab, server: string, client: string, address: string, args: string[], seconds: number, wrap: { server: string[]; client: string[] } = { server: [], client: [] }): Promise<any> {
  const port = String(5201 + Math.floor(Math.random() * 1000));
  const serverCommand = [...wrap.server, 'iperf3', '-s', '-1', '-p', port];
  lab.spawn(server, serverCommand[0], serverCommand.slice(1));
  const clientCommand = [...wrap.client, 'iperf3', '-c', address, '-p', port, '-J', ...args];
  for (let attempt = 1; ; attempt++) {
    await sleep(200 * attempt);
    try {
      const { stdout } = await lab.exec(client, clientCommand[0], clientCommand.slice(1), (seconds + 30) * 1000);
      return JSON.parse(stdout);
    } catch (error) {
      const report = (error as { stdout?: string }).stdout ?? '';
      if (attempt >= 5 || !/refused|unable to connect/i.test(report)) throw new Error(`iperf3 failed: ${report.slice(-400) || (error as Error).message}`);
    }
  }
}

/** Whether a namespace's interface has the offloads that veth and tap turn on by default. */
export async function offloads(lab: Lab, ns: string, dev: string): Promise<string> {
  const { stdout } = await lab.exec(ns, 'ethtool', ['-k', dev]);
  return stdout
    .split('\n')
    .filter((l) => /^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload):/.test(l))
    .join('; ');
}
