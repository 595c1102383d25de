import type { FlowRecordSink } from '../flow/flow-record.js';
import type { MeteringStatisticsSource } from './flow-message-builder.js';

/** What the meter needs from the export side, whatever formats and transports are behind it. */
export interface ExportPipeline {
  /** Where the flow table sends records. */
  readonly sink: FlowRecordSink;
  /**
   * True when a transport's bounded send buffers are filling up: a replay pauses its reader and
   * drains. A bound function (cheap enough to ask after every packet).
   */
  readonly backlogged: () => boolean;
  /**
   * Resolves once every collector's first connection attempt has settled (bounded by the connect
   * timeout), then makes the failover choice: call before the first packet.
   */
  ready(): Promise<void>;
  /** Resolves when nothing is in flight (replays await it between chunks: backpressure, not drops). */
  drain(): Promise<void>;
  /** Flushes and closes every transport. */
  close(): Promise<void>;
  /** Counters for the summary and health: messages, records, bytes, drops and errors per destination. */
  stats(): ExportStats;
  /** Where the IPFIX exporting-process statistics find the meter's figures (set once the meter exists). */
  useMeteringStatistics(source: MeteringStatisticsSource): void;
}

export interface DestinationStats {
  /** The collector in canonical form (`ipfix+udp://host:port`) or the IPFIX file's path. */
  target: string;
  format: 'ipfix' | 'nfv9' | 'nfv5';
  /** Messages handed to the transport (UDP: sent; TCP: queued or written; file: written). */
  sent: number;
  /** Messages and the flow records in them that never left (no buffer free, collector unreachable). */
  dropped: number;
  droppedRecords: number;
  errors: number;
  /** Why messages were lost, the latest reason; null if none. */
  problem: string | null;
  /** Failover: whether this destination currently receives the records (mirror: always true). */
  active: boolean;
}

export interface ExportStats {
  /** Of the first format's builder (every collector of one format gets the same messages). */
  messages: number;
  /** Flow records encoded, counted as the first format's builder counts them. */
  records: number;
  /** Options data records (exporter statistics, sampling) sent besides; sequence numbers count both. */
  optionsRecords: number;
  bytes: number;
  /** Records a format could not carry (NetFlow v5: IPv6 flows), summed over formats. */
  notExportable: number;
  destinations: DestinationStats[];
}
