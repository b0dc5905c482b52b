// A private etcd for a lab run: Debian's etcd-server on loopback, its data in the lab's
// directory, on ports picked for the run; stopped and removed with the lab.
import net from 'node:net';
import type { Lab } from './namespaces';

export interface RunningEtcd {
  endpoint: string;
  pid: number;
}

export async function startEtcd(lab: Lab): Promise<RunningEtcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${client}`;
  const child = lab.spawn(null, 'etcd', [
    '--name', lab.id, '--data-dir', lab.directory('etcd'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `${lab.id}=http://127.0.0.1:${peer}`, '--log-level', 'error',
  ]);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  for (let tries = 0; ; tries++) {
    if (await listening(client)) return { endpoint, pid: child.pid! };
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

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
