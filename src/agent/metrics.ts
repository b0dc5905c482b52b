// Prometheus metrics of one switch, read from its shared counters at scrape time (prom-client).
import { Counter, Gauge, Histogram, Metric, Registry, collectDefaultMetrics } from 'prom-client';
import type { Switch } from './switch';
import type { NatLeases } from './nat-leases';
import type { HealthMonitor } from './health-monitor';
import { parseAddress } from '../packet';
import { STAGE_NAMES, TRANSIT_BUCKETS_US } from '../datapath';

export function switchMetrics(sw: Switch): Registry {
  const registry = new Registry();
  // Event-loop lag sampled once a second, not every 10 ms: an idle agent must stay idle.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  withoutTotalGauges(registry);
  const portLabels = ['port', 'name'];
  const portCounter = (name: string, help: string, pick: (c: ReturnType<Switch['listPorts']>[number]['counters']) => number) =>
    new Counter({
      name, help, labelNames: portLabels, registers: [registry],
      collect() {
        this.reset();
        for (const p of sw.listPorts()) this.inc({ port: p.number, name: p.name }, pick(p.counters));
      },
    });
  portCounter('vswitch_port_rx_packets_total', 'Frames received on the port', (c) => c.rxPackets);
  portCounter('vswitch_port_rx_bytes_total', 'Bytes received on the port', (c) => c.rxBytes);
  portCounter('vswitch_port_rx_dropped_total', 'Frames the kernel dropped before the switch read them', (c) => c.rxDropped);
  portCounter('vswitch_port_tx_packets_total', 'Frames sent on the port', (c) => c.txPackets);
  portCounter('vswitch_port_tx_bytes_total', 'Bytes sent on the port', (c) => c.txBytes);
  portCounter('vswitch_port_tx_dropped_total', 'Frames the port could not send', (c) => c.txDropped);
  new Gauge({
    name: 'vswitch_port_up', help: '1 when the port forwards, 0 when it is down', labelNames: portLabels, registers: [registry],
    collect() {
      this.reset();
      for (const p of sw.listPorts()) this.set({ port: p.number, name: p.name }, p.state === 'up' ? 1 : 0);
    },
  });
  new Counter({
    name: 'vswitch_port_drops_total', help: 'Frames the port sent that were dropped, by reason', labelNames: [...portLabels, 'reason'], registers: [registry],
    collect() {
      this.reset();
      for (const p of sw.listPorts()) for (const [reason, value] of Object.entries(p.drops)) this.inc({ port: p.number, name: p.name, reason }, value);
    },
  });
  new Counter({
    name: 'vswitch_drops_total', help: 'Frames dropped, by reason', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, value] of Object.entries(sw.stats().drops)) this.inc({ reason }, value);
    },
  });
  new Counter({
    name: 'vswitch_service_answers_total', help: 'Answers this host\'s switch sent its VMs, by service (dhcp, routerAdvertisement)', labelNames: ['service'], registers: [registry],
    collect() {
      this.reset();
      const { dhcpReplies, routerAdvertisements } = sw.stats().slowPath;
      this.inc({ service: 'dhcp' }, dhcpReplies);
      this.inc({ service: 'routerAdvertisement' }, routerAdvertisements);
    },
  });
  const flowCounter = (name: string, help: string, pick: (f: ReturnType<Switch['stats']>['flows']) => number) =>
    new Counter({
      name, help, registers: [registry],
      collect() {
        this.reset();
        this.inc(pick(sw.stats().flows));
      },
    });
  flowCounter('vswitch_flow_cache_hits_total', 'Frames served from the flow cache', (f) => f.hits);
  flowCounter('vswitch_flow_cache_misses_total', 'Frames that missed the flow cache', (f) => f.misses);
  flowCounter('vswitch_flow_cache_evictions_total', 'Flows evicted because the cache was full', (f) => f.evictions);
  flowCounter('vswitch_flow_cache_expirations_total', 'Flows removed after their idle timeout', (f) => f.expirations);
  flowCounter('vswitch_flow_cache_invalidations_total', 'Flows removed by tag invalidation', (f) => f.invalidations);
  flowCounter('vswitch_upcalls_total', 'Flows sent to the slow path', (f) => f.upcalls);
  new Gauge({
    name: 'vswitch_flow_cache_flows', help: 'Flows in the cache', registers: [registry],
    collect() {
      this.set(sw.stats().flows.cached);
    },
  });
  new Gauge({
    name: 'vswitch_mac_table_entries', help: 'Learned MAC addresses', registers: [registry],
    collect() {
      this.set(sw.stats().macTable.entries);
    },
  });
  new Counter({
    name: 'vswitch_mac_table_refusals_total', help: 'New MACs refused because the table was full', registers: [registry],
    collect() {
      this.reset();
      this.inc(sw.stats().macTable.refusals);
    },
  });
  new Counter({
    name: 'vswitch_neighbor_refusals_total', help: 'New router neighbors refused because their router had as many as it keeps', registers: [registry],
    collect() {
      this.reset();
      this.inc(sw.stats().neighbors.refusals);
    },
  });
  new Gauge({
    name: 'vswitch_migrations_in_progress', help: 'Ports migrating to or from this host', registers: [registry],
    collect() {
      this.set(sw.topology.migrating().filter((m) => m.sourceHost === sw.topology.hostId || m.destinationHost === sw.topology.hostId).length);
    },
  });
  new Counter({
    name: 'vswitch_migrations_expired_total', help: 'Migrations from this host ended by their deadline, neither committed nor aborted', registers: [registry],
    collect() {
      this.reset();
      this.inc(sw.migrationsExpired);
    },
  });
  const latency = new Histogram({
    name: 'vswitch_slow_path_latency_seconds', help: 'Time from an upcall batch to its answer',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5], registers: [registry],
  });
  sw.onSlowPathLatency = (seconds) => latency.observe(seconds);
  // prom-client types a metric as one of its own classes; its registry reads only name, get()
  // and reset(), which this one has.
  registry.registerMetric(transitHistogram(sw) as unknown as Metric);
  new Counter({
    name: 'vswitch_datapath_stage_seconds_total', help: 'Time the datapath workers spent in each stage of their wake-ups (wait: from the kernel\'s receive to the readiness; enter: into the code that reads)',
    labelNames: ['stage'], registers: [registry],
    collect() {
      this.reset();
      const { stagesUs } = sw.stats().latency;
      for (const stage of STAGE_NAMES) this.inc({ stage }, stagesUs[stage] / 1e6);
    },
  });
  new Gauge({
    name: 'vswitch_datapath_slice_seconds', help: 'Each datapath worker thread\'s slice under the kernel\'s fair scheduler (0: the kernel keeps none for it)',
    labelNames: ['worker'], registers: [registry],
    collect() {
      this.reset();
      sw.stats().latency.slicesUs.forEach((us, worker) => this.set({ worker }, Math.max(0, us) / 1e6));
    },
  });
  new Counter({
    name: 'vswitch_datapath_wakeups_total', help: 'Times a datapath worker woke to read a ready port', registers: [registry],
    collect() {
      this.reset();
      this.inc(sw.stats().latency.wakeups);
    },
  });
  return registry;
}

