// A load balancer's members and clients, in python3 inside the namespaces. A member (IPv4 and
// IPv6) answers each connection by what its client says first: "GET ..." is answered as HTTP
// (200, its name), anything else with its name and the client's address, then it echoes what
// comes until the client closes. It can stop taking connections and take them again (its
// established ones go on), as a service restarted behind a load balancer does.
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './namespaces';

const MEMBER = `
import signal, socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
listening = []
def serve(c, peer):
    first = c.recv(200)
    if first.startswith(b'GET '):
        c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Length: ' + str(len(name)).encode() + b'\\r\\n\\r\\n' + name.encode())
        c.close()
        return
    c.sendall(f'{name} {peer[0]}\\n'.encode())
    for d in iter(lambda: c.recv(100), b''): c.sendall(d)
    c.close()
def accept(s):
    while True:
        try: c, peer = s.accept()
        except OSError: return
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()
def listen(*_):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', port))
    s.listen(1024)
    listening.append(s)
    threading.Thread(target=accept, args=(s,), daemon=True).start()
    print('listening', flush=True)
def stop(*_):
    for s in listening: s.shutdown(socket.SHUT_RDWR); s.close()
    listening.clear()
    print('stopped', flush=True)
signal.signal(signal.SIGUSR1, stop)
signal.signal(signal.SIGUSR2, listen)
listen()
while True: signal.pause()`;

const ASK = `
import asyncio, sys
async def one(host, port):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    w.write(b'?\\n')
    line = await asyncio.wait_for(r.readline(), 10)
    w.close()
    return line.decode().split(' ')[0]
async def main():
    host, port, n, at_once = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    names = []
    for start in range(0, n, at_once):
        done = await asyncio.gather(*[one(host, port) for _ in range(min(at_once, n - start))], return_exceptions=True)
        names += [d if isinstance(d, str) else 'failed:' + type(d).__name__ for d in done]
    print(' '.join(names))
asyncio.run(main())`;

const HOLD = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(b'?\\n')
print(c.recv(100).decode().split(' ')[0], flush=True)
for line in sys.stdin:
    c.sendall(b'y')
    print('echo' if c.recv(1) == b'y' else 'wrong', flush=True)`;

export interface Member {
  /** Stops taking connections (its listening socket closed); established ones go on. */
  stop(): Promise<void>;
  /** Takes connections again. */
  start(): Promise<void>;
}

/** A member named `name` on `port` in namespace `ns`. */
export async function member(lab: Lab, ns: string, name: string, port: number): Promise<Member> {
  const server = lab.spawn(ns, 'python3', ['-c', MEMBER, name, String(port)]);
  const said = lines(server);
  const next = async (word: string, signal: NodeJS.Signals | null) => {
    const before = said().filter((l) => l === word).length;
    if (signal) server.kill(signal); // the process this lab started (ip netns exec became python)
    while (said().filter((l) => l === word).length === before) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  await next('listening', null);
  return { stop: () => next('stopped', 'SIGUSR1'), start: () => next('listening', 'SIGUSR2') };
}

/** Asks `count` times (`atOnce` at a time) which member answers at address:port: the names
 *  in order, 'failed:...' for a connection that failed. */
export async function askMembers(lab: Lab, ns: string, address: string, port: number, count: number, atOnce = 20): Promise<string[]> {
  const { stdout } = await lab.exec(ns, 'python3', ['-c', ASK, address, String(port), String(count), String(atOnce)], 120_000);
  return stdout.trim().split(' ');
}

/** A connection to address:port held open: the member it reached, and an echo on demand. */
export async function holdMember(lab: Lab, ns: string, address: string, port: number): Promise<{ member: string; echo(): Promise<boolean> }> {
  const held = lab.spawn(ns, 'python3', ['-c', HOLD, address, String(port)], { stdin: true });
  const said = lines(held);
  while (said().length === 0) {
    if (held.exitCode !== null) throw new Error('the held connection failed');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    member: said()[0],
    echo: async () => {
      const before = said().length;
      held.stdin!.write('go\n');
      for (let i = 0; i < 250 && said().length === before && held.exitCode === null; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      return said()[before] === 'echo';
    },
  };
}

function lines(child: ChildProcess): () => string[] {
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  return () => text.split('\n').filter(Boolean);
}

/** A tenant's router between net1 (10.0.1.0/24 and 2001:db8:1::/64, the clients) and net2
 *  (10.0.2.0/24 and 2001:db8:2::/64, the members), made through the API `api` (the admin's),
 *  each VM interface's port bound on its host (the API's own when not given). */
export async function twoNetworks(
  api: import('../../src/cli/client').ControlClient, clients: VmPlace[], members: VmPlace[],
): Promise<{ router: string; ports: Map<string, string> }> {
  const made = (path: string, body: object) => api.request<{ id: string }>('POST', path, body).then((o) => o.id);
  const router = await made('/v1/routers', { name: 'r' });
  const ports = new Map<string, string>();
  for (const [i, vms] of [clients, members].entries()) {
    const net = await made('/v1/bridges', { name: `net${i + 1}` });
    const inside = await made('/v1/ports', { device: router, name: `r-net${i + 1}`, addresses: [`10.0.${i + 1}.1/24`, `2001:db8:${i + 1}::1/64`] });
    await made('/v1/ports', { device: net, peer: inside });
    for (const vm of vms) {
      const port = await made('/v1/ports', { device: net, name: vm.iface, addresses: [vm.address, ...(vm.address6 ? [vm.address6] : [])] });
      await api.request('POST', '/v1/bindings', { port, interface: vm.iface, ...(vm.host ? { host: vm.host } : {}) });
      ports.set(vm.iface, port);
    }
  }
  return { router, ports };
}

export interface VmPlace {
  iface: string;
  address: string;
  address6?: string;
  host?: string;
}
