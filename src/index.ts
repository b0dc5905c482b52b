// The embedding API: what a host agent written by someone else imports.
//
//   const { Switch } = require('vswitch');
//   const sw = Switch.create();
//   sw.addPort({ name: 'vnet3', kind: 'packet' });   // a QEMU tap's host side
//   sw.on('port-down', (port) => ...);
//   await sw.close();
export { Switch, SwitchError, validatePortConfig } from './agent';
export type { PortConfig, PortInfo, PortState, SwitchOptions, SwitchStats } from './agent';
export { Agent } from './agent';
export type { AgentConfig } from './agent';
