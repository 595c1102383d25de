import type { Config } from '../config/schema.js';
import type { ExportStats } from '../export/export-pipeline.js';
import type { SummaryPayload } from '../fleet/fleet-messages.js';
import type { MeterSnapshot } from '../meter/meter-snapshot.js';

/** What the main thread gives the meter worker at start. */
export interface MeterWorkerData {
  config: Config;
  ringBuffer: SharedArrayBuffer;
}

export type WorkerSummary = Omit<SummaryPayload, 'schema' | 'probeId' | 'seq'>;

/** Main thread → worker. `id` pairs a request with its answer. */
export type MeterWorkerMessage =
  | { type: 'stop' }
  | { type: 'report'; id: number }
  | { type: 'summary'; id: number; fromMs: number; toMs: number }
  | { type: 'flush'; id: number }
  | { type: 'reconfigure'; id: number; config: Config }
  | { type: 'query'; id: number; args: Record<string, unknown> };

/** Worker → main thread: counters (final after a stop, when every flow was exported, with the last summary). */
export interface MeterWorkerReport extends MeterSnapshot {
  type: 'report';
  id: number;
  final: boolean;
  export: ExportStats;
  /** On the final report with summaries on: what was exported since the last summary. */
  summary: WorkerSummary | null;
}

export interface MeterWorkerSummary {
  type: 'summary';
  id: number;
  summary: WorkerSummary;
}

export interface MeterWorkerFlushed {
  type: 'flushed';
  id: number;
  records: number;
}

/** A reload applied (error null) or refused with nothing changed. */
export interface MeterWorkerReconfigured {
  type: 'reconfigured';
  id: number;
  error: string | null;
}

/** A flows.query answer: the result, or the error a CommandError carries. */
export interface MeterWorkerQueried {
  type: 'queried';
  id: number;
  result: unknown;
  error: { code: string; message: string } | null;
}

export interface MeterWorkerError {
  type: 'error';
  message: string;
  code: string | null;
}

export type MeterWorkerReply = MeterWorkerReport | MeterWorkerSummary | MeterWorkerFlushed | MeterWorkerReconfigured | MeterWorkerQueried | MeterWorkerError;
