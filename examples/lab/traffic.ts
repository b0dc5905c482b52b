// Real traffic between lab namespaces: ping and iperf3, with their results read back.
import type { Lab } from './namespaces';
import { sleep } from './agent-process';

export async function ping(lab: Lab, ns: string, address: string, count = 3, extra: string[] = []): Promise<boolean> {
  try {
    await lab.exec(ns, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', ...extra, address]);
    return true;
  } catch {
    return false;
  }
}

/** A TCP stream of `seconds` from `client` to `server`; returns bits/s received. */
export async function iperfTcp(lab: Lab, server: string, client: string, address: string, seconds: number): Promise<number> {
  const port = String(5201 + Math.floor(Math.random() * 1000));
  lab.spawn(server, 'iperf3', ['-s', '-1', '-p', port]);
  await sleep(300);
  const { stdout } = await lab.exec(client, 'iperf3', ['-c', address, '-p', port, '-t', String(seconds), '-J'], (seconds + 20) * 1000);
  return JSON.parse(stdout).end.sum_received.bits_per_second as number;
}

/** Whether a namespace's interface has the offloads that veth and tap turn on by default. */
export async function offloads(lab: Lab, ns: string, dev: string): Promise<string> {
  const { stdout } = await lab.exec(ns, 'ethtool', ['-k', dev]);
  return stdout
    .split('\n')
    .filter((l) => /^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload):/.test(l))
    .join('; ');
}
