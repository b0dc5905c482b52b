// A port's device opened: a tap, or a packet socket with its receive ring on an existing
// interface, or the descriptor the agent this one took over from handed over. The kernel's
// refusals become the API's errors.
import type { Logger } from 'pino';
import { native } from '../datapath';
import { SwitchError } from './errors';
import type { PortConfig } from './port-config';
import type { InheritedDescriptors } from './takeover';

/** The port's descriptor; a tap is brought up. */
export function openPortDevice(config: PortConfig, vnetHdr: boolean, ringSlots: number, inherited: InheritedDescriptors | undefined, log: Logger): number {
  let fd = -1;
  try {
    const handed = inherited?.take(config.name, config.kind, vnetHdr);
    if (handed?.ringSlots !== undefined && handed.ringSlots !== ringSlots) {
      // Resizing would free the ring with the frames the predecessor left in it.
      log.warn({ name: config.name, ringSlots: handed.ringSlots, configured: ringSlots }, 'port taken over keeps its receive ring: ringSlots applies to ports opened anew (after a restart, not a takeover)');
    }
    fd = handed?.fd ?? (config.kind === 'tap' ? native.openTap(config.name, vnetHdr) : native.openPacket(config.name, vnetHdr, ringSlots));
    if (config.kind === 'tap') native.setLinkUp(config.name);
    return fd;
  } catch (error) {
    if (fd >= 0) native.close(fd);
    const e = error as Error & { code?: string };
    const status = e.code === 'ENODEV' ? 404 : e.code === 'EBUSY' ? 409 : e.code === 'EPERM' || e.code === 'EACCES' ? 403 : 400;
    throw new SwitchError(e.code === 'ENODEV' ? 'NO_SUCH_INTERFACE' : `OPEN_FAILED_${e.code ?? 'EIO'}`, e.message, status, 'name');
  }
}
