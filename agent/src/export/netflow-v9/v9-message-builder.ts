/**
 * MTU-bounded NetFlow v9 export packets (RFC 3954) built into one preallocated buffer and handed to
 * the transports; the v9 sibling of ipfix/message-builder.ts (same clock, refresh and MTU logic).
 * Idea from softflowd `netflow9.c` (fixed buffer, periodic template resend).
 *
 * Layout of every packet: 20-byte header; when templates are due, the Template FlowSet (both
 * templates) and, if sampling is announced, the Options Template FlowSet and its options data
 * record; then data FlowSets, a new one each time the template changes, each padded to 4 bytes.
 *
 * Header (RFC 3954 §5.1): Count = every record in the packet (template, options template, options
 * data and flow records); Package Sequence = export packets sent before this one (tshark checks it);
 * sysUptime / UNIX Secs from the builder clock (see sys-uptime-clock.ts).
 */
import { AgentError } from '../../core/errors.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import type { FlowMessageBuilder, MessageBuilderStats, SamplingAnnouncement } from '../flow-message-builder.js';
import type { MessageTransport } from '../message-transport.js';
import { paddingTo4 } from '../set-padding.js';
import { NOW_CELL, SysUptimeClock } from '../sys-uptime-clock.js';
import { encodeFlowRecord } from '../ipfix/record-encoder.js';
import {
  encodeSamplingOptionsDataFlowSet,
  FLOWSET_HEADER_BYTES,
  V9_HEADER_BYTES,
  V9_IPV4_TEMPLATE,
  V9_IPV6_TEMPLATE,
  V9_SAMPLING_OPTIONS_TEMPLATE_FLOWSET,
  V9_TEMPLATE_FLOWSET,
  V9_TEMPLATE_RECORDS,
  V9_VERSION,
  type V9Template,
} from './v9-templates.js';

const DEFAULT_MTU_BYTES = 1_400;
const DEFAULT_TEMPLATE_REFRESH = { messages: 20, ms: 60_000 } as const;
/** The last data FlowSet is padded to 4 bytes when the packet is finished: keep room for it. */
const MAX_PADDING_BYTES = 3;

export interface NetflowV9BuilderOptions {
  readonly transports: readonly MessageTransport[];
  /** Largest packet, header included (default 1400). */
  readonly mtuBytes?: number;
  /** Header Source ID: the observation domain (default 1). */
  readonly sourceId?: number;
  /** Resend templates after this many packets without them or this long (builder clock); default 20 / 60 s; null: first packet only. */
  readonly templateRefresh?: { readonly messages: number; readonly ms: number } | null;
  /** Packet sampling of the meter; interval > 1 is announced by an options record (SAMPLING_INTERVAL 34, SAMPLING_ALGORITHM 35). */
  readonly sampling?: SamplingAnnouncement | null;
  /** Package Sequence of the first packet (default 0); tests start near 2^32 to see the wrap. */
  readonly firstSequenceNumber?: number;
}

