// The ports attached at run time by `vswitch port add` (POST /ports), kept in the state
// directory so that an agent that restarts, even one killed with -9, attaches them again, as
// ovs-vswitchd finds its ports in ovsdb. The file is replaced whole by a rename: a crash leaves
// the old list or the new one, never half of either.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { SwitchError } from './errors';
import { PortConfig, validatePortConfig } from './port-config';

export class AddedPorts {
  private ports: PortConfig[];

  constructor(private readonly file: string, logger: Logger) {
    this.ports = read(file, logger);
  }

  list(): readonly PortConfig[] {
    return this.ports;
  }

  has(name: string): boolean {
    return this.ports.some((p) => p.name === name);
  }

  remember(port: PortConfig): void {
    this.ports = [...this.ports.filter((p) => p.name !== port.name), { ...port }];
    this.save();
  }

  forget(name: string): void {
    if (!this.has(name)) return;
    this.ports = this.ports.filter((p) => p.name !== name);
    this.save();
  }

  private save(): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(temporary, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(this.ports, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, this.file);
  }
}

/** The list in `file`: none when there is no file; a file that is not a list of valid ports is
 *  set aside (renamed .bad, and logged) rather than stopping the agent or being overwritten. */
function read(file: string, logger: Logger): PortConfig[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  try {
    const ports = JSON.parse(text) as PortConfig[];
    if (!Array.isArray(ports)) throw new SwitchError('CONFIG_INVALID', 'not a list of ports');
    for (const port of ports) validatePortConfig(port);
    return ports;
  } catch (error) {
    const aside = `${file}.bad`;
    fs.renameSync(file, aside);
    logger.error({ err: error, file: aside }, `the ports added at run time could not be read from ${path.basename(file)}: set aside, none attached again`);
    return [];
  }
}
