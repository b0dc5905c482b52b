// Frames written byte by byte and sent as they are on an interface of a lab namespace (an
// AF_PACKET socket, through python3): what a hostile VM can put on its wire.
import type { Lab } from './namespaces';

const SEND = 'import socket, sys\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind((sys.argv[1], 0))\nfor f in sys.argv[2:]: s.send(bytes.fromhex(f))';

/** Sends each frame (Ethernet header first, no FCS) once, in order. */
export async function sendFrames(lab: Lab, ns: string, dev: string, frames: readonly Uint8Array[]): Promise<void> {
  await lab.exec(ns, 'python3', ['-c', SEND, dev, ...frames.map((f) => Buffer.from(f).toString('hex'))]);
}
