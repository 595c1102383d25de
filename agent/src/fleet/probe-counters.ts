import type { ExportStats } from '../export/export-pipeline.js';
import type { MeterSnapshot } from '../meter/meter-snapshot.js';
import type { ProbeCounters } from './fleet-messages.js';

/**
 * The counters health messages and the `stats` command carry, from the meter's snapshot, the
 * export pipeline and (live capture only) the capture side. Rates are left at 0: FleetAgent
 * computes them over its own interval.
 */
export function probeCountersOf(meter: MeterSnapshot, exported: ExportStats, flowCapacity: number, capture: ProbeCounters['capture']): ProbeCounters {
  return {
    traffic: {
      packets: meter.packets,
      meteredPackets: meter.meteredPackets,
      octets: meter.meteredOctets,
      packetsPerSecond: 0,
      bitsPerSecond: 0,
      malformed: meter.malformed,
      malformedTotal: meter.malformedTotal,
      ignored: meter.ignored,
      samplingSkipped: meter.sampling.skipped,
    },
    capture,
    flows: {
      active: meter.activeFlows,
      capacity: flowCapacity,
      created: meter.flows,
      evictions: meter.evictions,
      recordsByEndReason: meter.recordsByEndReason,
    },
    export: {
      messages: exported.messages,
      records: exported.records,
      bytes: exported.bytes,
      destinations: exported.destinations.map((d) => ({
        target: d.target,
        sent: d.sent,
        dropped: d.dropped,
        droppedRecords: d.droppedRecords,
        errors: d.errors,
        problem: d.problem,
        active: d.active,
      })),
    },
  };
}
