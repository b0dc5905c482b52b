// Embedding the switch in a host agent of your own: create it, attach interfaces, react to
// events, read counters. Run as root inside the namespace that holds the interfaces:
//   node dist/examples/embed.js vnet0 vnet1
import { Switch } from '../src';

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: node dist/examples/embed.js IFACE [IFACE...]  (existing interfaces, e.g. QEMU vnet devices)');
  process.exit(2);
}

const sw = Switch.create({ macAgingSeconds: 300 });
sw.on('port-down', (port) => console.log(`port ${port.name} down: ${port.reason}`));
sw.on('port-up', (port) => console.log(`port ${port.name} up again`));
for (const name of names) {
  const port = sw.addPort({ name, kind: 'packet' });
  console.log(`attached ${name} as port ${port.number}`);
}

const report = setInterval(() => {
  const { flows, macTable } = sw.stats();
  console.log(`${flows.cached} flows, ${flows.hits} hits, ${flows.misses} misses, ${macTable.entries} MACs`);
}, 5000);

process.once('SIGINT', () => {
  clearInterval(report);
  void sw.close().then(() => console.log('switch closed'));
});
