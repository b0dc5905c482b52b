// `vswitch agent`: one host's switch with its control API, metrics and JSON logs, configured
// by a file and flags, stopped cleanly by SIGTERM or SIGINT.
import fs from 'node:fs';
import pino from 'pino';
import { ControlApi } from './control-api';
import { SwitchError } from './errors';
import { switchMetrics } from './metrics';
import type { PortConfig } from './port-config';
import { Switch, SwitchOptions, validateSwitchOptions } from './switch';

export const DEFAULT_SOCKET = process.env.VSWITCH_SOCKET ?? '/run/vswitch/vswitch.sock';

export interface AgentConfig extends Omit<SwitchOptions, 'logger'> {
  socket?: string;
  logLevel?: string;
  /** Ports attached at start. */
  ports?: PortConfig[];
}

export class Agent {
  private constructor(readonly sw: Switch, private readonly api: ControlApi, readonly socket: string) {}

  static async start(config: AgentConfig): Promise<Agent> {
    validateAgentConfig(config);
    const logger = pino({ level: config.logLevel ?? 'info' }, pino.destination(2));
    const sw = Switch.create({ ...config, logger });
    const api = new ControlApi(sw, switchMetrics(sw));
    const socket = config.socket ?? DEFAULT_SOCKET;
    try {
      for (const port of config.ports ?? []) sw.addPort(port);
      await api.listen(socket);
    } catch (error) {
      await sw.close();
      throw error;
    }
    logger.info({ socket, ports: sw.listPorts().length }, 'agent started');
    return new Agent(sw, api, socket);
  }

  async stop(): Promise<void> {
    await this.api.close();
    await this.sw.close();
    fs.rmSync(this.socket, { force: true });
  }
}

/** Reads a JSON config file: the AgentConfig fields. */
export function readAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new SwitchError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new SwitchError('CONFIG_INVALID', `config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new SwitchError('CONFIG_INVALID', `config file ${file} must hold a JSON object such as {"ports": [{"name": "vnet0", "kind": "packet"}]}`);
  }
  return config as AgentConfig;
}

const CONFIG_KEYS = new Set(['socket', 'logLevel', 'ports', 'datapathWorkers', 'simulationThreads', 'macTableSize', 'macAgingSeconds', 'flowCapacity', 'flowIdleMs']);
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Checks an agent's settings (from a file and flags) before anything starts. Ports are checked
 *  as they are added. */
export function validateAgentConfig(config: AgentConfig): void {
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.has(key)) throw new SwitchError('CONFIG_INVALID', `unknown setting '${key}' (known: ${[...CONFIG_KEYS].join(', ')})`, 400, key);
  }
  if (config.socket !== undefined && (typeof config.socket !== 'string' || config.socket === '')) {
    throw new SwitchError('CONFIG_INVALID', 'socket must be the path of the control socket', 400, 'socket');
  }
  if (config.logLevel !== undefined && !LOG_LEVELS.has(config.logLevel)) {
    throw new SwitchError('CONFIG_INVALID', `logLevel must be one of ${[...LOG_LEVELS].join(', ')}`, 400, 'logLevel');
  }
  if (config.ports !== undefined && !Array.isArray(config.ports)) {
    throw new SwitchError('CONFIG_INVALID', 'ports must be a list such as [{"name": "vnet0", "kind": "packet"}]', 400, 'ports');
  }
  validateSwitchOptions(config);
}
