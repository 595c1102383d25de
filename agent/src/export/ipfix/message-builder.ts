/**
 * MTU-bounded IPFIX messages (RFC 7011 §3) built into one preallocated buffer and handed to the
 * transports. Idea from softflowd `ipfix.c` (fixed buffer, start a new message when a record does
 * not fit, periodic template refresh); sequence numbering follows RFC 7011 §3.1 with erratum 4396
 * (data records sent *before* this message, options data records included), which softflowd gets
 * wrong.
 *
 * Layout of every message: 16-byte header; the Template Set and Options Template Sets when
 * templates are due (never in templateMode 'transport': the stream transport sends
 * templateMessage() at each connection instead, RFC 7011 §8, §10.4); the options data records (exporter
 * statistics, sampling) when due; then flow data sets, a new set each time the template changes.
 * Sets of fixed-length records need no padding (their lengths are multiples of 4, see
 * templates.ts); sets of variable-length records (flow-templates.ts) are padded to 4 bytes.
 * Options template sets carry their own padding. When all templates do not fit one message
 * with data, they go in messages of their own just before it (pieces of whole sets).
 */
import { AgentError } from '../../core/errors.js';
import { HINT_TEXT_MAX_BYTES } from '../../flow/flow-record.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import type { FlowMessageBuilder, MessageBuilderStats, MeteringStatisticsSource } from '../flow-message-builder.js';
import type { MessageTransport } from '../message-transport.js';
import { paddingTo4 } from '../set-padding.js';
import type { MessageBuilderOptions } from './message-builder-options.js';
import { countOrZero, encodeSamplingDataSet, samplingTemplateFor, STATISTICS_TEMPLATE } from './options-templates.js';
import { flowTemplates, templateFor, type FlowTemplates } from './flow-templates.js';
import { encodeFlowRecord } from './record-encoder.js';
import { DEFAULT_TAPFLOW_PEN } from './tapflow-elements.js';
import { encodeOptionsTemplateSets, encodeTemplateSet, type IpfixTemplate } from './templates.js';

export type { MessageBuilderStats } from '../flow-message-builder.js';
export type { MessageBuilderOptions, TemplateMode, TemplateRefresh } from './message-builder-options.js';

export const IPFIX_VERSION = 10;
export const MESSAGE_HEADER_BYTES = 16;
const SET_HEADER_BYTES = 4;
/** A data set of variable-length records ends with up to 3 padding bytes. */
const MAX_SET_PADDING_BYTES = 3;
const DEFAULT_MTU_BYTES = 1_400;
const DEFAULT_TEMPLATE_REFRESH = { messages: 20, ms: 60_000 } as const;
const DEFAULT_STATISTICS_INTERVAL_MS = 60_000;
const TWO_POW_32 = 4_294_967_296;

export class IpfixMessageBuilder implements FlowMessageBuilder {
  readonly stats: MessageBuilderStats = { messages_total: 0, records_total: 0, octets_total: 0, options_records_total: 0, template_sets_total: 0 };
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
  private readonly templates: FlowTemplates;
  /** Template Set + Options Template Sets, as written into templateMessage(). */
  private readonly templateBytes: Uint8Array;
  /**
   * The same, cut into whole sets that each fit a message with no data: when every template does
   * not fit one message with the options records and a record, all but the last piece go out in
   * messages of their own, just before the message that starts with the last piece.
   */
  private readonly templatePieces: readonly Uint8Array[];
  /** All pieces but the last as whole messages (header filled in at send), built once. */
  private readonly templateOnlyMessages: readonly Uint8Array[];
  private readonly templateOnlyViews: readonly DataView[];
  private readonly templatesInMessages: boolean;
  private readonly statisticsEnabled: boolean;
  private readonly samplingTemplate: IpfixTemplate | null;
  /** The sampling options Data Set, encoded once (empty without sampling). */
  private readonly samplingDataSet: Uint8Array;
  private readonly meteringStatistics: MeteringStatisticsSource | undefined;
  private readonly optionsIntervalMs: number;
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
    this.templates = flowTemplates({
      biflow: this.biflow,
      enterpriseNumber: options.enterpriseNumber ?? DEFAULT_TAPFLOW_PEN,
      connectionFields: options.connectionFields === true,
      maxHintTextBytes: options.maxHintTextBytes ?? HINT_TEXT_MAX_BYTES,
    });
    this.statisticsEnabled =
      options.exporterStatistics ?? (options.meteringStatistics !== undefined || options.statisticsIntervalMs !== undefined);
    this.observationDomainId = (options.observationDomainId ?? 1) >>> 0;
    this.samplingTemplate = samplingTemplateFor(options.sampling);
    this.samplingDataSet =
      this.samplingTemplate === null ? new Uint8Array(0) : encodeSamplingDataSet(this.samplingTemplate, this.observationDomainId, options.sampling?.interval ?? 1);
    this.meteringStatistics = options.meteringStatistics;
    this.optionsIntervalMs = options.statisticsIntervalMs ?? DEFAULT_STATISTICS_INTERVAL_MS;
    if (!(this.optionsIntervalMs > 0)) throw new RangeError(`statisticsIntervalMs must be > 0, got ${this.optionsIntervalMs}`);
    const optionsTemplates: IpfixTemplate[] = [];
    if (this.statisticsEnabled) optionsTemplates.push(STATISTICS_TEMPLATE);
    if (this.samplingTemplate !== null) optionsTemplates.push(this.samplingTemplate);
    const templateSet = encodeTemplateSet(this.templates.all);
    const optionsSets = optionsTemplates.length === 0 ? new Uint8Array(0) : encodeOptionsTemplateSets(optionsTemplates);
    this.templateBytes = concat(templateSet, optionsSets);
    const templateMode = options.templateMode ?? (options.templateRefresh === null ? 'once' : 'refresh');
    this.templatesInMessages = templateMode !== 'transport';

