/**
 * The last `capacity` exported flow records, kept on the probe for drill-down (flows.query,
 * issue 7 item 6). Struct of arrays: one typed column per kept FlowRecord field
 * (RECENT_FLOW_COLUMNS) plus four address words per endpoint, all allocated at construction.
 * add() copies a record into the next slot, overwriting the oldest when full, and allocates
 * nothing.
 *
 * Every record gets an absolute sequence number (0, 1, 2, ... in export order); the record with
 * sequence s sits in slot s % capacity while s >= oldestSequence. Query cursors name sequence
 * numbers, so records arriving between pages do not shift them. `ringId` tells this ring's
 * cursors from those of another ring (a restart, a new configuration).
 *
 * Memory: about 200 bytes per slot with today's columns, plus 8 for the numeric hint columns and
 * RECENT_SERVER_NAME_BYTES + 1 for the server name (273 in all).
 */
import { randomBytes } from 'node:crypto';
import type { FlowRecord, FlowRecordSink } from '../flow/flow-record.js';
import { AppHintKind } from '../hints/app-hints.js';
import { RECENT_FLOW_COLUMNS, type RecentFlowField } from './recent-flow-columns.js';

export type NumberColumn = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/**
 * Bytes kept of a record's application-hint name (DNS query name, HTTP Host or TLS server name:
 * one per flow), as `serverName`; a longer name is cut to its first bytes.
 */
export const RECENT_SERVER_NAME_BYTES = 64;

/** Upper bound on capacity: 10M slots is about 2 GB; anything beyond is a configuration mistake. */
export const RECENT_FLOWS_MAX_CAPACITY = 10_000_000;

const FIELDS: readonly RecentFlowField[] = RECENT_FLOW_COLUMNS.map((column) => column.field);

/**
 * Copies the kept fields of `rec` into `columns[i][slot]`, generated once from
 * RECENT_FLOW_COLUMNS as straight-line code (`columns[0][slot] = rec.ipVersion; ...`). A loop
 * reading `rec[FIELDS[i]]` is a megamorphic keyed load that boxes double-valued fields (times,
 * octets) into a fresh heap number per read: measured about 1.3 MB per million records. The
 * generated code makes one monomorphic property load per field, which the optimizer keeps
 * unboxed. Field names are checked as identifiers before they reach the generated source.
 */
type CopyColumns = (rec: FlowRecord, slot: number, columns: NumberColumn[]) => void;
const copyColumns = ((): CopyColumns => {
  const lines = FIELDS.map((field, i) => {
    if (!/^[A-Za-z_$][\w$]*$/.test(field)) throw new Error(`recent-flow column field ${JSON.stringify(field)} is not an identifier`);
    return `columns[${i}][slot] = rec.${field};`;
  });
  return new Function('rec', 'slot', 'columns', `'use strict';\n${lines.join('\n')}`) as CopyColumns;
})();
const NEXT_SEQUENCE = 0;

