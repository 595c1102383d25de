/**
 * MTU-bounded IPFIX messages (RFC 7011 §3) built into one preallocated buffer and handed to the
 * transports. Idea from softflowd `ipfix.c` (fixed buffer, start a new message when a record does
 * not fit, periodic template refresh); sequence numbering follows RFC 7011 §3.1 with erratum 4396
 * (data records sent *before* this message, options data records included), which softflowd gets
 * wrong.
 *
 * Layout of every message: 16-byte header; the Template Set and Options Template Sets when
 * templates are due (never with templatesOnTransport: the transport sends templateMessage() at
 * each connection instead, RFC 7011 §10.4.2 for TCP); the options data records (exporter
 * statistics, sampling) when due; then flow data sets, a new set each time the template changes.
 * No set padding is needed: all record lengths are multiples of 4 (see templates.ts); options
 * template sets carry their own padding.
 */
import { AgentError } from '../../core/errors.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import type { FlowMessageBuilder, MessageBuilderStats, MeteringStatisticsSource, SamplingAnnouncement } from '../flow-message-builder.js';
import type { MessageTransport } from '../message-transport.js';
import {
  encodeSamplingRecord,
  encodeStatisticsRecord,
  readMetering,
  samplingTemplateFor,
  STATISTICS_TEMPLATE,
  type StatisticsValues,
} from './options-templates.js';
import { encodeFlowRecord } from './record-encoder.js';
import {
  BIFLOW_IPV4_TEMPLATE,
  BIFLOW_IPV6_TEMPLATE,
  BIFLOW_TEMPLATE_SET,
  encodeOptionsTemplateSets,
  IPV4_TEMPLATE,
  IPV6_TEMPLATE,
  TAPFLOW_TEMPLATE_SET,
  type IpfixTemplate,
} from './templates.js';

export type { MessageBuilderStats } from '../flow-message-builder.js';

export const IPFIX_VERSION = 10;
export const MESSAGE_HEADER_BYTES = 16;
const SET_HEADER_BYTES = 4;
const DEFAULT_MTU_BYTES = 1_400;
const DEFAULT_TEMPLATE_REFRESH = { messages: 20, ms: 60_000 } as const;
const DEFAULT_STATISTICS_INTERVAL_MS = 60_000;

export interface TemplateRefresh {
  /** Resend templates in the message after this many messages without them. */
  readonly messages: number;
  /** ...or once this long has passed since they were sent (caller's clock as given to flush, or later record end times). */
  readonly ms: number;
}

export interface MessageBuilderOptions {
  readonly transports: readonly MessageTransport[];
  /** Export Time of the header; inject a constant to make replays byte-identical. */
  readonly exportTimeSeconds: () => number;
  /** Largest message, header included (default 1400). */
  readonly mtuBytes?: number | undefined;
  readonly observationDomainId?: number | undefined;
  /** Periodic template refresh (UDP; default 20 messages / 60 s); null: first message only (files). */
  readonly templateRefresh?: TemplateRefresh | null | undefined;
  /**
   * TCP: never write templates into messages; the transport sends templateMessage(seq) at each
   * connection (templateRefresh is then ignored). Default false.
   */
  readonly templatesOnTransport?: boolean | undefined;
  /** Sequence number of the first message (default 0); tests start near 2^32 to see the wrap. */
  readonly firstSequenceNumber?: number | undefined;
  /** RFC 5103 biflow records (templates 258/259, reverse elements); default false: uniflow 256/257. */
  readonly biflow?: boolean | undefined;
  /** Send the exporting-process statistics options record (template 260); default false. */
  readonly exporterStatistics?: boolean | undefined;
  /** How often the options data records (statistics, sampling) are re-sent, builder clock (default 60 s). */
  readonly statisticsIntervalMs?: number | undefined;
  /** Observed-flow and ignored-packet totals for the statistics record (0s without). */
  readonly meteringStatistics?: MeteringStatisticsSource | undefined;
  /** Packet sampling to announce (options template 261/262) when its interval is > 1. */
  readonly sampling?: SamplingAnnouncement | null | undefined;
}

