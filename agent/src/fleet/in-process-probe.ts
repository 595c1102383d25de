import type { ExportPipeline } from '../export/export-pipeline.js';
import type { FlowMeter } from '../meter/flow-meter.js';
import { snapshotMeter } from '../meter/meter-snapshot.js';
import { parseFlowQuery, runFlowQuery } from '../recent/flow-query.js';
import type { RecentFlowRing } from '../recent/recent-flow-ring.js';
import type { TrafficSummary } from '../summary/traffic-summary.js';
import type { ProbeSource } from './fleet-agent.js';
import type { ProbeCounters, SummaryPayload } from './fleet-messages.js';
import { probeCountersOf } from './probe-counters.js';

/**
 * The fleet channel's view of a meter on the same thread (`tapflow replay`): counters straight
 * from the meter and pipeline, the summary from the TrafficSummary between table and export, and
 * flush between two chunks of input (the event loop never interrupts a packet).
 */
export class InProcessProbe implements ProbeSource {
  readonly mode = 'replay' as const;
  readonly interfaces: readonly string[] = [];
  readonly summary: TrafficSummary;
  private readonly pipeline: ExportPipeline;
  private readonly flowCapacity: number;
  private meter: FlowMeter | null = null;

  readonly recent: RecentFlowRing;

  constructor(pipeline: ExportPipeline, summary: TrafficSummary, recent: RecentFlowRing, flowCapacity: number) {
    this.pipeline = pipeline;
    this.summary = summary;
    this.recent = recent;
    this.flowCapacity = flowCapacity;
  }

  attach(meter: FlowMeter): void {
    this.meter = meter;
  }

  async counters(): Promise<ProbeCounters> {
    const meter = this.requireMeter();
    return probeCountersOf(snapshotMeter(meter), this.pipeline.stats(), this.flowCapacity, null);
  }

  async takeSummary(fromMs: number, toMs: number, final: boolean): Promise<Omit<SummaryPayload, 'schema' | 'probeId' | 'seq'>> {
    return this.summary.take(fromMs, toMs, final);
  }

  async queryFlows(args: Record<string, unknown>): Promise<unknown> {
    return runFlowQuery(this.recent, parseFlowQuery(args));
  }

  async flush(): Promise<{ records: number }> {
    const meter = this.requireMeter();
    const before = snapshotMeter(meter).records;
    while (!meter.flushSome()) await this.pipeline.drain();
    await this.pipeline.drain();
    return { records: snapshotMeter(meter).records - before };
  }

  private requireMeter(): FlowMeter {
    if (this.meter === null) throw new Error('the meter has not started yet');
    return this.meter;
  }
}
