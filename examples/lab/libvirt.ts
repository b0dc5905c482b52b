// libvirt's side of a migration, as the hook sees it: a domain's XML and the hook script
// (examples/libvirt/qemu) run as libvirt runs it, on the host of a lab agent.
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { RunningAgent } from './agent-process';
import type { Lab } from './namespaces';

const HOOK = path.join(__dirname, '..', '..', '..', 'examples', 'libvirt', 'qemu');

/** A domain with one vswitch interface (tap `dev`, virtual port `port`) and, to be skipped,
 *  one on a libvirt network. */
export function domainXml(name: string, mac: string, port: string, dev: string): string {
  return `<domain type='kvm' id='7'>
  <name>${name}</name>
  <uuid>8c7a4e2d-0f5b-4a52-9d1e-3b9f6a0c2e11</uuid>
  <metadata>
    <vswitch:interfaces xmlns:vswitch="urn:vswitch:libvirt:1">
      <vswitch:interface mac="${mac}" port="${port}"/>
    </vswitch:interfaces>
  </metadata>
  <memory unit='KiB'>131072</memory>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='ethernet'>
      <mac address='${mac}'/>
      <target dev='${dev}'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cc'/>
      <source network='default'/>
      <target dev='vnet9'/>
    </interface>
  </devices>
</domain>`;
}

export interface HookResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the hook with libvirt's arguments (`DOMAIN OPERATION SUB-OPERATION EXTRA`) and the
 *  domain XML on stdin, against `agent`, as libvirt on its host would. */
export function runHook(lab: Lab, agent: Pick<RunningAgent, 'stateDir'>, args: string[], xml: string): Promise<HookResult> {
  const env = {
    ...process.env,
    VSWITCH_STATE_DIR: agent.stateDir,
    VSWITCH_API: path.join(agent.stateDir, 'api.sock'),
    VSWITCH_RUN_DIR: lab.directory(`run-${path.basename(agent.stateDir)}`),
  };
  return new Promise((resolve) => {
    const child = execFile(HOOK, args, { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    child.stdin!.end(xml);
  });
}
