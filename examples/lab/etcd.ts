// A private etcd for a lab run: Debian's etcd-server on loopback (this namespace's, on ports
// picked for the run, or a lab namespace's, on etcd's own ports), its data in the lab's
// directory; stopped and removed with the lab.
import net from 'node:net';
import type { Lab } from './namespaces';

export interface RunningEtcd {
  endpoint: string;
  pid: number;
  /** Start another etcd on it to bring this one back after a stop. */
  dataDir: string;
}

export async function startEtcd(lab: Lab, ns: string | null = null, dataDir = lab.directory(`etcd-${ns ?? 'host'}`)): Promise<RunningEtcd> {
  const [client, peer] = ns === null ? [await freePort(), await freePort()] : [2379, 2380];
  const endpoint = `http://127.0.0.1:${client}`;
  const child = lab.spawn(ns, 'etcd', [
    '--name', lab.id, '--data-dir', dataDir,
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `${lab.id}=http://127.0.0.1:${peer}`,
  ]);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  for (let tries = 0; ; tries++) {
    if (output.includes('ready to serve client requests')) return { endpoint, pid: child.pid!, dataDir };
    if (child.exitCode !== null || tries > 100) throw new Error(`etcd did not start (apt-get install etcd-server):\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