export class IpfixMessageBuilder implements FlowMessageBuilder {
  readonly stats: MessageBuilderStats = { messages_total: 0, records_total: 0, octets_total: 0, template_sets_total: 0 };
  /** IPFIX carries IPv4 and IPv6 flows alike: nothing is ever skipped. */
  readonly notExportable = 0;
  readonly mtuBytes: number;
  readonly biflow: boolean;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly transports: readonly MessageTransport[];
  private readonly exportTimeSeconds: () => number;
  private readonly observationDomainId: number;
  private readonly refreshMessages: number;
  private readonly refreshMs: number;
  private readonly ipv4Template: IpfixTemplate;
  private readonly ipv6Template: IpfixTemplate;
  /** Template Set + Options Template Sets, as written into messages and templateMessage(). */
  private readonly templateBytes: Uint8Array;
  private readonly templatesInMessages: boolean;
  private readonly statisticsEnabled: boolean;
  private readonly samplingTemplate: IpfixTemplate | null;
  private readonly samplingInterval: number;
  private readonly meteringStatistics: MeteringStatisticsSource | undefined;
  private readonly optionsIntervalMs: number;
  private readonly statisticsValues: StatisticsValues = { messages: 0, records: 0, octets: 0, observedFlows: 0, ignoredPackets: 0, timeMs: 0 };
  private sequence: number;
  /** Write position; 0 when no message is open. */
  private offset = 0;
  private recordsInMessage = 0;
  private setStart = -1;
  private setTemplateId = -1;
  private templatesEverSent = false;
  private messagesSinceTemplates = 0;
  /**
   * The session clock: the latest of the caller's time (flush / observeTime) and the end time of
   * any record added (a flow cannot end after "now"), so messages completed inside add() still get
   * a current time. Never goes backwards; -Infinity until anything is known.
   */
  private clockMs = Number.NEGATIVE_INFINITY;
  /** Clock when templates were last sent; -Infinity when sent before the clock was known. */
  private templatesSentAtMs = Number.NEGATIVE_INFINITY;
  private optionsEverSent = false;
  /** Clock when the options data records were last sent; -Infinity as for templatesSentAtMs. */
  private optionsSentAtMs = Number.NEGATIVE_INFINITY;
  /** A new transport session (templateMessage) needs the options data records again. */
  private optionsRequested = false;

  constructor(options: MessageBuilderOptions) {
    this.mtuBytes = options.mtuBytes ?? DEFAULT_MTU_BYTES;
    this.biflow = options.biflow === true;
    this.ipv4Template = this.biflow ? BIFLOW_IPV4_TEMPLATE : IPV4_TEMPLATE;
    this.ipv6Template = this.biflow ? BIFLOW_IPV6_TEMPLATE : IPV6_TEMPLATE;
    this.statisticsEnabled = options.exporterStatistics === true;
    this.samplingTemplate = samplingTemplateFor(options.sampling);
    this.samplingInterval = options.sampling?.interval ?? 1;
    this.meteringStatistics = options.meteringStatistics;
    this.optionsIntervalMs = options.statisticsIntervalMs ?? DEFAULT_STATISTICS_INTERVAL_MS;
    if (!(this.optionsIntervalMs > 0)) throw new RangeError(`statisticsIntervalMs must be > 0, got ${this.optionsIntervalMs}`);
    const optionsTemplates: IpfixTemplate[] = [];
    if (this.statisticsEnabled) optionsTemplates.push(STATISTICS_TEMPLATE);
    if (this.samplingTemplate !== null) optionsTemplates.push(this.samplingTemplate);
    const templateSet = this.biflow ? BIFLOW_TEMPLATE_SET : TAPFLOW_TEMPLATE_SET;
    this.templateBytes = optionsTemplates.length === 0 ? templateSet : concat(templateSet, encodeOptionsTemplateSets(optionsTemplates));
    this.templatesInMessages = options.templatesOnTransport !== true;

    const largestRecord = Math.max(this.ipv4Template.recordLengthBytes, this.ipv6Template.recordLengthBytes);
    const smallestMtu =
      MESSAGE_HEADER_BYTES + (this.templatesInMessages ? this.templateBytes.length : 0) + this.optionsDataBytes() + SET_HEADER_BYTES + largestRecord;
    if (!Number.isInteger(this.mtuBytes) || this.mtuBytes < smallestMtu || this.mtuBytes > 65_535) {
      throw new AgentError(
        'TAPFLOW_E_EXPORT_MTU',
        `IPFIX mtuBytes must be an integer in ${smallestMtu}..65535 (header + templates + options records + one record), got ${this.mtuBytes}`,
      );
    }
    const refresh = options.templateRefresh === undefined ? DEFAULT_TEMPLATE_REFRESH : options.templateRefresh;
    this.refreshMessages = refresh === null ? Number.POSITIVE_INFINITY : refresh.messages;
    this.refreshMs = refresh === null ? Number.POSITIVE_INFINITY : refresh.ms;
    this.buf = new Uint8Array(this.mtuBytes);
    this.view = new DataView(this.buf.buffer);
    this.transports = options.transports;
    this.exportTimeSeconds = options.exportTimeSeconds;
    this.observationDomainId = (options.observationDomainId ?? 1) >>> 0;
    this.sequence = (options.firstSequenceNumber ?? 0) >>> 0;
  }

