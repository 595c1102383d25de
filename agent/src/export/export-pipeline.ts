import type { FlowRecordSink } from '../flow/flow-record.js';

/** What the meter needs from the export side, whatever formats and transports are behind it. */
export interface ExportPipeline {
  /** Where the flow table sends records. */
  readonly sink: FlowRecordSink;
  /**
   * True when a transport's bounded send buffers are filling up: a replay pauses its reader and
   * drains. A bound function (cheap enough to ask after every packet).
   */
  readonly backlogged: () => boolean;
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
  destinations: { target: string; sent: number; dropped: number; errors: number; problem: string | null }[];
}
