// Frames captured with tcpdump -xx between two namespaces (02:00:00:00:00:01 = 10.0.0.1 =
// fd00::1, 02:00:00:00:00:02 = 10.0.0.2 = fd00::2), used by the packet and flow tests.
import { hex } from './bytes';

export const arpRequest = hex(`ffff ffff ffff 0200 0000 0001 0806 0001
  0800 0604 0001 0200 0000 0001 0a00 0001 0000 0000 0000 0a00 0002`);

export const icmpEchoRequest = hex(`0200 0000 0002 0200 0000 0001 0800 4500
  0024 9562 4000 4001 9174 0a00 0001 0a00 0002 0800 a947 0db7 0001 4100 0000 0000 0000`);

/** Sent with tx checksum offload on: the UDP checksum field holds only the pseudo-header sum. */
export const udpDatagram = hex(`0200 0000 0002 0200 0000 0001 0800 4500
  001e 94a6 4000 4011 9226 0a00 0001 0a00 0002 e5b5 1388 000a 141e 6869`);

/** Sent with tx checksum offload on: the TCP checksum field holds only the pseudo-header sum. */
export const tcpSyn = hex(`0200 0000 0002 0200 0000 0001 0800 4500
  003c 85c6 4000 4006 a0f3 0a00 0001 0a00 0002 9bae 0050 e343 b9f7 0000 0000 a002
  faf0 1431 0000 0204 05b4 0402 080a c754 42d7 0000 0000 0103 030a`);

/** Made by the kernel in software: a complete checksum. */
export const tcpRst = hex(`0200 0000 0001 0200 0000 0002 0800 4500
  0028 0000 4000 4006 26ce 0a00 0002 0a00 0001 0050 9bae 0000 0000 e343 b9f8 5014
  0000 6293 0000`);

export const neighborSolicitation = hex(`3333 ff00 0002 0200 0000 0001 86dd 6000
  0000 0020 3aff fd00 0000 0000 0000 0000 0000 0000 0001 ff02 0000 0000 0000 0000
  0001 ff00 0002 8700 7d97 0000 0000 fd00 0000 0000 0000 0000 0000 0000 0002 0101
  0200 0000 0001`);

export const neighborAdvertisement = hex(`0200 0000 0001 0200 0000 0002 86dd 6000
  0000 0020 3aff fd00 0000 0000 0000 0000 0000 0000 0002 fd00 0000 0000 0000 0000
  0000 0000 0001 8800 1c9a 6000 0000 fd00 0000 0000 0000 0000 0000 0000 0002 0201
  0200 0000 0002`);
