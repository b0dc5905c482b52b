// The tenant API over TLS on one port, HTTPS only. A client that speaks plain HTTP to it gets
// a plain-HTTP 400 that says so, rather than a reset connection it cannot explain.
import type { Server as HttpsServer } from 'node:https';
import net from 'node:net';

/** Every TLS connection starts with a handshake record, content type 22 (RFC 8446, 5.1). */
const TLS_HANDSHAKE = 22;
/** A client that connects and says nothing is let go after this long. */
const FIRST_BYTE_MS = 10_000;

const PLAIN_REFUSAL = JSON.stringify({
  error: { code: 'HTTPS_REQUIRED', message: 'this API is served over HTTPS only: call https://HOST:PORT (vswitch --api https://HOST:PORT --cacert CA.pem)' },
});

/** A listener that hands TLS connections to `server` and refuses plain ones. */
export function httpsOnly(server: HttpsServer): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.setTimeout(FIRST_BYTE_MS, () => socket.destroy());
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) return void socket.destroy();
      socket.setTimeout(0);
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) return void server.emit('connection', socket);
      socket.resume(); // what the client sent is read and dropped
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(PLAIN_REFUSAL)}\r\nconnection: close\r\n\r\n${PLAIN_REFUSAL}`);
    });
  });
}
