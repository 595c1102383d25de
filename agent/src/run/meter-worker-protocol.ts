import type { Config } from '../config/schema.js';
import type { ExportStats } from '../export/export-pipeline.js';
import type { MeterSnapshot } from '../meter/meter-snapshot.js';

/** What the main thread gives the meter worker at start. */
export interface MeterWorkerData {
  config: Config;
  ringBuffer: SharedArrayBuffer;
}

/** Main thread → worker. */
export type MeterWorkerMessage = { type: 'stop' } | { type: 'report' };

/** Worker → main thread: counters (final after a stop, when every flow was exported). */
export interface MeterWorkerReport extends MeterSnapshot {
  type: 'report';
  final: boolean;
  export: ExportStats;
}

export interface MeterWorkerError {
  type: 'error';
  message: string;
  code: string | null;
}
