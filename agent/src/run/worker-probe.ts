import type { Config } from '../config/schema.js';
import type { ProbeSource } from '../fleet/fleet-agent.js';
import type { ProbeCounters } from '../fleet/fleet-messages.js';
import { probeCountersOf } from '../fleet/probe-counters.js';
import { TrafficSummary } from '../summary/traffic-summary.js';
import type { MeterWorkerClient } from './meter-worker-client.js';
import type { WorkerSummary } from './meter-worker-protocol.js';

/**
 * The fleet channel's view of `tapflow run`: meter counters and summaries from the worker thread,
 * capture counters (interfaces, ring) from the main thread. After the stop, the worker's final
 * report answers: its last summary is handed out once, later ones are empty.
 */
export class WorkerProbe implements ProbeSource {
  readonly mode = 'run' as const;
  readonly interfaces: readonly string[];
  private readonly client: MeterWorkerClient;
  private readonly config: Config;
  private readonly captureCounters: () => ProbeCounters['capture'];
  private finalSummaryTaken = false;

  constructor(config: Config, client: MeterWorkerClient, captureCounters: () => ProbeCounters['capture']) {
    this.config = config;
    this.client = client;
    this.interfaces = config.capture.interfaces;
    this.captureCounters = captureCounters;
  }

  async counters(): Promise<ProbeCounters> {
    const report = await this.client.report();
    return probeCountersOf(report, report.export, this.config.flowTable.maxFlows, this.captureCounters());
  }

  async takeSummary(fromMs: number, toMs: number, final: boolean): Promise<WorkerSummary> {
    let summary = this.client.finalReport === null ? await this.client.summary(fromMs, toMs) : null;
    if (summary === null && this.client.finalReport !== null && !this.finalSummaryTaken) {
      this.finalSummaryTaken = true;
      summary = this.client.finalReport.summary;
    }
    if (summary === null) return new TrafficSummary({ topN: 1, capacity: 16 }).take(fromMs, toMs, final);
    return { ...summary, from: fromMs, to: toMs, final };
  }

  queryFlows(args: Record<string, unknown>): Promise<unknown> {
    return this.client.queryFlows(args);
  }

  async flush(): Promise<{ records: number }> {
    return { records: await this.client.flush() };
  }
}
