// Each port bound here gets its virtual port's QoS limits in the datapath's meters (which
// every worker shares); a port bound to nothing, or to a port without limits, gets none.
import { FLOW_UNITS, Meter, PortMeters } from '../datapath';
import type { PortQos } from '../topology';

/** A GSO super-frame (64 KiB) must fit in a byte bucket whatever its rate, or it never passes. */
const MIN_BURST_BYTES = 128 * 1024;
/** Without a burst given, a byte bucket holds this long at its rate. */
const DEFAULT_BURST_MS = 100;

const NO_LIMITS: PortQos = { sendKbps: 0, receiveKbps: 0, burstKbytes: 0, newFlowsPerSecond: 0 };

export function applyPortLimits(meters: PortMeters, ports: Iterable<{ number: number; qos: PortQos | undefined }>): void {
  for (const { number, qos = NO_LIMITS } of ports) {
    for (const [meter, kbps] of [[Meter.fromPort, qos.sendKbps], [Meter.toPort, qos.receiveKbps]] as const) {
      const bytesPerSecond = (kbps * 1000) / 8;
      const burst = qos.burstKbytes > 0 ? qos.burstKbytes * 1024 : (bytesPerSecond * DEFAULT_BURST_MS) / 1000;
      meters.configure(number, meter, bytesPerSecond, Math.max(MIN_BURST_BYTES, Math.round(burst)));
    }
    // New flows: a second's worth at once, so a VM that opens a few connections never waits.
    const flows = qos.newFlowsPerSecond * FLOW_UNITS;
    meters.configure(number, Meter.newFlows, flows, Math.max(FLOW_UNITS, flows));
  }
}
