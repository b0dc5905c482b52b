// `vswitch floating-ip`: addresses of an external network mapped to VMs' ports, through the
// tenant API. A floating IP is named by its address or its id.
import { Args, flag } from './args';
import { resolve } from './lookup';
import { table } from './table';
import type { Shown, TenantApi } from './tenant-api';
import type { Print } from './topology-commands';

export const FLOATING_IP_USAGE = `
  floating-ip create --network EXTERNAL [--port PORT]
                                  an address of the external network for PORT's VM: what comes
                                  to it reaches the VM, what the VM sends out leaves from it
  floating-ip set ADDRESS|ID --port PORT|none      floating-ip list      floating-ip delete ADDRESS|ID
  floating-ip forward ADDRESS|ID tcp|udp EXTERNAL-PORT PORT INTERNAL-PORT
                                  one port of a floating IP that maps to no VM whole, to PORT's
                                  VM's INTERNAL-PORT (port forwarding)
  floating-ip unforward ADDRESS|ID tcp|udp EXTERNAL-PORT`;

export const FLOATING_IP_OPTIONS: Record<string, string[]> = { 'floating-ip create': ['network', 'port'], 'floating-ip set': ['port'] };

type FloatingIp = Shown<'floating-ips'>;

export async function floatingIpCommand(api: TenantApi, words: string[], args: Args, print: Print): Promise<number> {
  const [, sub, name] = words;
  const portOf = async () => {
    const port = flag(args, 'port');
    return port === undefined || port === 'none' ? '' : resolve(api, 'port', port);
  };
  const said = (f: FloatingIp) => [
    `floating IP ${f.address} (${f.id})${f.port ? ` -> port ${f.port}` : ''}`,
    ...f.portForwards.map((p) => `  ${p.protocol} ${p.externalPort} -> port ${p.port} ${p.internalPort}`),
  ].join('\n');
  if (sub === 'create') {
    const network = flag(args, 'network');
    if (!network) throw new Error('vswitch floating-ip create needs --network EXTERNAL (an external network\'s name or id)');
    const made = await api.create('floating-ips', { network: await resolve(api, 'bridge', network), port: await portOf() });
    print(made, () => said(made));
    return 0;
  }
  if (sub === 'list') {
    const all = await api.list('floating-ips');
    print(all, () => table(['address', 'id', 'port'], all.map((f) => [f.address, f.id, f.port || '-'])));
    return 0;
  }
  if ((sub === 'forward' || sub === 'unforward') && name) {
    const [protocol, external, port, internal] = words.slice(3);
    const number = (text: string | undefined, what: string) => {
      if (!text || !/^\d+$/.test(text)) throw new Error(`vswitch floating-ip ${sub} needs ${what}`);
      return Number(text);
    };
    if (protocol !== 'tcp' && protocol !== 'udp') throw new Error(`vswitch floating-ip ${sub} ADDRESS tcp|udp ...`);
    const found = await byName(api, name);
    const others = found.portForwards.filter((p) => p.protocol !== protocol || p.externalPort !== number(external, 'an external port'));
    const portForwards: FloatingIp['portForwards'] = sub === 'unforward' ? others : [...others, { protocol, externalPort: number(external, 'an external port'), port: await resolve(api, 'port', port ?? ''), internalPort: number(internal, 'an internal port') }];
    const changed = await api.update('floating-ips', found.id, { portForwards });
    print(changed, () => said(changed));
    return 0;
  }
  if ((sub === 'set' || sub === 'delete') && name) {
    const found = await byName(api, name);
    if (sub === 'delete') {
      await api.delete('floating-ips', found.id);
      print({ deleted: found.id }, () => `floating IP ${found.address} deleted`);
      return 0;
    }
    if (flag(args, 'port') === undefined) throw new Error('vswitch floating-ip set needs --port PORT|none');
    const changed = await api.update('floating-ips', found.id, { port: await portOf() });
    print(changed, () => said(changed));
    return 0;
  }
  throw new Error('vswitch floating-ip create|set|forward|unforward|list|delete ...');
}

/** A floating IP by its address or id. */
async function byName(api: TenantApi, name: string): Promise<FloatingIp> {
  const found = (await api.list('floating-ips')).filter((f) => f.address === name || f.id === name);
  if (found.length !== 1) throw new Error(`no floating IP ${name}`);
  return found[0];
}
