import { DecodeStatus, isMalformed } from '../decode/decode-status.js';
import type { MeteringStatisticsSource } from '../export/flow-message-builder.js';
import type { FlowMeter } from './flow-meter.js';

const END_REASON_NAMES = ['', 'idleTimeout', 'activeTimeout', 'endOfFlow', 'forcedEnd', 'lackOfResources'];

/** The meter's counters as plain data, for summaries and reports (replay, `tapflow run`). */
export interface MeterSnapshot {
  packets: number;
  meteredPackets: number;
  meteredOctets: number;
  /** Packet sampling: 1 in `interval` metered; `skipped` passed over (0 without sampling). */
  sampling: { interval: number; method: 'deterministic' | 'random'; skipped: number };
  /** Malformed packets by reason, and in all. */
  malformed: Record<string, number>;
  malformedTotal: number;
  /** Valid frames not metered: not_ip, unsupported_link. */
  ignored: Record<string, number>;
  fragments: { attributed: number; unattributed: number };
  flows: number;
  activeFlows: number;
  evictions: number;
  records: number;
  recordsByEndReason: Record<string, number>;
}

export function snapshotMeter(meter: FlowMeter): MeterSnapshot {
  const counters = meter.counters;
  const table = meter.table.counters;
  const recordsByEndReason: Record<string, number> = {};
  let records = 0;
  for (let reason = 1; reason < END_REASON_NAMES.length; reason++) {
    const count = table.recordsByEndReason[reason]!;
    records += count;
    if (count > 0) recordsByEndReason[END_REASON_NAMES[reason]!] = count;
  }
  return {
    packets: counters.packets,
    meteredPackets: counters.meteredPackets,
    meteredOctets: counters.meteredOctets,
    sampling: { interval: meter.sampler.interval, method: meter.sampler.method, skipped: counters.unsampledPackets },
    malformed: counters.statusCounts(isMalformed),
    malformedTotal: counters.malformedPackets,
    ignored: counters.statusCounts((status) => status === DecodeStatus.NOT_IP || status === DecodeStatus.UNSUPPORTED_LINK),
    fragments: { attributed: meter.fragments.stats.attributed, unattributed: meter.fragments.stats.unattributed },
    flows: table.flowsCreated,
    activeFlows: meter.table.activeFlows,
    evictions: table.evictions,
    records,
    recordsByEndReason,
  };
}

/** The figures IPFIX exporting-process statistics report (ignoredPacketTotalCount, observedFlowTotalCount). */
export function meteringStatisticsOf(meter: FlowMeter, extraIgnoredPackets: () => number = () => 0): MeteringStatisticsSource {
  return {
    ignoredPackets: () => meter.counters.malformedPackets + extraIgnoredPackets(),
    observedFlows: () => meter.table.counters.flowsCreated,
  };
}
