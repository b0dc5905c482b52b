// Which VM answers at an address, over TCP port 8080, in python3 inside the namespaces: a
// server that says its name and the address the connection came from, a client that asks
// once, and one that asks again and again, noting when each answer came.
import type { Lab } from './namespaces';

const WHO = `
import socket, sys
s = socket.create_server(('0.0.0.0', 8080))
while True:
    c, peer = s.accept()
    c.sendall(f'{sys.argv[1]} {peer[0]}'.encode())
    c.close()`;
const ASK_AGAIN = `
import socket, sys, time
while True:
    try:
        c = socket.create_connection((sys.argv[1], 8080), timeout=0.05)
        said = c.recv(100).decode()
        c.close()
        print(int(time.time() * 1000), said, flush=True)
    except OSError:
        pass`;

/** Answers each connection to port 8080 with `name` and the peer's address. */
export function whoServer(lab: Lab, ns: string, name: string): void {
  lab.spawn(ns, 'python3', ['-c', WHO, name]);
}

/** What the server at `address` says ("vm1 203.0.113.1"), or '' when none answers in 2 s. */
export async function askWho(lab: Lab, ns: string, address: string, port = 8080): Promise<string> {
  const once = `import socket\nc = socket.create_connection(("${address}", ${port}), timeout=2)\nprint(c.recv(100).decode())`;
  return (await lab.exec(ns, 'python3', ['-c', once]).catch(() => ({ stdout: '' }))).stdout.trim();
}

/** Asks again and again (50 ms each at most); `answers()` is every answer so far, a line each:
 *  when (ms since the epoch) and what was said. `firstAfter(name, ms)` is when `name` first
 *  answered at or after `ms`, or undefined. */
export function askAgainAndAgain(lab: Lab, ns: string, address: string) {
  const asking = lab.spawn(ns, 'python3', ['-c', ASK_AGAIN, address]);
  let answers = '';
  asking.stdout!.on('data', (d: Buffer) => (answers += d.toString()));
  return {
    answers: () => answers,
    firstAfter: (name: string, ms: number): number | undefined => {
      for (const line of answers.split('\n')) {
        const [when, who] = line.split(' ');
        if (who === name && Number(when) >= ms) return Number(when);
      }
      return undefined;
    },
  };
}
