// SIGHUP: the agent reads its configuration again (the file, then its flags) and applies what
// can change while it runs; what cannot is said in its log, to take effect at the next restart.
// At run time: `logLevel`; `ports` (those the file adds are attached, those it drops detached,
// one it changes attached again; ports added by `vswitch port add` are not the file's and
// stay); and the API's TLS certificate and key, read again even when their paths are the same
// (a renewed certificate is served to new connections). Everything else needs a restart.
import type { Logger } from 'pino';
import type { AgentConfig } from './agent';
import type { PortConfig } from './port-config';
import type { Switch } from './switch';

const RELOADABLE = ['logLevel', 'ports', 'apiTlsCert', 'apiTlsKey'] as const;
type Reloadable = (typeof RELOADABLE)[number];

export interface ReloadPlan {
  /** Settings that changed and are applied now. */
  applied: string[];
  /** Settings that changed and take effect at the next restart. */
  needRestart: string[];
}

/** What changed from the running configuration to the one read again, and what of it applies now. */
export function reloadPlan(running: AgentConfig, next: AgentConfig): ReloadPlan {
  const keys = [...new Set([...Object.keys(running), ...Object.keys(next)])] as (keyof AgentConfig)[];
  const changed = keys.filter((k) => JSON.stringify(running[k]) !== JSON.stringify(next[k]));
  const reloadable = (k: string): k is Reloadable => (RELOADABLE as readonly string[]).includes(k);
  return { applied: changed.filter(reloadable), needRestart: changed.filter((k) => !reloadable(k)) };
}

/** The running configuration after a reload: the reloadable settings from `next`, the rest as
 *  the agent started with them (so a later reload still says they wait for a restart). */
export function reloaded(running: AgentConfig, next: AgentConfig): AgentConfig {
  const config: AgentConfig = { ...running };
  for (const key of RELOADABLE) {
    if (next[key] === undefined) delete config[key];
    else (config as Record<string, unknown>)[key] = next[key];
  }
  return config;
}

/** Attaches the ports `next` has and `before` has not (or has otherwise), detaches the others
 *  `before` had; a port that cannot be attached is logged, and the rest go on. */
export async function applyPorts(sw: Switch, before: readonly PortConfig[], next: readonly PortConfig[], logger: Logger): Promise<void> {
  const same = (a: PortConfig, b: PortConfig) => JSON.stringify(a) === JSON.stringify(b);
  for (const port of before) {
    if (next.some((p) => same(p, port))) continue;
    await sw.removePort(port.name).catch((error: Error) => logger.error({ err: error, port: port.name }, 'reload: cannot detach a port the configuration dropped'));
  }
  for (const port of next) {
    if (before.some((p) => same(p, port))) continue;
    try {
      sw.addPort(port);
    } catch (error) {
      logger.error({ err: error, port: port.name }, 'reload: cannot attach a port the configuration added');
    }
  }
}
