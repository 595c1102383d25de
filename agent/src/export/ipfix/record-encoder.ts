/**
 * Pure, allocation-free encoding of one FlowRecord as an IPFIX data record (RFC 7011 §3.4.3) or a
 * NetFlow v9 data record (RFC 3954 §5.3: the same element numbers, plus sysUptime-relative times),
 * big-endian, in the template's field order. No BigInt, no subarray, no per-call objects; the
 * caller checks room (one check per record, not per field).
 */
import type { FlowRecord } from '../../flow/flow-record.js';
import { BOOT_CELL } from '../sys-uptime-clock.js';
import { AppHintKind } from '../../hints/app-hints.js';
import { VARIABLE_LENGTH } from './information-elements.js';
import { DNS_NO_RESPONSE } from './tapflow-elements.js';

/** What the encoder needs of a template (IpfixTemplate and V9Template both are one). */
export interface RecordLayout {
  /** Element ids in field order (reverse elements as 0x8000 | id): what the encoder switches on. */
  readonly fieldIds: Uint32Array;
  readonly fields: readonly { readonly lengthBytes: number }[];
  /** RFC 5103 biflow: flowStart/End span both directions and reverse fields are written. */
  readonly biflow: boolean;
  /** Longest variable-length text written (IPFIX templates with texts; longer ones are cut). */
  readonly maxTextBytes?: number;
}

const TWO_POW_32 = 4_294_967_296;

// DataView setters are compiler intrinsics: numbers above the small-integer range stay unboxed.
// Plain helper functions were not always inlined, and every call with such a number (addresses,
// timestamps, u64 halves) then allocated a HeapNumber: ~30 bytes of garbage per record.
// The caller passes the DataView over its own (reused) buffer, so nothing is allocated per record,
// even when several builders (IPFIX, v9, file) take turns.

/**
 * Write `rec` at `offset` using `template`; returns the offset after the record
 * (offset + template.recordLengthBytes). The caller guarantees the room.
 *
 * unsigned64 (counters, timestamps): a non-negative integer up to 2^53 as two 32-bit halves, no
 * BigInt. macAddress: the 48-bit integer as its top 16 bits, then the low 32.
 *
 * Uniflow templates read only the plain (forward) fields. Biflow templates (RFC 5103) also write
 * the reverse* fields under PEN 29305 (ids | 0x8000 in fieldIds), and their flowStart/End
 * Milliseconds span the whole biflow: the earliest start and latest end over the directions that
 * saw packets. RFC 5103 §4 makes a Biflow record describe both directions of the flow as one, and
 * a collector that ignores the reverse elements then still sees when the conversation ran; the
 * reverse timestamps keep the reverse direction's own times (0 when it saw no packet). A flow
 * with an empty forward direction (e.g. after an active timeout) keeps its keys and is one record.
 */
