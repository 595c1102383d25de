/**
 * NetFlow v5 packet layout (Cisco "NetFlow Export Datagram Format", version 5) and an
 * allocation-free encoder for one 48-byte flow record, DataView setters only (see
 * ipfix/record-encoder.ts for why). Layout as in softflowd `netflow5.c` / nfdump `nffile` docs.
 *
 *   header (24 bytes): version, count, sysUptime, unix_secs, unix_nsecs, flow_sequence,
 *                      engine_type, engine_id, sampling_interval (mode << 14 | interval)
 *   record (48 bytes): srcaddr, dstaddr, nexthop, input(16), output(16), dPkts, dOctets, First,
 *                      Last, srcport, dstport, pad1, tcp_flags, prot, tos, src_as, dst_as,
 *                      src_mask, dst_mask, pad2
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import { BOOT_CELL } from '../sys-uptime-clock.js';

export const V5_VERSION = 5;
export const V5_HEADER_BYTES = 24;
export const V5_RECORD_BYTES = 48;
/** Cisco's limit of records per packet. */
export const V5_MAX_RECORDS = 30;
export const V5_MAX_PACKET_BYTES = V5_HEADER_BYTES + V5_MAX_RECORDS * V5_RECORD_BYTES;
/** dPkts / dOctets are 32-bit: larger counts are split over several records. */
export const V5_MAX_COUNTER = 4_294_967_295;
/** The 16-bit input interface field. */
export const V5_MAX_INTERFACE = 0xffff;

const TWO_POW_32 = 4_294_967_296;


/** Records one flow needs so that no record's packets or octets exceed 2^32 - 1 (at least 1). */
export function v5PiecesFor(rec: FlowRecord): number {
  const byPackets = Math.ceil(rec.packets / V5_MAX_COUNTER);
  const byOctets = Math.ceil(rec.octets / V5_MAX_COUNTER);
  return Math.max(1, byPackets, byOctets);
}

/**
 * Write piece `index` of `total` of the record's octets (or packets), an integer up to 2^53, as a
 * uint32: the count split as evenly as possible, the first (count mod total) pieces one larger, so
 * the pieces add up to exactly the count. Reads the count from `rec` and writes it itself: a large
 * double passed as an argument or returned would be boxed (allocated).
 */
function writePiece(view: DataView, at: number, rec: FlowRecord, ofOctets: boolean, index: number, total: number): void {
  const count = ofOctets ? rec.octets : rec.packets;
  let base = Math.floor(count / total);
  // Guard against the rounded quotient being one off near 2^53.
  if (base * total > count) base--;
  else if ((base + 1) * total <= count) base++;
  view.setUint32(at, base + (index < count - base * total ? 1 : 0));
}

/**
 * Write piece `index` of `total` of `rec` at `offset` (the caller checked the room); returns the
 * offset after it. Fields v5 has no data for (nexthop, output, AS numbers, masks) are 0; `input`
 * is 0 when ingressInterface does not fit 16 bits (the builder counts it); tcp_flags keeps the
 * low 8 bits. First/Last: ms since the exporter's boot (uptimeCells), clamped at 0, modulo 2^32.
 */
export function encodeV5Record(view: DataView, offset: number, rec: FlowRecord, index: number, total: number, uptimeCells: Float64Array): number {
  const bootMs = uptimeCells[BOOT_CELL] ?? 0;
  view.setUint32(offset, rec.srcAddr[0] ?? 0);
  view.setUint32(offset + 4, rec.dstAddr[0] ?? 0);
  view.setUint32(offset + 8, 0);
  view.setUint16(offset + 12, rec.ingressInterface > V5_MAX_INTERFACE ? 0 : rec.ingressInterface);
  view.setUint16(offset + 14, 0);
  if (total === 1) {
    view.setUint32(offset + 16, rec.packets);
    view.setUint32(offset + 20, rec.octets);
  } else {
    writePiece(view, offset + 16, rec, false, index, total);
    writePiece(view, offset + 20, rec, true, index, total);
  }
  const firstMs = rec.startMs - bootMs;
  const lastMs = rec.endMs - bootMs;
  view.setUint32(offset + 24, firstMs > 0 ? firstMs % TWO_POW_32 : 0);
  view.setUint32(offset + 28, lastMs > 0 ? lastMs % TWO_POW_32 : 0);
  view.setUint16(offset + 32, rec.srcPort);
  // ICMP: the flow key already holds type << 8 | code in dstPort (the Cisco convention for v5).
  view.setUint16(offset + 34, rec.dstPort);
  view.setUint8(offset + 36, 0);
  view.setUint8(offset + 37, rec.tcpFlags & 0xff);
  view.setUint8(offset + 38, rec.protocol);
  view.setUint8(offset + 39, rec.tos);
  view.setUint32(offset + 40, 0); // src_as, dst_as
  view.setUint32(offset + 44, 0); // src_mask, dst_mask, pad2
  return offset + V5_RECORD_BYTES;
}
