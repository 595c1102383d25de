/**
 * NetFlow v5 export packets (at most 30 fixed 48-byte records, IPv4 only) built into one
 * preallocated buffer and handed to the transports; the v5 sibling of ipfix/message-builder.ts.
 * Idea from softflowd `netflow5.c` (fixed packet, sequence counts flows).
 *
 * What v5 cannot carry is never clamped silently:
 * - IPv6 records are skipped and counted in `notExportable`;
 * - packets or octets above 2^32 - 1 are split over several records with the same key and times
 *   whose counters add up exactly (`splitRecords` counts the extra records);
 * - an ingress interface above 65535 is sent as 0 ("unknown") and counted in `interfaceOverflows`.
 *
 * Header: flow_sequence = flow records sent before this packet (the v5 definition; tshark checks
 * it); sysUptime / unix_secs from the builder clock (see sys-uptime-clock.ts), unix_nsecs 0;
 * engine_type 0, engine_id = low byte of sourceId; sampling_interval = mode << 14 | interval, mode 1
 * ("packet interval", deterministic 1:N) or 2 (random), as Wireshark names them; 0 when unsampled.
 */
import { AgentError } from '../../core/errors.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import type { FlowMessageBuilder, MessageBuilderStats, SamplingAnnouncement } from '../flow-message-builder.js';
import type { MessageTransport } from '../message-transport.js';
import { SysUptimeClock } from '../sys-uptime-clock.js';
import { encodeV5Record, V5_HEADER_BYTES, V5_MAX_PACKET_BYTES, V5_MAX_INTERFACE, V5_MAX_RECORDS, V5_RECORD_BYTES, V5_VERSION, v5PiecesFor } from './v5-record-encoder.js';

/** The 14-bit interval of the header's sampling field. */
export const V5_MAX_SAMPLING_INTERVAL = 0x3fff;
const SAMPLING_MODE_DETERMINISTIC = 1;
const SAMPLING_MODE_RANDOM = 2;

export interface NetflowV5BuilderOptions {
  readonly transports: readonly MessageTransport[];
  /** Largest packet, header included (default and maximum 1464: 30 records); at least one record. */
  readonly mtuBytes?: number;
  /** engine_id is its low byte (default 1); engine_type is 0. */
  readonly sourceId?: number;
  /** Packet sampling of the meter, announced in the header (interval 1..16383). */
  readonly sampling?: SamplingAnnouncement | null;
  /** flow_sequence of the first packet (default 0); tests start near 2^32 to see the wrap. */
  readonly firstSequenceNumber?: number;
}

export class NetflowV5MessageBuilder implements FlowMessageBuilder {
  readonly stats: MessageBuilderStats = { messages_total: 0, records_total: 0, octets_total: 0, options_records_total: 0, template_sets_total: 0 };
  readonly mtuBytes: number;
  /** Records per packet: 30, or fewer when mtuBytes is smaller. */
  readonly maxRecordsPerPacket: number;
  private notExportableCount = 0;
  private splitRecordCount = 0;
  private interfaceOverflowCount = 0;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly transports: readonly MessageTransport[];
  private readonly engineId: number;
  private readonly samplingField: number;
  private readonly uptime = new SysUptimeClock();
  private sequence: number;
  /** Records in the open packet; the packet is open when > 0. */
  private recordsInPacket = 0;

