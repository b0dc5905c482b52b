#!/usr/bin/env python3
# A stand-in for the incoming QEMU of a live migration, in miniature: it creates a tap and
# holds it without reading (a paused guest), and on SIGUSR1 resumes as QEMU does: it sends a
# RARP from the VM's MAC, then answers ARP and pings for the VM's address, printing
# "echo ID SEQ" for each ping it answers.
# usage: paused-guest.py TAP MAC IPV4
import fcntl
import os
import select
import signal
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

name, mac_text, ip_text = sys.argv[1:4]
mac = bytes(int(x, 16) for x in mac_text.split(':'))
ip = bytes(int(x) for x in ip_text.split('.'))
tap = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
resumed = False


def resume(_signum, _frame):
    global resumed
    resumed = True


signal.signal(signal.SIGUSR1, resume)
print('paused', flush=True)
while not resumed:
    signal.pause()


def checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


# RARP request, reverse lookup of our own MAC: what QEMU sends at resume (qemu_announce_self).
rarp = b'\xff' * 6 + mac + b'\x80\x35' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 3) + mac + b'\0' * 4 + mac + b'\0' * 4
os.write(tap, rarp)
print('resumed', flush=True)
while True:
    ready, _, _ = select.select([tap], [], [], 30)
    if not ready:
        break
    f = os.read(tap, 65536)
    if len(f) < 42:
        continue
    kind = f[12:14]
    if kind == b'\x08\x06' and f[20:22] == b'\x00\x01' and f[38:42] == ip:  # ARP request for us
        reply = f[6:12] + mac + b'\x08\x06' + f[14:20] + b'\x00\x02' + mac + ip + f[22:28] + f[28:32]
        os.write(tap, reply)
    elif kind == b'\x08\x00' and f[23] == 1 and f[30:34] == ip and f[34] == 8:  # ping to us
        header_length = (f[14] & 0x0F) * 4
        ip_header = bytearray(f[14:14 + header_length])
        ip_header[12:16], ip_header[16:20] = f[30:34], f[26:30]
        ip_header[10:12] = b'\0\0'
        ip_header[10:12] = struct.pack('!H', checksum(bytes(ip_header)))
        total = struct.unpack('!H', f[16:18])[0]
        icmp = bytearray(f[14 + header_length:14 + total])
        icmp[0] = 0
        icmp[2:4] = b'\0\0'
        icmp[2:4] = struct.pack('!H', checksum(bytes(icmp)))
        os.write(tap, f[6:12] + mac + b'\x08\x00' + bytes(ip_header) + bytes(icmp))
        ident, seq = struct.unpack('!HH', bytes(icmp[4:8]))
        print('echo %d %d' % (ident, seq), flush=True)
