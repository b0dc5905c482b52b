// A routed network built with the vswitch CLI, as a user would: tenant acme's router r between
// net1 (10.0.1.0/24) and net2 (10.0.2.0/24), each with a port vmN that the operator binds to
// the interface tN.
import fs from 'node:fs';
import { Lab, RunningAgent, VSWITCH } from '../../examples/lab';

/** The `vswitch` command against a lab agent, run in `ns` with a token; its standard output. */
export type Cli = (token: string, ...args: string[]) => Promise<string>;

/** The CLI against `agent`, run in `ns`, and the operator's token. */
export function cliFor(lab: Lab, ns: string, agent: RunningAgent): { cli: Cli; admin: string } {
  const admin = fs.readFileSync(`${agent.stateDir}/admin-token`, 'utf8').trim();
  const cli: Cli = async (token, ...args) => (await lab.exec(ns, process.execPath, [VSWITCH, '--socket', agent.socket, '--api', agent.api.address, '--token', token, ...args])).stdout;
  return { cli, admin };
}

export async function routedByCli(lab: Lab, ns: string, agent: RunningAgent): Promise<{ cli: Cli; admin: string; token: string }> {
  const { cli, admin } = cliFor(lab, ns, agent);
  const token = /token: (\S+)/.exec(await cli(admin, 'tenant', 'create', 'acme'))![1];
  await cli(token, 'router', 'create', 'r');
  for (const n of [1, 2]) {
    await cli(token, 'bridge', 'create', `net${n}`);
    await cli(token, 'port', 'create', 'r', '--name', `r-net${n}`, '--address', `10.0.${n}.1/24`);
    await cli(token, 'port', 'create', `net${n}`, '--name', `net${n}-up`, '--peer', `r-net${n}`);
    await cli(token, 'port', 'create', `net${n}`, '--name', `vm${n}`);
    await cli(admin, 'port', 'bind', `vm${n}`, `t${n}`);
  }
  return { cli, admin, token };
}
