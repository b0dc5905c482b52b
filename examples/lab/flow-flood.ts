// A VM that sprays new flows: UDP datagrams from its own MAC and address, each to a new
// destination port (a new 5-tuple, so a new flow for the switch), at a rate it offers for a
// time, written to its interface through an AF_PACKET socket (python3). It reports what it sent.
import type { Lab } from './namespaces';

const FLOOD = `
import socket, struct, sys, time
dev, src_mac, dst_mac, src_ip, dst_ip, rate, seconds = sys.argv[1:8]
rate, seconds = int(rate), float(seconds)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
mac = lambda m: bytes.fromhex(m.replace(':', ''))
ip = lambda a: socket.inet_aton(a)
header = bytearray(mac(dst_mac) + mac(src_mac) + b'\\x08\\x00' + struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28, 0, 0, 64, 17, 0, ip(src_ip), ip(dst_ip)))
total = sum(struct.unpack('!10H', header[14:34]))
while total >> 16: total = (total & 0xffff) + (total >> 16)
header[24:26] = struct.pack('!H', ~total & 0xffff)
frame = header + struct.pack('!HHHH', 40000, 0, 8, 0)
sent, start = 0, time.monotonic()
while True:
    elapsed = time.monotonic() - start
    if elapsed >= seconds: break
    if sent > elapsed * rate:
        time.sleep(0.0005)
        continue
    for _ in range(64):
        sent += 1
        frame[36:38] = struct.pack('!H', 1 + sent % 65535)
        frame[34:36] = struct.pack('!H', 1024 + (sent // 65535) % 60000)
        s.send(frame)
print(sent, time.monotonic() - start)
`;

export interface FloodReport {
  sent: number;
  seconds: number;
}

/** Sends new flows from `from` to `to` at up to `rate` a second for `seconds`. */
export async function floodNewFlows(lab: Lab, ns: string, dev: string, from: { mac: string; ip: string }, to: { mac: string; ip: string }, rate: number, seconds: number): Promise<FloodReport> {
  const { stdout } = await lab.exec(ns, 'python3', ['-c', FLOOD, dev, from.mac, to.mac, from.ip, to.ip, String(rate), String(seconds)], (seconds + 60) * 1000);
  const [sent, elapsed] = stdout.trim().split(' ').map(Number);
  return { sent, seconds: elapsed };
}
