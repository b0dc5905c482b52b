// libvirt's `qemu` hook for vswitch: a domain's ports bound where it runs, and live migration
// without lost packets. libvirt runs it as `qemu DOMAIN OPERATION SUB-OPERATION EXTRA` with the
// domain XML on stdin (libvirt 9.0's hooks documentation); see README.md here for installing
// it. What it does:
//   any host     prepare begin -            the domain starts here (not arriving): each of its
//                                           ports is bound to its tap on this host (the agent
//                                           attaches the tap when libvirt makes it)
//                stopped end -, release end -
//                                           the domain stopped here: each port still bound to
//                                           its tap here is unbound
//   destination  migrate begin -            notes that DOMAIN is arriving (prints nothing: the XML stays)
//                prepare begin -, start begin -
//                                           begin: each of the VM's ports is bound here too, and
//                                           what is sent to it is copied here, held until the guest runs
//                stopped end -, release end -
//                                           a failed migration: abort, unless the guest ran here
//   source       stopped end -, release end -
//                                           the VM left: commit, every flow now goes to the destination
// Each call is safe to repeat. It never calls back into libvirt, and it exits 0 even when the
// agent cannot be reached (the migration goes on, without mirroring), saying why on stderr.
import fs from 'node:fs';
import path from 'node:path';
import { ControlClient, ControlError } from '../../src/cli/client';

const STATE_DIR = process.env.VSWITCH_STATE_DIR ?? '/var/lib/vswitch';
const RUN_DIR = process.env.VSWITCH_RUN_DIR ?? '/run/vswitch';
const API = process.env.VSWITCH_API ?? '127.0.0.1:8780';
const METADATA_NS = 'urn:vswitch:libvirt:1';

/** A VM interface the switch knows: its tap on this host, its MAC, the virtual port it is. */
export interface VmInterface {
  dev: string;
  mac: string;
  port: string;
}

interface Binding {
  host: string;
  interface: string;
}

interface Migration {
  id: string;
  state: string;
  sourceHost: string;
  destinationHost: string;
  guestRunningAt: number;
}

/** The interfaces of a domain's XML that name a vswitch port in the domain's metadata:
 *  <vswitch:interface mac="…" port="…"/> under an element in METADATA_NS. */
export function vmInterfaces(xml: string): VmInterface[] {
  const prefix = new RegExp(`xmlns:(\\w+)=["']${METADATA_NS.replace(/[.:]/g, '\\$&')}["']`).exec(xml)?.[1];
  if (!prefix) return [];
  const ports = new Map<string, string>();
  for (const element of xml.matchAll(new RegExp(`<${prefix}:interface\\b([^>]*)/?>`, 'g'))) {
    const mac = attribute(element[1], 'mac');
    const port = attribute(element[1], 'port');
    if (mac && port) ports.set(mac.toLowerCase(), port);
  }
  const found: VmInterface[] = [];
  for (const block of xml.matchAll(/<interface\b[^>]*>([\s\S]*?)<\/interface>/g)) {
    const mac = attribute(/<mac\b([^>]*)>/.exec(block[1])?.[1] ?? '', 'address')?.toLowerCase();
    const dev = attribute(/<target\b([^>]*)>/.exec(block[1])?.[1] ?? '', 'dev');
    const port = mac ? ports.get(mac) : undefined;
    if (mac && port) found.push({ dev: dev ?? '', mac, port });
  }
  return found;
}

function attribute(attributes: string, name: string): string | undefined {
  return new RegExp(`\\b${name}=(?:"([^"]*)"|'([^']*)')`).exec(attributes)?.slice(1).find((v) => v !== undefined);
}