/** The datapath's histogram of forwarded frames' transit, from their kernel receive timestamp
 *  to the end of their send: its buckets are counted in the workers' shared memory, so it is a
 *  metric of prom-client's shape that reads them, not a Histogram that observes. */
function transitHistogram(sw: Switch) {
  const name = 'vswitch_datapath_transit_seconds';
  const help = 'Time of forwarded frames from their receive by the kernel to the end of the send that carried them on (frames with a kernel timestamp, on the fast path)';
  return {
    name, help,
    get() {
      const { transit } = sw.stats().latency;
      let cumulative = 0;
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = TRANSIT_BUCKETS_US.map((us, i) => ({ metricName: `${name}_bucket`, labels: { le: us / 1e6 }, value: (cumulative += transit.buckets[i]) }));
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: transit.frames });
      values.push({ metricName: `${name}_sum`, labels: {}, value: transit.sumUs / 1e6 });
      values.push({ metricName: `${name}_count`, labels: {}, value: transit.frames });
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset() {},
  };
}

/** Source NAT's, for an agent that leases its ports: translations in use, blocks held, and
 *  connections refused for want of a port. */
/** prom-client names three gauges with a counter's suffix (nodejs_active_handles_total,
 *  ..._requests_total, ..._resources_total), which `promtool check metrics` rejects: they are
 *  the sums of its gauges by type (nodejs_active_handles and the others), which stay. */
function withoutTotalGauges(registry: Registry): void {
  for (const kind of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`nodejs_active_${kind}_total`);
}

export function natMetrics(registry: Registry, leases: NatLeases, sw: Switch): void {
  new Gauge({
    name: 'vswitch_nat_translations', help: 'Connections this host translated (source NAT) that are live', registers: [registry],
    collect() {
      this.set(leases.stats.translations);
    },
  });
  new Gauge({
    name: 'vswitch_nat_blocks', help: 'Blocks of source NAT ports this host holds', registers: [registry],
    collect() {
      this.set(leases.stats.blocks);
    },
  });
  new Counter({
    name: 'vswitch_nat_allocation_failures_total', help: 'New connections that found every source NAT port this host held taken (they wait for a lease)', registers: [registry],
    collect() {
      this.reset();
      this.inc(sw.topology.conntrack.exhausted);
    },
  });
  new Counter({
    name: 'vswitch_nat_block_failures_total', help: 'Blocks of source NAT ports wanted and not had: every block of the address was held', registers: [registry],
    collect() {
      this.reset();
      this.inc(leases.stats.failures);
    },
  });
}

/** Load balancers': each member's live connections this host gave it, and the health and
 *  transitions of the members this host checks. */
export function loadBalancerMetrics(registry: Registry, health: HealthMonitor, sw: Switch): void {
  const labels = ['load_balancer', 'member'];
  new Gauge({
    name: 'vswitch_lb_member_connections', help: 'Live connections this host sent to the member', labelNames: labels, registers: [registry],
    collect() {
      this.reset();
      for (const lb of sw.topology.loadBalancerObjects()) {
        for (const m of lb.members) this.set({ load_balancer: lb.id, member: `${m.address}:${m.port}` }, sw.topology.conntrack.load(parseAddress(m.address), m.port));
      }
    },
  });
  new Gauge({
    name: 'vswitch_lb_member_up', help: '1 while a member this host checks is healthy, 0 when it is down', labelNames: labels, registers: [registry],
    collect() {
      this.reset();
      for (const m of health.checked()) this.set({ load_balancer: m.loadBalancer, member: m.member }, m.up ? 1 : 0);
    },
  });
  new Counter({
    name: 'vswitch_lb_member_transitions_total', help: 'Times a member this host checks went down or came back', labelNames: labels, registers: [registry],
    collect() {
      this.reset();
      for (const m of health.checked()) this.inc({ load_balancer: m.loadBalancer, member: m.member }, m.transitions);
    },
  });
}
