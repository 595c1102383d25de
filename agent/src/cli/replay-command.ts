import type { Config, ConfigInput } from '../config/schema.js';
import type { ExportPipeline } from '../export/export-pipeline.js';
import { FleetAgent } from '../fleet/fleet-agent.js';
import { InProcessProbe } from '../fleet/in-process-probe.js';
import type { FlowRecordSink } from '../flow/flow-record.js';
import { createLogger } from '../logging/logger.js';
import type { FlowMeter } from '../meter/flow-meter.js';
import { RecentFlowRing, recentFlowsSink } from '../recent/recent-flow-ring.js';
import { summarizingSink, TrafficSummary } from '../summary/traffic-summary.js';
import { applyFleetFlags, FLEET_FLAG_OPTIONS } from './fleet-flags.js';
import { createExportPipeline, type ExportTimeSource } from '../export/create-export-pipeline.js';
import { flowMeterOptionsFromConfig } from '../meter/flow-meter.js';
import { runReplay, type ReplayProgress } from '../replay/run-replay.js';
import { formatReplaySummary } from './format-replay-summary.js';
import { parseCommandArgs } from './parse-command-args.js';
import { applyExportFlags, EXPORT_FLAG_OPTIONS } from './export-flags.js';
import { resolveConfig } from './resolve-config.js';
import { REPLAY_USAGE } from './usage.js';
import { EXIT_EXPORT_FAILED, EXIT_INPUT_DAMAGED, EXIT_OK, UsageError } from './usage-error.js';
import { parseCollectorSpec } from '../export/collector-spec.js';

/** Progress lines at most this often, and only once a replay has run this long. */
const PROGRESS_INTERVAL_MS = 2_000;

export async function runReplayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      ...EXPORT_FLAG_OPTIONS,
      ...FLEET_FLAG_OPTIONS,
      config: { type: 'string' },
      'export-time': { type: 'string' },
      'summary-json': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    REPLAY_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError('no capture FILE given', REPLAY_USAGE);
  const exportTime = parseExportTime(values['export-time']);

  const overrides: ConfigInput = { export: {} };
  applyExportFlags(values, overrides, REPLAY_USAGE);
  applyFleetFlags(values, overrides);
  const config = resolveConfig(values.config, overrides);

  const pipeline = createExportPipeline(config, { exportTime });
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.on('SIGTERM', stop); // 'on': a repeated signal must not cut the final export short
  process.on('SIGINT', stop);
  const quiet = values.quiet === true || values['summary-json'] === true;
  let lastProgressMs = 0;
  const onProgress = (progress: ReplayProgress) => {
    if (progress.elapsedMs < PROGRESS_INTERVAL_MS || progress.elapsedMs - lastProgressMs < PROGRESS_INTERVAL_MS) return;
    lastProgressMs = progress.elapsedMs;
    const share = progress.totalBytes ? ` ${((progress.bytesRead / progress.totalBytes) * 100).toFixed(0)}%` : '';
    const rate = Math.round(progress.packets / (progress.elapsedMs / 1000));
    process.stderr.write(`tapflow: ${progress.file}${share}, ${progress.packets} packets, ${rate} packets/s\n`);
  };

  const fleet = config.mqtt.url !== null ? startReplayFleet(config, pipeline) : null;
  try {
    await fleet?.agent.ready();
    const summary = await runReplay(positionals, flowMeterOptionsFromConfig(config), pipeline, {
      signal: abort.signal,
      ...(quiet ? {} : { onProgress }),
      ...(fleet ? { wrapSink: (sink: FlowRecordSink) => recentFlowsSink(fleet.probe.recent, summarizingSink(fleet.probe.summary, sink)), onMeter: (meter: FlowMeter) => fleet.probe.attach(meter) } : {}),
    });
    await pipeline.close();
    // The final summary and health go out after the last flow was exported, then the offline status.
    await fleet?.agent.stop();
    const destinations = [...config.export.collectors.map((c) => parseCollectorSpec(c).name), ...(config.export.file ? [config.export.file] : [])];
    if (values['summary-json']) process.stdout.write(`${JSON.stringify({ ...summary, destinations })}\n`);
    else process.stdout.write(formatReplaySummary(summary, destinations));
    if (summary.files.some((f) => f.error !== null)) return EXIT_INPUT_DAMAGED;
    // A replay is a batch job: a collector that lost messages (unresolvable, no free buffer, send
    // errors) fails it. In failover mode a collector that was down is expected: only lost records count.
    const failover = config.export.mode === 'failover';
    if (summary.export.destinations.some((d) => d.dropped > 0 || (!failover && d.errors > 0))) return EXIT_EXPORT_FAILED;
    return EXIT_OK;
  } finally {
    await fleet?.agent.stop(); // after an error too: the broker hears a goodbye, the process can exit
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

/** The fleet channel of a replay: a traffic summary between flow table and export, and the MQTT agent. */
function startReplayFleet(config: Config, pipeline: ExportPipeline): { agent: FleetAgent; probe: InProcessProbe } {
  const summary = new TrafficSummary({ topN: config.mqtt.summary.topN, capacity: config.mqtt.summary.sketchCapacity });
  const probe = new InProcessProbe(pipeline, summary, new RecentFlowRing(config.mqtt.recentFlows), config.flowTable.maxFlows);
  return { agent: new FleetAgent(config, probe, createLogger('fleet')), probe };
}

function parseExportTime(value: string | undefined): ExportTimeSource {
  if (value === undefined || value === 'now') return 'now';
  if (value === 'packet') return 'packet';
  if (/^\d{1,10}$/.test(value) && Number(value) <= 0xffff_ffff) return Number(value);
  throw new UsageError(`--export-time must be 'now', 'packet' or UNIX seconds, got '${value}'`, REPLAY_USAGE);
}
