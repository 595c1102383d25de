/**
 * Pure, allocation-free encoding of one one-direction FlowRecord as a NetFlow v9 data record
 * (RFC 3954 §5.3), big-endian, in the template's field order. Same technique as
 * ipfix/record-encoder.ts: DataView setters only (compiler intrinsics, numbers stay unboxed), no
 * BigInt, no per-call objects; the caller checks room once per record.
 *
 * Flow times are uint32 ms since the exporter's boot, read from `uptimeCells` (see
 * sys-uptime-clock.ts) rather than passed as arguments, which would box the doubles.
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import { BOOT_CELL } from '../sys-uptime-clock.js';
import type { V9Template } from './v9-templates.js';

const TWO_POW_32 = 4_294_967_296;

let cachedBuffer: Uint8Array | null = null;
let cachedView: DataView = new DataView(new ArrayBuffer(0));

function viewOf(buf: Uint8Array): DataView {
  if (buf !== cachedBuffer) {
    cachedBuffer = buf;
    cachedView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return cachedView;
}

/**
 * Write `rec` at `offset`; returns offset + template.recordLengthBytes. The caller guarantees the
 * room. Counters: 8-byte unsigned up to 2^53 as two 32-bit halves. MACs: top 16 bits, then low 32.
 * FIRST/LAST_SWITCHED: time - boot, clamped at 0, modulo 2^32 (wraps after 49.7 days like routers).
 */
export function encodeV9Record(buf: Uint8Array, offset: number, rec: FlowRecord, template: V9Template, uptimeCells: Float64Array): number {
  const view = viewOf(buf);
  const types = template.fieldTypes;
  const bootMs = uptimeCells[BOOT_CELL] ?? 0;
  let at = offset;
  for (let i = 0; i < types.length; i++) {
    switch (types[i]) {
      case 1:
        view.setUint32(at, rec.octets / TWO_POW_32);
        view.setUint32(at + 4, rec.octets % TWO_POW_32);
        at += 8;
        break;
      case 2:
        view.setUint32(at, rec.packets / TWO_POW_32);
        view.setUint32(at + 4, rec.packets % TWO_POW_32);
        at += 8;
        break;
      case 22: {
        const sinceBootMs = rec.startMs - bootMs;
        view.setUint32(at, sinceBootMs > 0 ? sinceBootMs % TWO_POW_32 : 0);
        at += 4;
        break;
      }
      case 21: {
        const sinceBootMs = rec.endMs - bootMs;
        view.setUint32(at, sinceBootMs > 0 ? sinceBootMs % TWO_POW_32 : 0);
        at += 4;
        break;
      }
      case 8: view.setUint32(at, rec.srcAddr[0] ?? 0); at += 4; break;
      case 12: view.setUint32(at, rec.dstAddr[0] ?? 0); at += 4; break;
      case 27:
        view.setUint32(at, rec.srcAddr[0] ?? 0);
        view.setUint32(at + 4, rec.srcAddr[1] ?? 0);
        view.setUint32(at + 8, rec.srcAddr[2] ?? 0);
        view.setUint32(at + 12, rec.srcAddr[3] ?? 0);
        at += 16;
        break;
      case 28:
        view.setUint32(at, rec.dstAddr[0] ?? 0);
        view.setUint32(at + 4, rec.dstAddr[1] ?? 0);
        view.setUint32(at + 8, rec.dstAddr[2] ?? 0);
        view.setUint32(at + 12, rec.dstAddr[3] ?? 0);
        at += 16;
        break;
      case 10: view.setUint32(at, rec.ingressInterface); at += 4; break;
      case 56:
        view.setUint16(at, rec.srcMac / TWO_POW_32);
        view.setUint32(at + 2, rec.srcMac % TWO_POW_32);
        at += 6;
        break;
      case 80:
        view.setUint16(at, rec.dstMac / TWO_POW_32);
        view.setUint32(at + 2, rec.dstMac % TWO_POW_32);
        at += 6;
        break;
      case 7: view.setUint16(at, rec.srcPort); at += 2; break;
      case 11: view.setUint16(at, rec.dstPort); at += 2; break;
      case 32: view.setUint16(at, rec.icmpTypeCode); at += 2; break;
      case 58: view.setUint16(at, rec.vlanId); at += 2; break;
      case 6: view.setUint8(at, rec.tcpFlags & 0xff); at += 1; break;
      case 4: view.setUint8(at, rec.protocol); at += 1; break;
      case 5: view.setUint8(at, rec.tos); at += 1; break;
      case 52: view.setUint8(at, rec.minTtl); at += 1; break;
      case 53: view.setUint8(at, rec.maxTtl); at += 1; break;
      case 60: view.setUint8(at, rec.ipVersion); at += 1; break;
      case 136: view.setUint8(at, rec.endReason); at += 1; break;
      default: {
        // A template field tapflow has no value for: zero-fill (never happens with V9_TEMPLATES).
        const spec = template.fields[i];
        const end = at + (spec === undefined ? 0 : spec.lengthBytes);
        while (at < end) view.setUint8(at++, 0);
      }
    }
  }
  return at;
}
