// A private etcd for a lab run: Debian's etcd-server on loopback (this namespace's, on ports
// picked for the run, or a lab namespace's, on etcd's own ports), its data in the lab's
// directory; stopped and removed with the lab.
import net from 'node:net';
import type { CertificateAuthority } from './certificates';
import type { Lab } from './namespaces';

export interface RunningEtcd {
  endpoint: string;
  pid: number;
  /** Start another etcd on it to bring this one back after a stop. */
  dataDir: string;
}

export interface EtcdPlace {
  /** The lab namespace to run in; this one (loopback) when absent. */
  ns?: string;
  /** The address to serve on: loopback by default, an underlay address for many hosts. */
  address?: string;
  /** Another etcd's data, to bring it back after a stop. */
  dataDir?: string;
  /** Serve clients over TLS with this CA's server certificate, and take only clients with a
   *  certificate it signed (--client-cert-auth). */
  tls?: CertificateAuthority;
}

export async function startEtcd(lab: Lab, place: EtcdPlace = {}): Promise<RunningEtcd> {
  const { ns = null, address = '127.0.0.1' } = place;
  const dataDir = place.dataDir ?? lab.directory(`etcd-${ns ?? 'host'}`);
  const [client, peer] = ns === null ? await freePorts(2) : [2379, 2380];
  const endpoint = `${place.tls ? 'https' : 'http'}://${address}:${client}`;
  const tls = place.tls ? ['--cert-file', place.tls.server.cert, '--key-file', place.tls.server.key, '--client-cert-auth', '--trusted-ca-file', place.tls.ca] : [];
  const pid = await serve(lab, ns, [
    '--name', lab.id, '--data-dir', dataDir, ...tls,
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://${address}:${peer}`, '--initial-advertise-peer-urls', `http://${address}:${peer}`,
    '--initial-cluster', `${lab.id}=http://${address}:${peer}`,
  ]);
  return { endpoint, pid, dataDir };
}

/** An etcd member started with `args`, once it serves clients (which a member of a cluster
 *  does once a quorum of its members runs): its PID. */
async function serve(lab: Lab, ns: string | null, args: string[]): Promise<number> {
  const child = lab.spawn(ns, 'etcd', args);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  for (let tries = 0; ; tries++) {
    if (output.includes('ready to serve client requests')) return child.pid!;
    if (child.exitCode !== null || tries > 300) throw new Error(`etcd did not start (apt-get install etcd-server):\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface EtcdCluster {
  /** The members' client URLs, as an agent's --store takes them after etcd://. */
  endpoints: string;
  /** Kills member `i` (SIGKILL): it is gone at once, as a host that dies. */
  kill(i: number): void;
  /** Starts member `i` again on its data: resolves once it serves (it needs a quorum). */
  start(i: number): Promise<void>;
}

/** A real etcd cluster, a member on each of `addresses` in namespace `ns` (etcd's own ports),
 *  its data in the lab's directory. */
export async function startEtcdCluster(lab: Lab, ns: string, addresses: readonly string[]): Promise<EtcdCluster> {
  const names = addresses.map((_, i) => `${lab.id}-m${i + 1}`);
  const initial = addresses.map((a, i) => `${names[i]}=http://${a}:2380`).join(',');
  const args = (i: number) => [
    '--name', names[i], '--data-dir', lab.directory(`etcd-m${i + 1}`),
    '--listen-client-urls', `http://${addresses[i]}:2379`, '--advertise-client-urls', `http://${addresses[i]}:2379`,
    '--listen-peer-urls', `http://${addresses[i]}:2380`, '--initial-advertise-peer-urls', `http://${addresses[i]}:2380`,
    '--initial-cluster', initial, '--initial-cluster-token', lab.id, '--initial-cluster-state', 'new',
  ];
  // Together: no member serves before a quorum of them runs.
  const pids = await Promise.all(addresses.map((_, i) => serve(lab, ns, args(i))));
  return {
    endpoints: addresses.map((a) => `${a}:2379`).join(','),
    kill: (i) => process.kill(pids[i], 'SIGKILL'),
    start: async (i) => void (pids[i] = await serve(lab, ns, args(i))),
  };
}

/** Ports free on loopback now, all different: each is held until all are picked (picked one
 *  after the other, the kernel may hand out the same port twice). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => resolve(server));
    server.on('error', reject);
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