export async function hook(args: string[], xml: string, log: (line: string) => void): Promise<void> {
  const [domain, operation, sub] = args;
  const arriving = path.join(RUN_DIR, `${domain}.arriving`);
  const interfaces = vmInterfaces(xml);
  if (operation === 'migrate' && sub === 'begin') {
    fs.mkdirSync(RUN_DIR, { recursive: true });
    fs.writeFileSync(arriving, '');
    return;
  }
  if (interfaces.length === 0) return;
  const host = fs.readFileSync(path.join(STATE_DIR, 'host-id'), 'utf8').trim();
  // The host's own credential: it binds and migrates on this host only.
  const api = new ControlClient(API, fs.readFileSync(path.join(STATE_DIR, 'host-token'), 'utf8').trim());
  // A port's migration; 'none' when it has none (404), undefined when the API cannot say.
  const migrationOf = (port: string) => api.request<Migration>('GET', `/v1/migrations/${port}`).catch((e: ControlError) => (e.status === 404 ? 'none' as const : undefined));

  const bindingOf = (port: string) => api.request<Binding>('GET', `/v1/bindings/${port}`).catch(() => undefined);

  if ((operation === 'prepare' || operation === 'start') && sub === 'begin' && fs.existsSync(arriving)) {
    for (const i of interfaces.filter((x) => x.dev)) {
      const m = await api.request<Migration>('POST', '/v1/migrations', { port: i.port, destinationHost: host, interface: i.dev });
      log(`${domain}: port ${i.port} (${i.mac}) arriving as ${i.dev}: migration ${m.state}`);
    }
    return;
  }
  if (operation === 'prepare' && sub === 'begin') {
    for (const i of interfaces.filter((x) => x.dev)) log(`${domain}: port ${i.port} (${i.mac}): ${await bind(api, host, i, await bindingOf(i.port))}`);
    return;
  }
  if ((operation === 'stopped' || operation === 'release') && sub === 'end') {
    fs.rmSync(arriving, { force: true });
    for (const i of interfaces) {
      const m = await migrationOf(i.port);
      if (m !== undefined && m !== 'none' && m.state === 'mirroring') {
        if (m.sourceHost === host) {
          await api.request('POST', `/v1/migrations/${i.port}/commit`);
          log(`${domain}: left this host: migration of port ${i.port} committed`);
        } else if (m.destinationHost === host && m.guestRunningAt === 0) {
          await api.request('POST', `/v1/migrations/${i.port}/abort`);
          log(`${domain}: released here before its guest ran: migration of port ${i.port} aborted`);
        }
        continue;
      }
      // Stopped here: unbound, unless the port has moved on (a migration committed, a start
      // elsewhere) or whether a migration is under way cannot be told (the API out of reach).
      if (m === undefined) continue;
      const b = await bindingOf(i.port);
      if (b?.host !== host || b.interface !== i.dev) continue;
      await api.request('DELETE', `/v1/bindings/${i.port}`);
      log(`${domain}: stopped: port ${i.port} unbound from ${i.dev}`);
    }
  }
}

/** Binds a starting domain's port to its tap on this host; what was done, in words. The host's
 *  credential sees its own bindings only: a port bound on another host stays there (the API
 *  refuses, and the hook says so), as a domain runs on one host at a time. */
async function bind(api: ControlClient, host: string, i: VmInterface, current: Binding | undefined): Promise<string> {
  if (!current) {
    await api.request('POST', '/v1/bindings', { port: i.port, host, interface: i.dev });
    return `bound to ${i.dev}`;
  }
  if (current.interface === i.dev) return `already bound to ${i.dev}`;
  await api.request('PATCH', `/v1/bindings/${i.port}`, { interface: i.dev });
  return `bound to ${i.dev} (it was ${current.interface})`;
}

if (require.main === module) {
  const xml = fs.readFileSync(0, 'utf8');
  const args = process.argv.slice(2);
  const migrating = args[1] === 'migrate' || fs.existsSync(path.join(RUN_DIR, `${args[0]}.arriving`));
  hook(args, xml, (line) => process.stderr.write(`vswitch hook: ${line}\n`)).catch((error: Error) => {
    const goesOn = migrating ? 'the migration goes on without mirroring' : 'the domain goes on; its ports are as they were';
    process.stderr.write(`vswitch hook: ${args.slice(0, 3).join(' ')}: ${error.message} (${goesOn})\n`);
  });
}
