// Ports follow the host's interfaces as they come and go. A bound interface that is not there
// yet is attached when it appears. A packet port goes down with its link or its interface,
// comes up with its link, and is reopened when an interface of its name comes back (libvirt
// recreates vnetN when a VM restarts). A tap's device may live in another namespace, as a VM's
// does: its descriptor tells (the datapath's portFailed), so only packet ports are looked at.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { native } from '../datapath';
import type { SwitchError } from './errors';
import type { PortConfig } from './port-config';
import type { PortRecord } from './switch-ports';

/** A bound interface that is not there yet, or whose link is down, is looked at this often: an
 *  arriving VM's tap appears when libvirt starts the incoming QEMU, and must carry frames before
 *  the switchover. Only while there is one: an idle host's agent wakes ten times a second less. */
const AWAITED_CHECK_MS = 100;

/** What following the links needs of the switch. */
export interface LinkedPorts {
  records(): Iterable<PortRecord>;
  /** Attaches an interface (Switch.addPort), or throws a SwitchError. */
  addPort(config: PortConfig, binding: string): void;
  setDown(record: PortRecord, reason: string): void;
  /** A port whose link came up forwards again. */
  takeUp(record: PortRecord): void;
}

export class PortLinks {
  /** Interfaces a binding names that are not there yet -> the virtual port they are bound to. */
  private readonly awaited = new Map<string, string>();
  /** The look for awaited interfaces and links come back, while one is awaited. */
  private looking: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly ports: LinkedPorts, private readonly ringSlots: number, private readonly log: Logger) {}

  /** Attaches the interface a binding names, or awaits it. A tap that no process holds (made
   *  with `ip tuntap add`, e.g. for tcpdump to read a mirror) is opened as its owner; any other
   *  interface, a QEMU tap included, is attached with a packet socket. */
  bind(name: string, port: string): void {
    try {
      if (fs.existsSync(`/sys/class/net/${name}/tun_flags`)) {
        try {
          this.ports.addPort({ name, kind: 'tap' }, port);
          return;
        } catch {
          // Held by its process (EBUSY): a packet socket beside it.
        }
      }
      this.ports.addPort({ name, kind: 'packet' }, port);
    } catch (error) {
      const e = error as SwitchError;
      if (e.code !== 'NO_SUCH_INTERFACE') this.log.error({ err: e, name }, 'cannot attach a bound interface');
      this.awaited.set(name, port);
      this.lookForAwaited();
    }
  }

  /** The bindings are being looked at anew: none is awaited unless bound again. */
  forgetAwaited(): void {
    this.awaited.clear();
  }

  /** A port went down with its link: looked at until the link comes back. */
  linkDown(): void {
    this.lookForAwaited();
  }

  /** Packet ports follow their interface: down when it is down or gone, reopened when an
   *  interface of that name is back (then up with its link). */
  check(): void {
    for (const record of this.ports.records()) {
      if (record.spec.kind !== 'packet') continue;
      const link = native.linkState(record.spec.name);
      if (record.state === 'up' && (!link || !link.running)) this.ports.setDown(record, link ? 'link down' : 'interface vanished');
      else if (record.state === 'down' && record.reason === 'interface vanished' && link) this.reopen(record);
    }
  }

  /** Nothing is looked at any more (the switch closed, or handed its ports over). */
  stop(): void {
    this.stopped = true;
    if (this.looking) clearInterval(this.looking);
    this.looking = null;
  }

  private lookForAwaited(): void {
    if (!this.stopped) this.looking ??= setInterval(() => this.attachAwaited(), AWAITED_CHECK_MS);
  }

  /** Bound interfaces that have appeared are attached, and ports whose link came up taken up;
   *  the look ends when none is left. */
  private attachAwaited(): void {
    for (const [name, port] of [...this.awaited]) {
      if (!native.linkState(name)) continue;
      this.awaited.delete(name);
      this.bind(name, port);
    }
    let linkDown = false;
    for (const record of this.ports.records()) {
      if (record.state !== 'down' || record.reason !== 'link down') continue;
      // Taken up at once: an arriving VM's tap must carry its frames from the switchover on,
      // and libvirt brings it up just before.
      if (native.linkState(record.spec.name)?.running) this.ports.takeUp(record);
      else linkDown = true;
    }
    if (this.awaited.size === 0 && !linkDown && this.looking) {
      clearInterval(this.looking);
      this.looking = null;
    }
  }

  /** The interface is back: a new socket on it (the old one was bound to the device that went). */
  private reopen(record: PortRecord): void {
    let fd: number;
    try {
      fd = native.openPacket(record.spec.name, record.spec.vnetHdr, this.ringSlots);
    } catch (error) {
      this.log.debug({ port: record.spec.number, err: error }, 'interface is back but cannot be opened yet');
      return;
    }
    native.close(record.spec.fd);
    record.spec = { ...record.spec, fd };
    record.reason = 'link down';
    this.lookForAwaited();
    this.log.info({ port: record.spec.number, name: record.spec.name }, 'interface is back: reopened');
  }
}