  /** The session clock (see clockMs), -Infinity before anything is known; for "packet" export times. */
  get lastTimeMs(): number {
    return this.clockMs;
  }

  /** Sequence number the next message will carry. */
  get nextSequenceNumber(): number {
    return this.sequence;
  }

  /**
   * A standalone message with every template (data and options) and no data records, carrying
   * `sequenceNumber`: what a TCP transport sends first on each connection (templatesOnTransport).
   * Allocates; the options data records go into the next data message.
   */
  templateMessage(sequenceNumber: number): Uint8Array {
    const length = MESSAGE_HEADER_BYTES + this.templateBytes.length;
    const bytes = new Uint8Array(length);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, IPFIX_VERSION);
    view.setUint16(2, length);
    view.setUint32(4, this.exportTimeSeconds());
    view.setUint32(8, sequenceNumber >>> 0);
    view.setUint32(12, this.observationDomainId);
    bytes.set(this.templateBytes, MESSAGE_HEADER_BYTES);
    if (this.hasOptionsData()) this.optionsRequested = true;
    return bytes;
  }

  add(rec: FlowRecord): void {
    // Inline rather than a helper call: passing a large double to a non-inlined call would box it.
    let endMs = rec.endMs;
    if (this.biflow && rec.reversePackets > 0) {
      const reverseEndMs = rec.reverseEndMs;
      if (reverseEndMs > endMs) endMs = reverseEndMs;
    }
    if (endMs > this.clockMs) {
      if (this.templatesEverSent && this.templatesSentAtMs === Number.NEGATIVE_INFINITY) this.templatesSentAtMs = endMs;
      if (this.optionsEverSent && this.optionsSentAtMs === Number.NEGATIVE_INFINITY) this.optionsSentAtMs = endMs;
      this.clockMs = endMs;
    }
    const template = rec.ipVersion === 6 ? this.ipv6Template : this.ipv4Template;
    if (this.offset === 0) {
      this.beginMessage();
    } else if (this.offset + this.roomFor(template) > this.mtuBytes) {
      this.finishMessage();
      this.beginMessage();
    }
    if (this.setTemplateId !== template.templateId) this.openSet(template.templateId);
    this.offset = encodeFlowRecord(this.buf, this.offset, rec, template);
    this.recordsInMessage++;
  }

  /**
   * Send the open message, if any; `nowMs` (caller's clock) drives the time-based template and
   * options refresh. With nothing open but options records due, sends a message of its own, so an
   * idle exporter still reports its statistics.
   */
  flush(nowMs: number): void {
    this.observeTime(nowMs);
    if (this.offset === 0 && this.hasOptionsData() && this.optionsDue()) this.beginMessage();
    if (this.offset !== 0) this.finishMessage();
  }

  /** Tell the builder the caller's time without flushing. */
  observeTime(nowMs: number): void {
    if (!(nowMs > this.clockMs)) return; // also ignores NaN
    // Templates sent before any time was known count as sent at the first time we learn.
    if (this.templatesEverSent && this.templatesSentAtMs === Number.NEGATIVE_INFINITY) this.templatesSentAtMs = nowMs;
    if (this.optionsEverSent && this.optionsSentAtMs === Number.NEGATIVE_INFINITY) this.optionsSentAtMs = nowMs;
    this.clockMs = nowMs;
  }

  private hasOptionsData(): boolean {
    return this.statisticsEnabled || this.samplingTemplate !== null;
  }

  /** Bytes the options data sets take in a message that carries them. */
  private optionsDataBytes(): number {
    let bytes = 0;
    if (this.statisticsEnabled) bytes += SET_HEADER_BYTES + STATISTICS_TEMPLATE.recordLengthBytes;
    if (this.samplingTemplate !== null) bytes += SET_HEADER_BYTES + this.samplingTemplate.recordLengthBytes;
    return bytes;
  }

  private roomFor(template: IpfixTemplate): number {
    return template.recordLengthBytes + (this.setTemplateId === template.templateId ? 0 : SET_HEADER_BYTES);
  }

  private templatesDue(): boolean {
    if (!this.templatesInMessages) return false;
    if (!this.templatesEverSent) return true;
    if (this.messagesSinceTemplates >= this.refreshMessages) return true;
    // -Infinity (time still unknown) makes this NaN or -Infinity: not due.
    return this.clockMs - this.templatesSentAtMs >= this.refreshMs && this.templatesSentAtMs !== Number.NEGATIVE_INFINITY;
  }

  private optionsDue(): boolean {
    if (!this.optionsEverSent || this.optionsRequested) return true;
    return this.clockMs - this.optionsSentAtMs >= this.optionsIntervalMs && this.optionsSentAtMs !== Number.NEGATIVE_INFINITY;
  }

  private beginMessage(): void {
    this.offset = MESSAGE_HEADER_BYTES;
    this.recordsInMessage = 0;
    this.setStart = -1;
    this.setTemplateId = -1;
    const withTemplates = this.templatesDue();
    if (withTemplates) {
      this.buf.set(this.templateBytes, this.offset);
      this.offset += this.templateBytes.length;
      this.templatesEverSent = true;
      this.messagesSinceTemplates = 0;
      this.templatesSentAtMs = this.clockMs;
      this.stats.template_sets_total++;
    }
    // Options records go with every template (re)send, and on their own interval.
    if (this.hasOptionsData() && (withTemplates || this.optionsDue())) this.writeOptionsRecords();
  }

  /** Options data sets, each complete (header + one record); they are data records for the sequence number. */
  private writeOptionsRecords(): void {
    const view = this.view;
    if (this.statisticsEnabled) {
      const values = this.statisticsValues;
      // Totals of the messages sent *before* this one (this one is not finished yet).
      values.messages = this.stats.messages_total;
      values.records = this.stats.records_total;
      values.octets = this.stats.octets_total;
      readMetering(this.meteringStatistics, values);
      values.timeMs = this.clockMs > 0 ? Math.floor(this.clockMs) : 0;
      view.setUint16(this.offset, STATISTICS_TEMPLATE.templateId);
      view.setUint16(this.offset + 2, SET_HEADER_BYTES + STATISTICS_TEMPLATE.recordLengthBytes);
      this.offset = encodeStatisticsRecord(view, this.offset + SET_HEADER_BYTES, this.observationDomainId, values);
      this.recordsInMessage++;
    }
    const sampling = this.samplingTemplate;
    if (sampling !== null) {
      view.setUint16(this.offset, sampling.templateId);
      view.setUint16(this.offset + 2, SET_HEADER_BYTES + sampling.recordLengthBytes);
      this.offset = encodeSamplingRecord(view, this.offset + SET_HEADER_BYTES, sampling, this.observationDomainId, this.samplingInterval);
      this.recordsInMessage++;
    }
    this.optionsEverSent = true;
    this.optionsRequested = false;
    this.optionsSentAtMs = this.clockMs;
  }

  private openSet(templateId: number): void {
    this.closeSet();
    this.setStart = this.offset;
    this.setTemplateId = templateId;
    this.view.setUint16(this.offset, templateId);
    this.offset += SET_HEADER_BYTES;
  }

  private closeSet(): void {
    if (this.setStart >= 0) this.view.setUint16(this.setStart + 2, this.offset - this.setStart);
  }

  private finishMessage(): void {
    this.closeSet();
    const length = this.offset;
    this.view.setUint16(0, IPFIX_VERSION);
    this.view.setUint16(2, length);
    this.view.setUint32(4, this.exportTimeSeconds());
    this.view.setUint32(8, this.sequence);
    this.view.setUint32(12, this.observationDomainId);
    const records = this.recordsInMessage;
    // Advance state before handing the bytes over, so a throwing file transport leaves us consistent.
    this.sequence = (this.sequence + records) >>> 0;
    this.messagesSinceTemplates++;
    this.stats.messages_total++;
    this.stats.records_total += records;
    this.stats.octets_total += length;
    this.offset = 0;
    for (let i = 0; i < this.transports.length; i++) this.transports[i]?.send(this.buf, length, records);
  }
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(first.length + second.length);
  bytes.set(first, 0);
  bytes.set(second, first.length);
  return bytes;
}
