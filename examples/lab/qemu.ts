// A real QEMU guest in a lab namespace, for live migration: the tiny guest that
// examples/qemu/build-guest.sh makes (Debian's kernel, busybox, a UDP echo on port 7), under
// TCG (these machines' KVM does not boot a stock guest), its virtio-net on a tap that QEMU
// makes in the namespace, its QMP on a unix socket; `incoming` starts it paused, waiting for
// a migration stream on a unix socket (a local stream, as over loopback, across namespaces).
import { ChildProcess, execFileSync } from 'node:child_process';
import path from 'node:path';
import { Qmp } from './qmp';
import type { Lab } from './namespaces';

const REPO = path.join(__dirname, '..', '..', '..');

export interface GuestOptions {
  ns: string;
  /** The tap QEMU makes for the guest's NIC; brought up once it exists. */
  tap: string;
  mac: string;
  /** The guest's address with its prefix length. */
  address: string;
  /** Waits for a migration stream on this unix socket instead of booting. */
  incoming?: string;
  memoryMiB?: number;
}

export interface QemuGuest {
  qmp: Qmp;
  process: ChildProcess;
  /** What the guest printed on its serial console. */
  console: () => string;
  /** Resolves once the guest's init says its network is up. */
  booted: (timeoutMs?: number) => Promise<void>;
}

/** Builds the guest (a second or so) and returns its kernel and initramfs. */
export function buildGuest(): { kernel: string; initramfs: string } {
  const out = path.join(REPO, 'build', 'guest');
  execFileSync(path.join(REPO, 'examples', 'qemu', 'build-guest.sh'), [out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { kernel: path.join(out, 'vmlinuz'), initramfs: path.join(out, 'initramfs.gz') };
}

export async function startGuest(lab: Lab, options: GuestOptions): Promise<QemuGuest> {
  const { kernel, initramfs } = buildGuest();
  const dir = lab.directory(`qemu-${options.tap}`);
  const qmpPath = path.join(dir, 'qmp.sock');
  const args = [
    '-accel', 'tcg', '-m', String(options.memoryMiB ?? 128), '-nodefaults', '-display', 'none', '-serial', 'stdio',
    '-kernel', kernel, '-initrd', initramfs, '-append', `console=ttyS0 quiet panic=-1 vswitch.ip=${options.address}`,
    '-netdev', `tap,id=n0,ifname=${options.tap},script=no,downscript=no`,
    // romfile= : no option ROM, the kernel is loaded directly.
    '-device', `virtio-net-pci,netdev=n0,mac=${options.mac},romfile=`,
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ...(options.incoming ? ['-incoming', `unix:${options.incoming}`] : []),
  ];
  const child = lab.spawn(options.ns, 'qemu-system-x86_64', args);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const qmp = await Qmp.connect(qmpPath).catch((error: Error) => {
    throw new Error(`${error.message}\n${output}`);
  });
  // Events about the migration itself, on both ends.
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
  await lab.ip(options.ns, 'link', 'set', options.tap, 'up');
  const booted = async (timeoutMs = 60_000) => {
    const end = Date.now() + timeoutMs;
    while (!output.includes('vswitch-guest: ready')) {
      if (child.exitCode !== null || Date.now() > end) throw new Error(`the guest did not boot:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { qmp, process: child, console: () => output, booted };
}
