// The outside as a VM behind source NAT meets it, in python3 inside the namespaces: a server
// that notes the address and port each connection came from (what NAT made of it), a client
// that opens many connections at once, and a network beyond the outside namespace (the
// outside routes to it), for traceroute's hops and a narrower path MTU. The client speaks
// first: a server flooded with SYNs answers with SYN cookies and keeps nothing until the
// handshake's last ACK, so a client that waited for the server to speak would wait forever
// for a connection whose last ACK was lost; its first data completes the handshake instead.
import type { Lab } from './namespaces';

const PEERS = `
import asyncio, sys
async def handle(r, w):
    await r.readline()
    peer = w.get_extra_info('peername')
    print(f'{peer[0]}:{peer[1]}', flush=True)
    w.write(f'{peer[0]}:{peer[1]}\\n'.encode())
    await w.drain()
    await r.read()
    w.close()
async def main():
    server = await asyncio.start_server(handle, '0.0.0.0', int(sys.argv[1]), backlog=4096)
    async with server:
        await server.serve_forever()
asyncio.run(main())`;

const MANY = `
import asyncio, sys
async def one(host, port):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
    w.write(b'?\\n')
    await asyncio.wait_for(r.readline(), 60)
    return w
async def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    done = await asyncio.gather(*[one(host, port) for _ in range(n)], return_exceptions=True)
    print(sum(1 for w in done if not isinstance(w, BaseException)), ' '.join(sorted(type(w).__name__ for w in done if isinstance(w, BaseException))), flush=True)
    for w in done:
        if not isinstance(w, BaseException): w.close()
asyncio.run(main())`;

/** A TCP server on `port` that notes each connection's source as `address:port`, a line each. */
export function peerServer(lab: Lab, ns: string, port: number): { peers: () => string[] } {
  const server = lab.spawn(ns, 'python3', ['-c', PEERS, String(port)]);
  let said = '';
  server.stdout!.on('data', (d: Buffer) => (said += d.toString()));
  return { peers: () => said.split('\n').filter(Boolean) };
}

/** Opens `count` connections from `vm` to address:port at once, each waiting for the server's
 *  line, all held until every one is done; how many succeeded, and the errors of the others. */
export async function openAtOnce(lab: Lab, vm: string, address: string, port: number, count: number): Promise<{ succeeded: number; errors: string[] }> {
  const { stdout } = await lab.exec(vm, 'python3', ['-c', MANY, address, String(port), String(count)], 120_000);
  const [succeeded, ...errors] = stdout.trim().split(' ');
  return { succeeded: Number(succeeded), errors };
}

export const BEYOND_ADDRESS = '198.51.100.7';

/** A namespace beyond the outside: the outside (its router, 198.51.100.1) reaches it over a
 *  link whose MTU on the outside's end is `mtu`; it has BEYOND_ADDRESS. */
export async function beyond(lab: Lab, outside: string, mtu = 1500): Promise<string> {
  const far = await lab.namespace('far');
  await lab.veth(outside, 'eth1', far, 'eth0');
  await lab.ip(outside, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth1');
  await lab.ip(outside, 'link', 'set', 'eth1', 'mtu', String(mtu));
  await lab.exec(outside, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await lab.ip(far, 'addr', 'add', `${BEYOND_ADDRESS}/24`, 'dev', 'eth0');
  await lab.ip(far, 'route', 'add', 'default', 'via', '198.51.100.1');
  return far;
}