export class NetflowV9MessageBuilder implements FlowMessageBuilder {
  readonly stats: MessageBuilderStats = { messages_total: 0, records_total: 0, octets_total: 0, options_records_total: 0, template_sets_total: 0 };
  /** v9 carries IPv4 and IPv6: nothing is refused. */
  readonly notExportable = 0;
  readonly mtuBytes: number;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly transports: readonly MessageTransport[];
  private readonly sourceId: number;
  private readonly refreshMessages: number;
  private readonly refreshMs: number;
  /** Options data FlowSet announcing sampling, or null when nothing is sampled. */
  private readonly samplingDataFlowSet: Uint8Array | null;
  private readonly uptime = new SysUptimeClock();
  private sequence: number;
  /** Write position; 0 when no packet is open. */
  private offset = 0;
  /** Records of every kind in the open packet (header Count). */
  private recordsInPacket = 0;
  /** Flow and options data records in the open packet (what a transport loses if it drops it). */
  private dataRecordsInPacket = 0;
  private setStart = -1;
  private setTemplateId = -1;
  private templatesEverSent = false;
  private messagesSinceTemplates = 0;
  /** Clock when templates were last sent; -Infinity when sent before the clock was known. */
  private templatesSentAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: NetflowV9BuilderOptions) {
    this.mtuBytes = options.mtuBytes ?? DEFAULT_MTU_BYTES;
    const sampling = options.sampling ?? null;
    if (sampling !== null && (!Number.isInteger(sampling.interval) || sampling.interval < 1 || sampling.interval > 0xffff_ffff)) {
      throw new AgentError('TAPFLOW_E_EXPORT_SAMPLING', `NetFlow v9 sampling interval must be an integer in 1..4294967295, got ${sampling.interval}`);
    }
    this.sourceId = (options.sourceId ?? 1) >>> 0;
    this.samplingDataFlowSet =
      sampling !== null && sampling.interval > 1 ? encodeSamplingOptionsDataFlowSet(this.sourceId, sampling.interval, sampling.algorithm) : null;
    const largestRecord = Math.max(V9_IPV4_TEMPLATE.recordLengthBytes, V9_IPV6_TEMPLATE.recordLengthBytes);
    const smallestMtu = V9_HEADER_BYTES + this.templatesBytes() + FLOWSET_HEADER_BYTES + largestRecord + MAX_PADDING_BYTES;
    if (!Number.isInteger(this.mtuBytes) || this.mtuBytes < smallestMtu || this.mtuBytes > 65_535) {
      throw new AgentError(
        'TAPFLOW_E_EXPORT_MTU',
        `NetFlow v9 mtuBytes must be an integer in ${smallestMtu}..65535 (header + templates + one record), got ${this.mtuBytes}`,
      );
    }
    const refresh = options.templateRefresh === undefined ? DEFAULT_TEMPLATE_REFRESH : options.templateRefresh;
    this.refreshMessages = refresh === null ? Number.POSITIVE_INFINITY : refresh.messages;
    this.refreshMs = refresh === null ? Number.POSITIVE_INFINITY : refresh.ms;
    this.buf = new Uint8Array(this.mtuBytes);
    this.view = new DataView(this.buf.buffer);
    this.transports = options.transports;
    this.sequence = (options.firstSequenceNumber ?? 0) >>> 0;
  }

  /** The builder clock (latest record end or caller time, ms since the epoch); -Infinity before any. */
  get lastTimeMs(): number {
    return this.uptime.nowMs;
  }

  /** Uptime 0 of the headers (ms since the epoch); NaN before any time is known. */
  get bootMs(): number {
    return this.uptime.bootMs;
  }

  /** Package Sequence the next packet will carry. */
  get nextSequenceNumber(): number {
    return this.sequence;
  }

  add(rec: FlowRecord): void {
    if (this.uptime.observeRecord(rec)) this.clockAdvanced();
    const template = rec.ipVersion === 6 ? V9_IPV6_TEMPLATE : V9_IPV4_TEMPLATE;
    if (this.offset === 0) {
      this.beginPacket();
    } else if (!this.fits(template)) {
      this.finishPacket();
      this.beginPacket();
    }
    if (this.setTemplateId !== template.templateId) this.openSet(template.templateId);
    this.offset = encodeFlowRecord(this.view, this.offset, rec, template, this.uptime.cells);
    this.recordsInPacket++;
    this.dataRecordsInPacket++;
  }

  /** Send the open packet, if any; `nowMs` (caller's clock) drives the time-based template refresh. */
  flush(nowMs: number): void {
    this.observeTime(nowMs);
    if (this.offset !== 0) this.finishPacket();
  }

  observeTime(nowMs: number): void {
    if (this.uptime.observe(nowMs)) this.clockAdvanced();
  }

  /** Templates sent before any time was known count as sent at the first time learned. */
  private clockAdvanced(): void {
    if (this.templatesEverSent && this.templatesSentAtMs === Number.NEGATIVE_INFINITY) {
      this.templatesSentAtMs = this.uptime.cells[NOW_CELL] ?? Number.NEGATIVE_INFINITY;
    }
  }

  private templatesBytes(): number {
    const sampling = this.samplingDataFlowSet;
    return V9_TEMPLATE_FLOWSET.length + (sampling === null ? 0 : V9_SAMPLING_OPTIONS_TEMPLATE_FLOWSET.length + sampling.length);
  }

  /** Room for one more record of `template` (a new FlowSet if needed, and the final padding). */
  private fits(template: V9Template): boolean {
    let end = this.offset;
    if (this.setTemplateId !== template.templateId) {
      end += (this.setStart >= 0 ? paddingTo4(this.offset - this.setStart) : 0) + FLOWSET_HEADER_BYTES;
    }
    return end + template.recordLengthBytes + MAX_PADDING_BYTES <= this.mtuBytes;
  }

  private templatesDue(): boolean {
    if (!this.templatesEverSent) return true;
    if (this.messagesSinceTemplates >= this.refreshMessages) return true;
    const nowMs = this.uptime.cells[NOW_CELL] ?? Number.NEGATIVE_INFINITY;
    // -Infinity (time still unknown) makes this NaN or -Infinity: not due.
    return nowMs - this.templatesSentAtMs >= this.refreshMs && this.templatesSentAtMs !== Number.NEGATIVE_INFINITY;
  }

  private beginPacket(): void {
    this.offset = V9_HEADER_BYTES;
    this.recordsInPacket = 0;
    this.dataRecordsInPacket = 0;
    this.setStart = -1;
    this.setTemplateId = -1;
    if (!this.templatesDue()) return;
    this.buf.set(V9_TEMPLATE_FLOWSET, this.offset);
    this.offset += V9_TEMPLATE_FLOWSET.length;
    this.recordsInPacket += V9_TEMPLATE_RECORDS;
    const sampling = this.samplingDataFlowSet;
    if (sampling !== null) {
      this.buf.set(V9_SAMPLING_OPTIONS_TEMPLATE_FLOWSET, this.offset);
      this.offset += V9_SAMPLING_OPTIONS_TEMPLATE_FLOWSET.length;
      this.buf.set(sampling, this.offset);
      this.offset += sampling.length;
      this.recordsInPacket += 2; // the options template and its data record
      this.dataRecordsInPacket += 1;
      this.stats.options_records_total++;
    }
    this.templatesEverSent = true;
    this.messagesSinceTemplates = 0;
    this.templatesSentAtMs = this.uptime.cells[NOW_CELL] ?? Number.NEGATIVE_INFINITY;
    this.stats.template_sets_total++;
  }

  private openSet(templateId: number): void {
    this.closeSet();
    this.setStart = this.offset;
    this.setTemplateId = templateId;
    this.view.setUint16(this.offset, templateId);
    this.offset += FLOWSET_HEADER_BYTES;
  }

  /** Pad the open data FlowSet to 4 bytes with zeros and write its length (padding included). */
  private closeSet(): void {
    if (this.setStart < 0) return;
    const padding = paddingTo4(this.offset - this.setStart);
    for (let i = 0; i < padding; i++) this.buf[this.offset++] = 0;
    this.view.setUint16(this.setStart + 2, this.offset - this.setStart);
    this.setStart = -1;
  }

  private finishPacket(): void {
    this.closeSet();
    const length = this.offset;
    const view = this.view;
    view.setUint16(0, V9_VERSION);
    view.setUint16(2, this.recordsInPacket);
    this.uptime.writeHeaderTimes(view, 4, 8);
    view.setUint32(12, this.sequence);
    view.setUint32(16, this.sourceId);
    const records = this.dataRecordsInPacket;
    // Advance state before handing the bytes over, so a throwing file transport leaves us consistent.
    this.sequence = (this.sequence + 1) >>> 0;
    this.messagesSinceTemplates++;
    this.stats.messages_total++;
    this.stats.records_total += records;
    this.stats.octets_total += length;
    this.offset = 0;
    for (let i = 0; i < this.transports.length; i++) this.transports[i]?.send(this.buf, length, records);
  }
}
