// TCP and UDP as a VM's applications use them, in python3 inside a VM stand-in's namespace: an
// echo server, a connection that must echo once, a connection kept open across changes, and
// a datagram to a closed port.
import { eventually, Lab } from '../../examples/lab';

export const ECHO_SERVER = `
import socket, sys, threading
def serve(port):
    s = socket.create_server(('0.0.0.0', port))
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda c=c: [c.sendall(d) for d in iter(lambda: c.recv(100), b'')], daemon=True).start()
for p in sys.argv[1:]: threading.Thread(target=serve, args=(int(p),), daemon=True).start()
threading.Event().wait()`;
export const CONNECT = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
c.sendall(b'x')
assert c.recv(1) == b'x'`;
/** Keeps one connection open: an echo at the start and one per line on stdin, each printed. */
const HOLD = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
def echo(n):
    c.sendall(b'y')
    print('echo' if c.recv(1) == b'y' else 'wrong', n, flush=True)
echo(0)
for n, _ in enumerate(sys.stdin, 1): echo(n)`;

/** A connection from `vm` kept open (HOLD): `echoed(n)` once its nth echo came back, `next()`
 *  for another exchange, `ended` once it is over (closed, or an echo that timed out). */
export function heldConnection(lab: Lab, vm: string, address: string, port: number) {
  const held = lab.spawn(vm, 'python3', ['-c', HOLD, address, String(port)], { stdin: true });
  let said = '';
  held.stdout!.on('data', (d: Buffer) => (said += d.toString()));
  const ended = new Promise<void>((resolve) => held.once('exit', () => resolve()));
  return {
    echoed: (n: number) => eventually(async () => said.includes(`echo ${n}`)), said: () => said, ended,
    next: () => held.stdin!.write('go\n'), end: () => held.stdin!.end(),
  };
}


/** A UDP datagram from `vm` to a port where nothing listens: whether the port unreachable it
 *  draws comes back to the socket ('refused'), or nothing does ('silence'). */
export async function udpAnswer(lab: Lab, vm: string, address: string, port: number): Promise<'refused' | 'silence'> {
  const script = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(1)\ns.connect(("${address}", ${port}))\ns.send(b"?")\ntry: s.recv(1)\nexcept ConnectionRefusedError: print("refused")\nexcept socket.timeout: print("silence")`;
  return (await lab.exec(vm, 'python3', ['-c', script])).stdout.includes('refused') ? 'refused' : 'silence';
}
