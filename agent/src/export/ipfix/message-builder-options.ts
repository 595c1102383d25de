/**
 * Options of the IPFIX message builder (message-builder.ts): where the messages go, how templates
 * are sent (refresh / once / on the transport), biflow records, and the options records
 * (exporting-process statistics, sampling announcement). Types only.
 */
import type { MeteringStatisticsSource, SamplingAnnouncement } from '../flow-message-builder.js';
import type { MessageTransport } from '../message-transport.js';

export interface TemplateRefresh {
  /** Resend templates in the message after this many messages without them. */
  readonly messages: number;
  /** ...or once this long has passed since they were sent (caller's clock as given to flush, or later record end times). */
  readonly ms: number;
}

/**
 * Where templates go. 'refresh': into the first message and again per templateRefresh (UDP);
 * 'once': the first message only (files); 'transport': never into messages, the transport sends
 * templateMessage(seq) at each connection (TCP/TLS).
 */
export type TemplateMode = 'refresh' | 'once' | 'transport';

export interface MessageBuilderOptions {
  readonly transports: readonly MessageTransport[];
  /** Export Time of the header; inject a constant to make replays byte-identical. */
  readonly exportTimeSeconds: () => number;
  /** Largest message, header included (default 1400). */
  readonly mtuBytes?: number | undefined;
  readonly observationDomainId?: number | undefined;
  /** Default 'refresh', or 'once' when templateRefresh is null. */
  readonly templateMode?: TemplateMode | undefined;
  /** Periodic template refresh of mode 'refresh' (default 20 messages / 60 s); null: mode 'once'. */
  readonly templateRefresh?: TemplateRefresh | null | undefined;
  /** Sequence number of the first message (default 0); tests start near 2^32 to see the wrap. */
  readonly firstSequenceNumber?: number | undefined;
  /** RFC 5103 biflow records (templates 258/259, reverse elements); default false: uniflow 256/257. */
  readonly biflow?: boolean | undefined;
  /**
   * TCP flows on the connection templates (metrics, outcome, hints) and DNS flows on the DNS
   * templates (flow-templates.ts); default false: classic templates only. The agent's
   * configuration turns it on (ipfix.connectionFields).
   */
  readonly connectionFields?: boolean | undefined;
  /** PEN of tapflow's own elements (default 32473, RFC 5612's documentation PEN). */
  readonly enterpriseNumber?: number | undefined;
  /** Longest hint text exported (default 254): the flow table's hint buffers, which bound the record length. */
  readonly maxHintTextBytes?: number | undefined;
  /**
   * Send the exporting-process statistics options record (template 260). Default: on when
   * meteringStatistics or statisticsIntervalMs is given, else off (plain exports stay as they were).
   */
  readonly exporterStatistics?: boolean | undefined;
  /** How often the options data records (statistics, sampling) are re-sent, builder clock (default 60 s). */
  readonly statisticsIntervalMs?: number | undefined;
  /** Observed-flow and ignored-packet totals for the statistics record (0s when absent). */
  readonly meteringStatistics?: MeteringStatisticsSource | undefined;
  /** Packet sampling to announce (options template 261/262) when its interval is > 1. */
  readonly sampling?: SamplingAnnouncement | null | undefined;
}