    const largestRecord = Math.max(...this.templates.all.map((template) => template.maxRecordLengthBytes));
    const dataBytes = this.optionsDataBytes() + SET_HEADER_BYTES + largestRecord + MAX_SET_PADDING_BYTES;
    const sets = [...this.templates.all.map((template) => encodeTemplateSet([template])), ...(optionsSets.length === 0 ? [] : [optionsSets])];
    this.templatePieces = templatePieces(this.templateBytes, sets, this.mtuBytes - MESSAGE_HEADER_BYTES, dataBytes);
    this.templateOnlyMessages = this.templatePieces.slice(0, -1).map((piece) => {
      const bytes = new Uint8Array(MESSAGE_HEADER_BYTES + piece.length);
      const view = new DataView(bytes.buffer);
      view.setUint16(0, IPFIX_VERSION);
      view.setUint16(2, bytes.length);
      view.setUint32(12, this.observationDomainId);
      bytes.set(piece, MESSAGE_HEADER_BYTES);
      return bytes;
    });
    this.templateOnlyViews = this.templateOnlyMessages.map((bytes) => new DataView(bytes.buffer));
    const largestSet = Math.max(...sets.map((set) => set.length));
    const smallestMtu = MESSAGE_HEADER_BYTES + (this.templatesInMessages ? Math.max(largestSet, dataBytes) : dataBytes);
    if (!Number.isInteger(this.mtuBytes) || this.mtuBytes < smallestMtu || this.mtuBytes > 65_535) {
      throw new AgentError(
        'TAPFLOW_E_EXPORT_MTU',
        `IPFIX mtuBytes must be an integer in ${smallestMtu}..65535 (header + templates + options records + one record), got ${this.mtuBytes}`,
      );
    }
    const refresh = templateMode !== 'refresh' ? null : (options.templateRefresh ?? DEFAULT_TEMPLATE_REFRESH);
    this.refreshMessages = refresh === null ? Number.POSITIVE_INFINITY : refresh.messages;
    this.refreshMs = refresh === null ? Number.POSITIVE_INFINITY : refresh.ms;
    this.buf = new Uint8Array(this.mtuBytes);
    this.view = new DataView(this.buf.buffer);
    this.transports = options.transports;
    this.exportTimeSeconds = options.exportTimeSeconds;
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
   * `sequenceNumber`: what a stream transport sends first on each connection (templateMode
   * 'transport'). Built fresh each call (connections are rare); the options data records go into
   * the next data message, since the new session has not seen them.
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
    // A TCP closing record (no packets, see FlowTable.emitRecords) is for the summary only.
    if (rec.packets === 0 && rec.reversePackets === 0) return;
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
    const template = templateFor(this.templates, rec);
    if (this.offset === 0) {
      this.beginMessage();
    } else if (this.offset + this.roomFor(template) > this.mtuBytes) {
      this.finishMessage();
      this.beginMessage();
    }
    if (this.setTemplateId !== template.templateId) this.openSet(template.templateId);
    this.offset = encodeFlowRecord(this.view, this.offset, rec, template);
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
    return (this.statisticsEnabled ? SET_HEADER_BYTES + STATISTICS_TEMPLATE.recordLengthBytes : 0) + this.samplingDataSet.length;
  }

  /** Room for the longest record of `template`, a set header if a new set starts, and the set's padding. */
  private roomFor(template: IpfixTemplate): number {
    return template.maxRecordLengthBytes + (this.setTemplateId === template.templateId ? 0 : SET_HEADER_BYTES) + MAX_SET_PADDING_BYTES;
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
      const pieces = this.templatePieces;
      for (let i = 0; i < pieces.length - 1; i++) this.sendTemplatesOnly(i);
      const last = pieces[pieces.length - 1]!;
      this.buf.set(last, this.offset);
      this.offset += last.length;
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
    if (this.statisticsEnabled) this.writeStatisticsRecord();
    if (this.samplingDataSet.length !== 0) {
      this.buf.set(this.samplingDataSet, this.offset);
      this.offset += this.samplingDataSet.length;
      this.recordsInMessage++;
      this.stats.options_records_total++;
    }
    this.optionsEverSent = true;
    this.optionsRequested = false;
    this.optionsSentAtMs = this.clockMs;
  }

  /**
   * The STATISTICS_TEMPLATE record, fields in template order. Totals are those of the messages
   * sent *before* this one (this one is not finished yet). DataView setters with locals only:
   * this runs with every template refresh, so it must not box numbers either.
   */
  private writeStatisticsRecord(): void {
    const view = this.view;
    const at = this.offset + SET_HEADER_BYTES;
    const source = this.meteringStatistics;
    const messages = this.stats.messages_total;
    const records = this.stats.records_total;
    const octets = this.stats.octets_total;
    const observedFlows = source === undefined ? 0 : countOrZero(source.observedFlows());
    const ignoredPackets = source === undefined ? 0 : countOrZero(source.ignoredPackets());
    const timeMs = this.clockMs > 0 ? Math.floor(this.clockMs) : 0;
    view.setUint16(this.offset, STATISTICS_TEMPLATE.templateId);
    view.setUint16(this.offset + 2, SET_HEADER_BYTES + STATISTICS_TEMPLATE.recordLengthBytes);
    view.setUint32(at, this.observationDomainId);
    view.setUint32(at + 4, messages / TWO_POW_32);
    view.setUint32(at + 8, messages % TWO_POW_32);
    view.setUint32(at + 12, records / TWO_POW_32);
    view.setUint32(at + 16, records % TWO_POW_32);
    view.setUint32(at + 20, octets / TWO_POW_32);
    view.setUint32(at + 24, octets % TWO_POW_32);
    view.setUint32(at + 28, observedFlows / TWO_POW_32);
    view.setUint32(at + 32, observedFlows % TWO_POW_32);
    view.setUint32(at + 36, ignoredPackets / TWO_POW_32);
    view.setUint32(at + 40, ignoredPackets % TWO_POW_32);
    view.setUint32(at + 44, timeMs / TWO_POW_32);
    view.setUint32(at + 48, timeMs % TWO_POW_32);
    this.offset = at + STATISTICS_TEMPLATE.recordLengthBytes;
    this.recordsInMessage++;
    this.stats.options_records_total++;
  }

  private openSet(templateId: number): void {
    this.closeSet();
    this.setStart = this.offset;
    this.setTemplateId = templateId;
    this.view.setUint16(this.offset, templateId);
    this.offset += SET_HEADER_BYTES;
  }

  /** Ends the open data set, padded to 4 bytes (RFC 7011 §3.3.1): variable-length records may leave it unaligned. */
  private closeSet(): void {
    if (this.setStart < 0) return;
    const padding = paddingTo4(this.offset - this.setStart);
    for (let i = 0; i < padding; i++) this.buf[this.offset++] = 0;
    this.view.setUint16(this.setStart + 2, this.offset - this.setStart);
  }

  /**
   * A message holding one piece of the templates and no data records, sent at once (same
   * sequence number as the message that follows: it carries no data records). Only when the
   * templates do not fit one message; the messages are built once, only times and sequence change.
   */
  private sendTemplatesOnly(index: number): void {
    const bytes = this.templateOnlyMessages[index]!;
    const view = this.templateOnlyViews[index]!;
    const length = bytes.length;
    view.setUint32(4, this.exportTimeSeconds());
    view.setUint32(8, this.sequence);
    this.stats.messages_total++;
    this.stats.octets_total += length;
    for (let i = 0; i < this.transports.length; i++) this.transports[i]?.send(bytes, length, 0);
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

/**
 * How templates travel in messages of `room` bytes after the header. All of them with the first
 * data when they fit (one Template Set, the common case); otherwise whole sets packed greedily
 * into pieces, the last one riding with the data if there is room for `dataBytes` beside it, else
 * followed by an empty piece (the data message then starts with no templates).
 */
function templatePieces(all: Uint8Array, sets: readonly Uint8Array[], room: number, dataBytes: number): Uint8Array[] {
  if (all.length + dataBytes <= room) return [all];
  const pieces: Uint8Array[] = [];
  let current: Uint8Array = new Uint8Array(0);
  for (const set of sets) {
    if (current.length > 0 && current.length + set.length > room) {
      pieces.push(current);
      current = new Uint8Array(0);
    }
    current = concat(current, set);
  }
  pieces.push(current);
  if (current.length + dataBytes > room) pieces.push(new Uint8Array(0));
  return pieces;
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(first.length + second.length);
  bytes.set(first, 0);
  bytes.set(second, first.length);
  return bytes;
}