  constructor(options: NetflowV5BuilderOptions) {
    this.mtuBytes = options.mtuBytes ?? V5_MAX_PACKET_BYTES;
    const smallestMtu = V5_HEADER_BYTES + V5_RECORD_BYTES;
    if (!Number.isInteger(this.mtuBytes) || this.mtuBytes < smallestMtu) {
      throw new AgentError('TAPFLOW_E_EXPORT_MTU', `NetFlow v5 mtuBytes must be an integer >= ${smallestMtu} (header + one record), got ${this.mtuBytes}`);
    }
    this.maxRecordsPerPacket = Math.min(V5_MAX_RECORDS, Math.floor((this.mtuBytes - V5_HEADER_BYTES) / V5_RECORD_BYTES));
    const sampling = options.sampling ?? null;
    if (sampling !== null && (!Number.isInteger(sampling.interval) || sampling.interval < 1 || sampling.interval > V5_MAX_SAMPLING_INTERVAL)) {
      throw new AgentError(
        'TAPFLOW_E_EXPORT_SAMPLING',
        `NetFlow v5 carries sampling intervals 1..${V5_MAX_SAMPLING_INTERVAL} (14 bits), got ${sampling.interval}; use IPFIX or NetFlow v9`,
      );
    }
    this.samplingField =
      sampling === null || sampling.interval <= 1
        ? 0
        : (((sampling.algorithm === 'random' ? SAMPLING_MODE_RANDOM : SAMPLING_MODE_DETERMINISTIC) << 14) | sampling.interval);
    this.engineId = (options.sourceId ?? 1) & 0xff;
    this.buf = new Uint8Array(V5_HEADER_BYTES + this.maxRecordsPerPacket * V5_RECORD_BYTES);
    this.view = new DataView(this.buf.buffer);
    this.transports = options.transports;
    this.sequence = (options.firstSequenceNumber ?? 0) >>> 0;
  }

  /** IPv6 records skipped (v5 is IPv4 only). */
  get notExportable(): number {
    return this.notExportableCount;
  }

  /** Extra records sent because a flow's packets or octets exceeded 2^32 - 1. */
  get splitRecords(): number {
    return this.splitRecordCount;
  }

  /** Records whose ingress interface did not fit 16 bits (sent as 0). */
  get interfaceOverflows(): number {
    return this.interfaceOverflowCount;
  }

  /** The builder clock (latest record end or caller time, ms since the epoch); -Infinity before any. */
  get lastTimeMs(): number {
    return this.uptime.nowMs;
  }

  /** Uptime 0 of the headers (ms since the epoch); NaN before any time is known. */
  get bootMs(): number {
    return this.uptime.bootMs;
  }

  /** flow_sequence the next packet will carry. */
  get nextSequenceNumber(): number {
    return this.sequence;
  }

  add(rec: FlowRecord): void {
    if (rec.ipVersion !== 4) {
      this.notExportableCount++;
      return;
    }
    this.uptime.observeRecord(rec);
    if (rec.ingressInterface > V5_MAX_INTERFACE) this.interfaceOverflowCount++;
    const pieces = v5PiecesFor(rec);
    this.splitRecordCount += pieces - 1;
    for (let piece = 0; piece < pieces; piece++) {
      if (this.recordsInPacket === this.maxRecordsPerPacket) this.finishPacket();
      const offset = V5_HEADER_BYTES + this.recordsInPacket * V5_RECORD_BYTES;
      encodeV5Record(this.view, offset, rec, piece, pieces, this.uptime.cells);
      this.recordsInPacket++;
    }
  }

  /** Send the open packet, if any. */
  flush(nowMs: number): void {
    this.observeTime(nowMs);
    if (this.recordsInPacket > 0) this.finishPacket();
  }

  observeTime(nowMs: number): void {
    this.uptime.observe(nowMs);
  }

  private finishPacket(): void {
    const records = this.recordsInPacket;
    const length = V5_HEADER_BYTES + records * V5_RECORD_BYTES;
    const view = this.view;
    view.setUint16(0, V5_VERSION);
    view.setUint16(2, records);
    this.uptime.writeHeaderTimes(view, 4, 8);
    view.setUint32(12, 0); // unix_nsecs: the header time is a whole second (see sys-uptime-clock.ts)
    view.setUint32(16, this.sequence);
    view.setUint8(20, 0);
    view.setUint8(21, this.engineId);
    view.setUint16(22, this.samplingField);
    // Advance state before handing the bytes over, so a throwing file transport leaves us consistent.
    this.sequence = (this.sequence + records) >>> 0;
    this.stats.messages_total++;
    this.stats.records_total += records;
    this.stats.octets_total += length;
    this.recordsInPacket = 0;
    for (let i = 0; i < this.transports.length; i++) this.transports[i]?.send(this.buf, length, records);
  }
}