export class RecentFlowRing {
  readonly capacity: number;
  /** Random, per ring: a cursor carries it so it is refused by any other ring. */
  readonly ringId: string;
  /** Address words per slot: [slot * 4 .. slot * 4 + 3] (IPv4 in word 0). */
  readonly srcAddr: Uint32Array;
  readonly dstAddr: Uint32Array;
  /** RECENT_SERVER_NAME_BYTES per slot at slot * RECENT_SERVER_NAME_BYTES; serverNameLength of them are the name. */
  readonly serverName: Uint8Array;
  readonly serverNameLength: Uint8Array;
  private readonly columnList: NumberColumn[];
  private readonly columnByField: ReadonlyMap<RecentFlowField, NumberColumn>;
  /** The next record's sequence number, kept in memory so a count past 2^31 is never boxed. */
  private readonly counters = new Float64Array(1);
  private writeSlot = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > RECENT_FLOWS_MAX_CAPACITY) {
      throw new RangeError(`recent-flow ring capacity must be an integer in [1, ${RECENT_FLOWS_MAX_CAPACITY}], got ${capacity}`);
    }
    this.capacity = capacity;
    this.ringId = randomBytes(4).toString('hex');
    this.srcAddr = new Uint32Array(capacity * 4);
    this.dstAddr = new Uint32Array(capacity * 4);
    this.serverName = new Uint8Array(capacity * RECENT_SERVER_NAME_BYTES);
    this.serverNameLength = new Uint8Array(capacity);
    this.columnList = RECENT_FLOW_COLUMNS.map((column) => new column.type(capacity));
    this.columnByField = new Map(FIELDS.map((field, i) => [field, this.columnList[i]!]));
  }

  /** Copies one exported record (borrowed) into the ring, overwriting the oldest when full. */
  add(rec: FlowRecord): void {
    const slot = this.writeSlot;
    copyColumns(rec, slot, this.columnList);
    const base = slot * 4;
    const src = rec.srcAddr;
    const dst = rec.dstAddr;
    for (let i = 0; i < 4; i++) {
      this.srcAddr[base + i] = src[i]!;
      this.dstAddr[base + i] = dst[i]!;
    }
    this.copyServerName(rec, slot);
    this.writeSlot = slot + 1 === this.capacity ? 0 : slot + 1;
    this.counters[NEXT_SEQUENCE] = this.counters[NEXT_SEQUENCE]! + 1;
  }

  private copyServerName(rec: FlowRecord, slot: number): void {
    const kind = rec.appHintKind;
    const name = kind === AppHintKind.DNS ? rec.dnsQueryName : kind === AppHintKind.HTTP ? rec.httpRequestHost : rec.tlsServerName;
    const length = kind === AppHintKind.DNS ? rec.dnsQueryNameLength : kind === AppHintKind.HTTP ? rec.httpRequestHostLength : kind === AppHintKind.TLS ? rec.tlsServerNameLength : 0;
    const kept = length < RECENT_SERVER_NAME_BYTES ? length : RECENT_SERVER_NAME_BYTES;
    const at = slot * RECENT_SERVER_NAME_BYTES;
    for (let i = 0; i < kept; i++) this.serverName[at + i] = name[i]!;
    this.serverNameLength[slot] = kept;
  }

  /** Records ever added; also the sequence number the next record will get. */
  get added(): number {
    return this.counters[NEXT_SEQUENCE]!;
  }

  /** Records held now (≤ capacity). */
  get size(): number {
    return Math.min(this.added, this.capacity);
  }

  /** Records overwritten by newer ones since construction (recent_flows_overwritten_total). */
  get overwritten(): number {
    return this.added - this.size;
  }

  /** Sequence number of the oldest record held (= added when empty). */
  get oldestSequence(): number {
    return this.overwritten;
  }

  /** The slot of a held record's sequence number (oldestSequence ≤ sequence < added). */
  slotOf(sequence: number): number {
    return sequence % this.capacity;
  }

  /** The typed column of a kept field, indexed by slot. */
  column(field: RecentFlowField): NumberColumn {
    return this.columnByField.get(field)!;
  }
}

/** Copies every record into the ring, then passes it on to `next` (the export pipeline's sink). */
class RecentFlowsSink implements FlowRecordSink {
  constructor(
    private readonly ring: RecentFlowRing,
    private readonly next: FlowRecordSink,
  ) {}

  add(rec: FlowRecord): void {
    // A TCP closing record (no packets, see FlowTable.emitRecords) is not exported: not kept either.
    if (rec.packets !== 0 || rec.reversePackets !== 0) this.ring.add(rec);
    this.next.add(rec);
  }

  flush(nowMs: number): void {
    this.next.flush(nowMs);
  }
}

export function recentFlowsSink(ring: RecentFlowRing, next: FlowRecordSink): FlowRecordSink {
  return new RecentFlowsSink(ring, next);
}
