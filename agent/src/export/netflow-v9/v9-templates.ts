/**
 * tapflow's NetFlow v9 templates (RFC 3954 §5.2, §8) and their encoded FlowSets, computed once at
 * module load: the same fields as the IPFIX templates (ipfix/templates.ts), with flow times as
 * sysUptime offsets (FIRST_SWITCHED 22 / LAST_SWITCHED 21, 4 bytes) instead of absolute
 * milliseconds, and TCP_FLAGS at its v9 length of 1 byte (the ECN-nonce bit 8 is dropped).
 *
 * ICMP: v9's ICMP_TYPE (32, type * 256 + code) is not family-specific, so both templates use it.
 * IPFIX's icmpTypeCodeIPv6 (139) decodes in tshark 4.0 but nfdump 1.7.1 does not know it in v9 and
 * then zeroes the ICMPv6 type/code (found while writing the tests). flowEndReason (136, an IPFIX id) is
 * decoded by tshark; nfdump 1.7.1 skips it silently and stores the flow.
 *
 * Field order: 8-byte counters, 4-byte times, addresses and interface, MACs, 2-byte, 1-byte fields.
 * Records are 63 (IPv4) and 87 (IPv6) bytes, so data FlowSets are padded to 4 bytes at their end
 * (RFC 3954 §5.3); the padding is shorter than a record, so collectors never mistake it for one.
 */
import { paddingTo4 } from '../set-padding.js';

export const V9_VERSION = 9;
export const V9_HEADER_BYTES = 20;
export const FLOWSET_HEADER_BYTES = 4;
export const TEMPLATE_FLOWSET_ID = 0;
export const OPTIONS_TEMPLATE_FLOWSET_ID = 1;

export const V9_TEMPLATE_ID_IPV4 = 256;
export const V9_TEMPLATE_ID_IPV6 = 257;
export const V9_TEMPLATE_ID_SAMPLING = 258;

/** RFC 3954 §8 field type numbers (and the two IPFIX ids tapflow adds). */
export const V9Field = {
  IN_BYTES: 1,
  IN_PKTS: 2,
  PROTOCOL: 4,
  SRC_TOS: 5,
  TCP_FLAGS: 6,
  L4_SRC_PORT: 7,
  IPV4_SRC_ADDR: 8,
  INPUT_SNMP: 10,
  L4_DST_PORT: 11,
  IPV4_DST_ADDR: 12,
  LAST_SWITCHED: 21,
  FIRST_SWITCHED: 22,
  IPV6_SRC_ADDR: 27,
  IPV6_DST_ADDR: 28,
  ICMP_TYPE: 32,
  SAMPLING_INTERVAL: 34,
  SAMPLING_ALGORITHM: 35,
  MIN_TTL: 52,
  MAX_TTL: 53,
  IN_SRC_MAC: 56,
  SRC_VLAN: 58,
  IP_PROTOCOL_VERSION: 60,
  IN_DST_MAC: 80,
  /** IPFIX flowEndReason. */
  FLOW_END_REASON: 136,
} as const;

/** Options scope field types (RFC 3954 §6.1). */
export const V9Scope = { SYSTEM: 1 } as const;

export interface V9FieldSpec {
  readonly type: number;
  readonly lengthBytes: number;
}

export interface V9Template {
  readonly templateId: number;
  readonly ipVersion: 4 | 6;
  readonly fields: readonly V9FieldSpec[];
  /** Field types in order: what the shared record encoder (ipfix/record-encoder.ts) switches on. */
  readonly fieldIds: Uint32Array;
  /** NetFlow v9 has no biflow. */
  readonly biflow: false;
  readonly recordLengthBytes: number;
}

const field = (type: number, lengthBytes: number): V9FieldSpec => Object.freeze({ type, lengthBytes });

function defineTemplate(templateId: number, ipVersion: 4 | 6, fields: readonly V9FieldSpec[]): V9Template {
  return Object.freeze({
    templateId,
    ipVersion,
    fields: Object.freeze([...fields]),
    fieldIds: Uint32Array.from(fields, (spec) => spec.type),
    biflow: false as const,
    recordLengthBytes: fields.reduce((sum, spec) => sum + spec.lengthBytes, 0),
  });
}

const COUNTERS_AND_TIMES = [field(V9Field.IN_BYTES, 8), field(V9Field.IN_PKTS, 8), field(V9Field.FIRST_SWITCHED, 4), field(V9Field.LAST_SWITCHED, 4)];
const AFTER_ADDRESSES = [field(V9Field.INPUT_SNMP, 4), field(V9Field.IN_SRC_MAC, 6), field(V9Field.IN_DST_MAC, 6), field(V9Field.L4_SRC_PORT, 2), field(V9Field.L4_DST_PORT, 2)];
const ONE_BYTE_FIELDS = [
  field(V9Field.TCP_FLAGS, 1),
  field(V9Field.PROTOCOL, 1),
  field(V9Field.SRC_TOS, 1),
  field(V9Field.MIN_TTL, 1),
  field(V9Field.MAX_TTL, 1),
  field(V9Field.IP_PROTOCOL_VERSION, 1),
  field(V9Field.FLOW_END_REASON, 1),
];

