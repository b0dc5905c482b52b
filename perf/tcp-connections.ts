// A generator of new TCP connections, ours (no Debian package opens plain TCP connections at a
// rate and counts them). Run inside a lab namespace:
//   node dist/perf/tcp-connections.js serve PORT
//   node dist/perf/tcp-connections.js connect ADDRESS PORT SECONDS CONCURRENCY
// The server closes each connection as it accepts it, so that the server holds TIME_WAIT and
// the client's ports are free again at once. The client keeps CONCURRENCY connections opening
// at a time for SECONDS and prints {"connected": N, "failed": N, "seconds": S}: a connection
// counts once its handshake is done.
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'serve') {
  net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end();
  }).listen(Number(args[0]), '0.0.0.0', 4096);
} else {
  const [address, port, seconds, concurrency] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
  let connected = 0;
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const open = (): void => {
    if (performance.now() >= until) return;
    const socket = net.connect({ host: address, port });
    socket.setTimeout(3000);
    socket.once('connect', () => connected++);
    socket.on('end', () => socket.destroy());
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', () => failed++);
    socket.on('close', open);
  };
  for (let i = 0; i < concurrency; i++) open();
  const done = setInterval(() => {
    if (performance.now() < until) return;
    clearInterval(done);
    process.stdout.write(JSON.stringify({ connected, failed, seconds: (performance.now() - started) / 1000 }) + '\n');
    process.exit(0);
  }, 50);
}
