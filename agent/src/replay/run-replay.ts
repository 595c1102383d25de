import { CaptureFileError, readCaptureFile, type CaptureReadResult } from '../capture/capture-file-reader.js';
import type { ExportPipeline } from '../export/export-pipeline.js';
import type { FlowRecordSink } from '../flow/flow-record.js';
import { FlowMeter, type FlowMeterOptions } from '../meter/flow-meter.js';
import { meteringStatisticsOf, snapshotMeter, type MeterSnapshot } from '../meter/meter-snapshot.js';

export interface ReplayProgress {
  file: string;
  bytesRead: number;
  totalBytes: number | null;
  packets: number;
  elapsedMs: number;
}

export interface ReplayOptions {
  onProgress?: (progress: ReplayProgress) => void;
  signal?: AbortSignal;
  /** Puts something between the flow table and the export (the fleet channel's traffic summary). */
  wrapSink?: (sink: FlowRecordSink) => FlowRecordSink;
  /** Called once the meter exists (the fleet channel reads its counters and flushes it). */
  onMeter?: (meter: FlowMeter) => void;
}

export interface ReplaySummary extends MeterSnapshot {
  files: { path: string; format: string | null; packets: number; anomalies: Record<string, number>; error: { code: string; offset: number; message: string } | null }[];
  export: ReturnType<ExportPipeline['stats']>;
  elapsedMs: number;
  packetsPerSecond: number;
  /** True when reading stopped early on a corrupt/truncated file or a signal. */
  incomplete: boolean;
}

/**
 * Replays capture files through one flow meter into an export pipeline. Files are read in order
 * as one continuous input; the packet timestamps drive the clock. A corrupt or truncated file
 * stops the replay there, and every flow read before it is still exported (forcedEnd).
 */
export async function runReplay(files: readonly string[], meterOptions: FlowMeterOptions, pipeline: ExportPipeline, options: ReplayOptions = {}): Promise<ReplaySummary> {
  const meter = new FlowMeter(meterOptions, options.wrapSink ? options.wrapSink(pipeline.sink) : pipeline.sink);
  options.onMeter?.(meter);
  pipeline.useMeteringStatistics(meteringStatisticsOf(meter));
  // A replay can wait for the collectors' first connection: failover then starts on a healthy one.
  await pipeline.ready();
  const started = performance.now();
  const summaryFiles: ReplaySummary['files'] = [];
  let incomplete = false;

  for (const path of files) {
    if (options.signal?.aborted) {
      incomplete = true;
      break;
    }
    const onProgress = options.onProgress;
    try {
      const result: CaptureReadResult = await readCaptureFile(path, meter.handlePacket, {
        afterChunk: () => pipeline.drain(),
        shouldPause: pipeline.backlogged,
        ...(onProgress
          ? { onProgress: (bytesRead: number, totalBytes: number | null) => onProgress({ file: path, bytesRead, totalBytes, packets: meter.counters.packets, elapsedMs: performance.now() - started }) }
          : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      summaryFiles.push({ path, format: result.format, packets: result.packets, anomalies: result.anomalies, error: null });
    } catch (error) {
      if (!(error instanceof CaptureFileError)) throw error as Error;
      summaryFiles.push({ path, format: null, packets: error.packetsBefore, anomalies: {}, error: { code: error.code, offset: error.offset, message: error.message } });
      incomplete = true;
      break;
    }
  }
  if (options.signal?.aborted) incomplete = true;

  while (!meter.flushSome()) await pipeline.drain();
  await pipeline.drain();
  const elapsedMs = performance.now() - started;
  return {
    files: summaryFiles,
    ...snapshotMeter(meter),
    export: pipeline.stats(),
    elapsedMs,
    packetsPerSecond: elapsedMs > 0 ? Math.round((meter.counters.packets / elapsedMs) * 1000) : 0,
    incomplete,
  };
}