/** IPv4 flows: 20 fields, 63-byte records. */
export const V9_IPV4_TEMPLATE = defineTemplate(V9_TEMPLATE_ID_IPV4, 4, [
  ...COUNTERS_AND_TIMES,
  field(V9Field.IPV4_SRC_ADDR, 4),
  field(V9Field.IPV4_DST_ADDR, 4),
  ...AFTER_ADDRESSES,
  field(V9Field.ICMP_TYPE, 2),
  field(V9Field.SRC_VLAN, 2),
  ...ONE_BYTE_FIELDS,
]);

/** IPv6 flows: 20 fields, 87-byte records. */
export const V9_IPV6_TEMPLATE = defineTemplate(V9_TEMPLATE_ID_IPV6, 6, [
  ...COUNTERS_AND_TIMES,
  field(V9Field.IPV6_SRC_ADDR, 16),
  field(V9Field.IPV6_DST_ADDR, 16),
  ...AFTER_ADDRESSES,
  field(V9Field.ICMP_TYPE, 2),
  field(V9Field.SRC_VLAN, 2),
  ...ONE_BYTE_FIELDS,
]);


/** Template FlowSet (id 0) with both templates: one template record each. */
function encodeTemplateFlowSet(templates: readonly V9Template[]): Uint8Array {
  let lengthBytes = FLOWSET_HEADER_BYTES;
  for (const template of templates) lengthBytes += 4 + 4 * template.fields.length;
  const bytes = new Uint8Array(lengthBytes); // always a multiple of 4
  const view = new DataView(bytes.buffer);
  view.setUint16(0, TEMPLATE_FLOWSET_ID);
  view.setUint16(2, lengthBytes);
  let offset = FLOWSET_HEADER_BYTES;
  for (const template of templates) {
    view.setUint16(offset, template.templateId);
    view.setUint16(offset + 2, template.fields.length);
    offset += 4;
    for (const spec of template.fields) {
      view.setUint16(offset, spec.type);
      view.setUint16(offset + 2, spec.lengthBytes);
      offset += 4;
    }
  }
  return bytes;
}

export const V9_TEMPLATES: readonly V9Template[] = Object.freeze([V9_IPV4_TEMPLATE, V9_IPV6_TEMPLATE]);
export const V9_TEMPLATE_FLOWSET: Uint8Array = encodeTemplateFlowSet(V9_TEMPLATES);
/** Template records in V9_TEMPLATE_FLOWSET (they count in the header's record count). */
export const V9_TEMPLATE_RECORDS = V9_TEMPLATES.length;

/**
 * Sampling announcement (RFC 3954 §6.1): scope System (4 bytes: the source id), then
 * SAMPLING_INTERVAL (4 bytes) and SAMPLING_ALGORITHM (1 byte: 1 deterministic, 2 random).
 */
const SAMPLING_SCOPE = [field(V9Scope.SYSTEM, 4)];
const SAMPLING_OPTIONS = [field(V9Field.SAMPLING_INTERVAL, 4), field(V9Field.SAMPLING_ALGORITHM, 1)];
const SAMPLING_RECORD_BYTES = 4 + 4 + 1;

/** Options Template FlowSet (id 1) describing the sampling options record, padded to 4 bytes. */
function encodeSamplingOptionsTemplateFlowSet(): Uint8Array {
  const unpadded = FLOWSET_HEADER_BYTES + 6 + 4 * (SAMPLING_SCOPE.length + SAMPLING_OPTIONS.length);
  const bytes = new Uint8Array(unpadded + paddingTo4(unpadded));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, OPTIONS_TEMPLATE_FLOWSET_ID);
  view.setUint16(2, bytes.length);
  view.setUint16(4, V9_TEMPLATE_ID_SAMPLING);
  view.setUint16(6, 4 * SAMPLING_SCOPE.length); // option scope length, bytes
  view.setUint16(8, 4 * SAMPLING_OPTIONS.length); // option length, bytes
  let offset = 10;
  for (const spec of [...SAMPLING_SCOPE, ...SAMPLING_OPTIONS]) {
    view.setUint16(offset, spec.type);
    view.setUint16(offset + 2, spec.lengthBytes);
    offset += 4;
  }
  return bytes;
}

export const V9_SAMPLING_OPTIONS_TEMPLATE_FLOWSET: Uint8Array = encodeSamplingOptionsTemplateFlowSet();

/** The options data FlowSet (template 258) announcing 1:interval sampling; built once per builder. */
export function encodeSamplingOptionsDataFlowSet(sourceId: number, interval: number, algorithm: 'deterministic' | 'random'): Uint8Array {
  const unpadded = FLOWSET_HEADER_BYTES + SAMPLING_RECORD_BYTES;
  const bytes = new Uint8Array(unpadded + paddingTo4(unpadded));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, V9_TEMPLATE_ID_SAMPLING);
  view.setUint16(2, bytes.length);
  view.setUint32(4, sourceId >>> 0);
  view.setUint32(8, interval >>> 0);
  view.setUint8(12, algorithm === 'random' ? 2 : 1);
  return bytes;
}
