/**
 * What every export format's message builder offers (IPFIX uni/biflow, NetFlow v9, NetFlow v5),
 * so the pipeline composes them the same way: records in, finished messages out to transports.
 */
import type { FlowRecordSink } from '../flow/flow-record.js';

/** Builder counters (snake_case `_total`). */
export interface MessageBuilderStats {
  messages_total: number;
  /** Data records encoded: flow records plus options data records (what sequence numbers count). */
  records_total: number;
  /** Of records_total, the options data records (exporter statistics, sampling). */
  options_records_total: number;
  octets_total: number;
  /** Messages that carried templates (IPFIX/v9). */
  template_sets_total: number;
}

export interface FlowMessageBuilder extends FlowRecordSink {
  readonly stats: Readonly<MessageBuilderStats>;
  /** The builder's clock (latest record end or caller time, ms since the epoch); -Infinity before any. */
  readonly lastTimeMs: number;
  /** Tell the builder the caller's time without flushing (drives template and statistics refresh). */
  observeTime(nowMs: number): void;
  /** Records the format cannot carry (NetFlow v5: IPv6 flows), counted and skipped. */
  readonly notExportable: number;
}

/** Packet sampling as the metering process applies it; announced by IPFIX/v9 options and the v5 header. */
export interface SamplingAnnouncement {
  /** 1:N; 1 means every packet (no sampling, nothing announced). */
  readonly interval: number;
  /** samplingAlgorithm values (IE 304 / v9 35): 1 deterministic (count-based), 2 random. */
  readonly algorithm: 'deterministic' | 'random';
}

/** Metering-process figures the IPFIX exporting-process statistics carry (RFC 7011 §4). */
export interface MeteringStatisticsSource {
  /** Packets the metering process did not account: malformed, ignored, dropped before the meter. */
  ignoredPackets(): number;
  /** Flows created since start. */
  observedFlows(): number;
}
