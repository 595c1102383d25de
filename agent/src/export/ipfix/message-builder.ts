/**
 * MTU-bounded IPFIX messages (RFC 7011 §3) built into one preallocated buffer and handed to the
 * transports. Idea from softflowd `ipfix.c` (fixed buffer, start a new message when a record does
 * not fit, periodic template refresh); sequence numbering follows RFC 7011 §3.1 with erratum 4396
 * (records sent *before* this message), which softflowd gets wrong.
 *
 * Layout of every message: 16-byte header; the Template Set (both templates) when templates are
 * due; then data sets, a new set each time the template changes. No padding is written: all set
 * lengths are multiples of 4 (see templates.ts).
 */
import { AgentError } from '../../core/errors.js';
import type { FlowRecord, FlowRecordSink } from '../../flow/flow-record.js';
import type { MessageTransport } from '../message-transport.js';
import { encodeFlowRecord } from './record-encoder.js';
import { IPV4_TEMPLATE, IPV6_TEMPLATE, TAPFLOW_TEMPLATE_SET, type IpfixTemplate } from './templates.js';

export const IPFIX_VERSION = 10;
export const MESSAGE_HEADER_BYTES = 16;
const SET_HEADER_BYTES = 4;
const DEFAULT_MTU_BYTES = 1_400;
const DEFAULT_TEMPLATE_REFRESH = { messages: 20, ms: 60_000 } as const;

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
  readonly mtuBytes?: number;
  readonly observationDomainId?: number;
  /** Periodic template refresh (UDP; default 20 messages / 60 s); null: first message only (files). */
  readonly templateRefresh?: TemplateRefresh | null;
  /** Sequence number of the first message (default 0); tests start near 2^32 to see the wrap. */
  readonly firstSequenceNumber?: number;
}

/** Builder counters (snake_case `_total`). */
export interface MessageBuilderStats {
  messages_total: number;
  records_total: number;
  octets_total: number;
  /** Messages that carried the Template Set. */
  template_sets_total: number;
}

export class IpfixMessageBuilder implements FlowRecordSink {
  readonly stats: MessageBuilderStats = { messages_total: 0, records_total: 0, octets_total: 0, template_sets_total: 0 };
  readonly mtuBytes: number;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly transports: readonly MessageTransport[];
  private readonly exportTimeSeconds: () => number;
  private readonly observationDomainId: number;
  private readonly refreshMessages: number;
  private readonly refreshMs: number;
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

  constructor(options: MessageBuilderOptions) {
    this.mtuBytes = options.mtuBytes ?? DEFAULT_MTU_BYTES;
    const largestRecord = Math.max(IPV4_TEMPLATE.recordLengthBytes, IPV6_TEMPLATE.recordLengthBytes);
    const smallestMtu = MESSAGE_HEADER_BYTES + TAPFLOW_TEMPLATE_SET.length + SET_HEADER_BYTES + largestRecord;
    if (!Number.isInteger(this.mtuBytes) || this.mtuBytes < smallestMtu || this.mtuBytes > 65_535) {
      throw new AgentError(
        'TAPFLOW_E_EXPORT_MTU',
        `IPFIX mtuBytes must be an integer in ${smallestMtu}..65535 (header + templates + one record), got ${this.mtuBytes}`,
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

  add(rec: FlowRecord): void {
    // Inline rather than a helper call: passing a large double to a non-inlined call would box it.
    const endMs = rec.endMs;
    if (endMs > this.clockMs) {
      if (this.templatesEverSent && this.templatesSentAtMs === Number.NEGATIVE_INFINITY) this.templatesSentAtMs = endMs;
      this.clockMs = endMs;
    }
    const template = rec.ipVersion === 6 ? IPV6_TEMPLATE : IPV4_TEMPLATE;
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

  /** Send the open message, if any; `nowMs` (caller's clock) drives the time-based template refresh. */
  flush(nowMs: number): void {
    this.observeTime(nowMs);
    if (this.offset !== 0) this.finishMessage();
  }

  /** Tell the builder the caller's time without flushing. */
  observeTime(nowMs: number): void {
    if (!(nowMs > this.clockMs)) return; // also ignores NaN
    // Templates sent before any time was known count as sent at the first time we learn.
    if (this.templatesEverSent && this.templatesSentAtMs === Number.NEGATIVE_INFINITY) this.templatesSentAtMs = nowMs;
    this.clockMs = nowMs;
  }

  private roomFor(template: IpfixTemplate): number {
    return template.recordLengthBytes + (this.setTemplateId === template.templateId ? 0 : SET_HEADER_BYTES);
  }

  private templatesDue(): boolean {
    if (!this.templatesEverSent) return true;
    if (this.messagesSinceTemplates >= this.refreshMessages) return true;
    // -Infinity (time still unknown) makes this NaN or -Infinity: not due.
    return this.clockMs - this.templatesSentAtMs >= this.refreshMs && this.templatesSentAtMs !== Number.NEGATIVE_INFINITY;
  }

  private beginMessage(): void {
    this.offset = MESSAGE_HEADER_BYTES;
    this.recordsInMessage = 0;
    this.setStart = -1;
    this.setTemplateId = -1;
    if (this.templatesDue()) {
      this.buf.set(TAPFLOW_TEMPLATE_SET, this.offset);
      this.offset += TAPFLOW_TEMPLATE_SET.length;
      this.templatesEverSent = true;
      this.messagesSinceTemplates = 0;
      this.templatesSentAtMs = this.clockMs;
      this.stats.template_sets_total++;
    }
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
    // Advance state before handing the bytes over, so a throwing file transport leaves us consistent.
    this.sequence = (this.sequence + this.recordsInMessage) >>> 0;
    this.messagesSinceTemplates++;
    this.stats.messages_total++;
    this.stats.records_total += this.recordsInMessage;
    this.stats.octets_total += length;
    this.offset = 0;
    for (let i = 0; i < this.transports.length; i++) this.transports[i]?.send(this.buf, length);
  }
}