export function encodeFlowRecord(view: DataView, offset: number, rec: FlowRecord, template: RecordLayout, uptimeCells: Float64Array | null = null): number {
  // NetFlow v9 FIRST/LAST_SWITCHED (22/21): ms since the exporter's boot, read from a cell (see
  // sys-uptime-clock.ts) rather than passed, which would box the double; clamped at 0, modulo 2^32.
  const bootMs = uptimeCells === null ? 0 : (uptimeCells[BOOT_CELL] ?? 0);
  const ids = template.fieldIds;
  const maxText = template.maxTextBytes ?? 0;
  let startMs = rec.startMs;
  let endMs = rec.endMs;
  let reverseStartMs = 0;
  let reverseEndMs = 0;
  if (template.biflow && rec.reversePackets > 0) {
    reverseStartMs = rec.reverseStartMs;
    reverseEndMs = rec.reverseEndMs;
    if (rec.packets === 0) {
      startMs = reverseStartMs;
      endMs = reverseEndMs;
    } else {
      if (reverseStartMs < startMs) startMs = reverseStartMs;
      if (reverseEndMs > endMs) endMs = reverseEndMs;
    }
  }
  let at = offset;
  for (let i = 0; i < ids.length; i++) {
    switch (ids[i]) {
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
      case 152:
        view.setUint32(at, startMs / TWO_POW_32);
        view.setUint32(at + 4, startMs % TWO_POW_32);
        at += 8;
        break;
      case 153:
        view.setUint32(at, endMs / TWO_POW_32);
        view.setUint32(at + 4, endMs % TWO_POW_32);
        at += 8;
        break;
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
      case 32:
      case 139: view.setUint16(at, rec.icmpTypeCode); at += 2; break;
      case 6:
        // v9 collectors expect the classic 1-byte TCP_FLAGS; IPFIX tcpControlBits is 2 bytes.
        if (template.fields[i]?.lengthBytes === 1) {
          view.setUint8(at, rec.tcpFlags & 0xff);
          at += 1;
        } else {
          view.setUint16(at, rec.tcpFlags);
          at += 2;
        }
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
      case 58: view.setUint16(at, rec.vlanId); at += 2; break;
      case 4: view.setUint8(at, rec.protocol); at += 1; break;
      case 5: view.setUint8(at, rec.tos); at += 1; break;
      case 52: view.setUint8(at, rec.minTtl); at += 1; break;
      case 53: view.setUint8(at, rec.maxTtl); at += 1; break;
      case 60: view.setUint8(at, rec.ipVersion); at += 1; break;
      case 136: view.setUint8(at, rec.endReason); at += 1; break;
      // RFC 5103 reverse elements (PEN 29305): 0x8000 | IANA id.
      case 0x8001:
        view.setUint32(at, rec.reverseOctets / TWO_POW_32);
        view.setUint32(at + 4, rec.reverseOctets % TWO_POW_32);
        at += 8;
        break;
      case 0x8002:
        view.setUint32(at, rec.reversePackets / TWO_POW_32);
        view.setUint32(at + 4, rec.reversePackets % TWO_POW_32);
        at += 8;
        break;
      case 0x8098:
        view.setUint32(at, reverseStartMs / TWO_POW_32);
        view.setUint32(at + 4, reverseStartMs % TWO_POW_32);
        at += 8;
        break;
      case 0x8099:
        view.setUint32(at, reverseEndMs / TWO_POW_32);
        view.setUint32(at + 4, reverseEndMs % TWO_POW_32);
        at += 8;
        break;
      case 0x800a: view.setUint32(at, rec.reverseIngressInterface); at += 4; break;
      case 0x8038:
        view.setUint16(at, rec.reverseSrcMac / TWO_POW_32);
        view.setUint32(at + 2, rec.reverseSrcMac % TWO_POW_32);
        at += 6;
        break;
      case 0x8050:
        view.setUint16(at, rec.reverseDstMac / TWO_POW_32);
        view.setUint32(at + 2, rec.reverseDstMac % TWO_POW_32);
        at += 6;
        break;
      case 0x8006: view.setUint16(at, rec.reverseTcpFlags); at += 2; break;
      case 0x8005: view.setUint8(at, rec.reverseTos); at += 1; break;
      case 0x8034: view.setUint8(at, rec.reverseMinTtl); at += 1; break;
      case 0x8035: view.setUint8(at, rec.reverseMaxTtl); at += 1; break;
      // IP packet size range, reduced-size (2 bytes: an IP total length fits).
      case 25: view.setUint16(at, rec.minIpOctets); at += 2; break;
      case 26: view.setUint16(at, rec.maxIpOctets); at += 2; break;
      case 0x8019: view.setUint16(at, rec.reverseMinIpOctets); at += 2; break;
      case 0x801a: view.setUint16(at, rec.reverseMaxIpOctets); at += 2; break;
      // HTTP hints (IANA). Texts only of the record's hint kind: flow-templates.ts counts on at most two.
      case 457: view.setUint16(at, rec.httpStatusCode); at += 2; break;
      case 459: at = writeText(view, at, maxText, rec.httpRequestMethod, rec.appHintKind === AppHintKind.HTTP ? rec.httpRequestMethodLength : 0); break;
      case 460: at = writeText(view, at, maxText, rec.httpRequestHost, rec.appHintKind === AppHintKind.HTTP ? rec.httpRequestHostLength : 0); break;
      // tapflow's elements (TAPFLOW_KEY_BASE | id; reverse: | 0x4000), see tapflow-elements.ts.
      case 0x1_0001: view.setUint8(at, rec.connectionOutcome); at += 1; break;
      case 0x1_0002: view.setUint16(at, rec.synRetries > 0xffff ? 0xffff : rec.synRetries); at += 2; break;
      case 0x1_0003: view.setUint32(at, rec.handshakeServerRttUs); at += 4; break;
      case 0x1_0004: view.setUint32(at, rec.handshakeClientRttUs); at += 4; break;
      case 0x1_0005: view.setUint32(at, rec.serverResponseCount); at += 4; break;
      case 0x1_0006:
        view.setUint32(at, rec.serverResponseSumUs / TWO_POW_32);
        view.setUint32(at + 4, rec.serverResponseSumUs % TWO_POW_32);
        at += 8;
        break;
      case 0x1_0007: view.setUint32(at, rec.serverResponseMinUs); at += 4; break;
      case 0x1_0008: view.setUint32(at, rec.serverResponseMaxUs); at += 4; break;
      case 0x1_0009: view.setUint32(at, rec.retransmittedPackets); at += 4; break;
      case 0x1_000a:
        view.setUint32(at, rec.retransmittedOctets / TWO_POW_32);
        view.setUint32(at + 4, rec.retransmittedOctets % TWO_POW_32);
        at += 8;
        break;
      case 0x1_000b: view.setUint32(at, rec.outOfOrderPackets); at += 4; break;
      case 0x1_000c: view.setUint32(at, rec.zeroWindowEvents); at += 4; break;
      case 0x1_4009: view.setUint32(at, rec.reverseRetransmittedPackets); at += 4; break;
      case 0x1_400a:
        view.setUint32(at, rec.reverseRetransmittedOctets / TWO_POW_32);
        view.setUint32(at + 4, rec.reverseRetransmittedOctets % TWO_POW_32);
        at += 8;
        break;
      case 0x1_400b: view.setUint32(at, rec.reverseOutOfOrderPackets); at += 4; break;
      case 0x1_400c: view.setUint32(at, rec.reverseZeroWindowEvents); at += 4; break;
      case 0x1_000d: at = writeText(view, at, maxText, rec.dnsQueryName, rec.appHintKind === AppHintKind.DNS ? rec.dnsQueryNameLength : 0); break;
      case 0x1_000e: view.setUint16(at, rec.dnsQueryType); at += 2; break;
      case 0x1_000f: view.setUint8(at, rec.dnsResponseSeen === 0 ? DNS_NO_RESPONSE : rec.dnsResponseCode); at += 1; break;
      case 0x1_0010: at = writeText(view, at, maxText, rec.tlsServerName, rec.appHintKind === AppHintKind.TLS ? rec.tlsServerNameLength : 0); break;
      case 0x1_0011: view.setUint16(at, rec.tlsVersion); at += 2; break;
      case 0x1_0012: at = writeText(view, at, maxText, rec.tlsAlpn, rec.appHintKind === AppHintKind.TLS ? rec.tlsAlpnLength : 0); break;
      default: {
        // paddingOctets (210), or a field tapflow has no value for: zero-fill.
        const field = template.fields[i];
        if (field !== undefined && field.lengthBytes === VARIABLE_LENGTH) {
          view.setUint8(at++, 0); // an empty variable-length value
          break;
        }
        const end = at + (field === undefined ? 0 : field.lengthBytes);
        while (at < end) view.setUint8(at++, 0);
      }
    }
  }
  return at;
}

/**
 * A variable-length text (RFC 7011 §7): its length in one byte, then the bytes. Hint texts hold
 * at most HINT_TEXT_MAX_BYTES (254), under the 255 that would switch to the 3-byte length form.
 */
function writeText(view: DataView, offset: number, maxBytes: number, text: Uint8Array, length: number): number {
  const n = length > maxBytes ? maxBytes : length;
  view.setUint8(offset, n);
  for (let i = 0; i < n; i++) view.setUint8(offset + 1 + i, text[i]!);
  return offset + 1 + n;
}
