import type { FlowRecordSink } from '../flow/flow-record.js';

/** What the meter needs from the export side, whatever formats and transports are behind it. */
export interface ExportPipeline {
  /** Where the flow table sends records. */
  readonly sink: FlowRecordSink;
  /** Resolves when nothing is in flight (replays await it between chunks: backpressure, not drops). */
  drain(): Promise<void>;
  /** Flushes and closes every transport. */
  close(): Promise<void>;
  /** Counters for the summary and health: messages, records, bytes, drops and errors per destination. */
  stats(): ExportStats;
}

export interface ExportStats {
  messages: number;
  records: number;
  bytes: number;
  destinations: { target: string; sent: number; dropped: number; errors: number }[];
}
