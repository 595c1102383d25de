/**
 * tapflow's IPFIX data templates (RFC 7011 §3.4.1): uniflow 256 (IPv4) / 257 (IPv6) and RFC 5103
 * biflow 258 (IPv4) / 259 (IPv6), and the encoding of Template Sets, computed once at start-up.
 * The options templates (statistics, sampling) are in options-templates.ts.
 *
 * Field order: largest fields first (8-byte counters and timestamps, then addresses, 4-byte, the
 * 6-byte MACs, 2-byte, 1-byte), so the wide fields sit at offsets that are multiples of their size
 * (the first MAC at a 4-byte boundary). Uniflow records (72 and 96 bytes) are multiples of 8 bytes;
 * the biflow records end with a 3-byte paddingOctets field (IE 210) to reach 128 and 152 bytes.
 * Data sets (4-byte header + whole records) and the template set are therefore multiples of 4
 * bytes, so no set padding is ever needed.
 */
import { paddingTo4 } from '../set-padding.js';
import { IE, REVERSE_IE, REVERSE_INFORMATION_ELEMENT_PEN, VARIABLE_LENGTH, withLength, type InformationElement } from './information-elements.js';

export const TEMPLATE_SET_ID = 2;
export const OPTIONS_TEMPLATE_SET_ID = 3;
/** Template ids 0-255 are reserved for set ids (RFC 7011 §3.4.1). */
export const MIN_DATA_SET_ID = 256;

export const TEMPLATE_ID_IPV4 = 256;
export const TEMPLATE_ID_IPV6 = 257;
export const TEMPLATE_ID_BIFLOW_IPV4 = 258;
export const TEMPLATE_ID_BIFLOW_IPV6 = 259;

/** Field-id bit marking an enterprise-specific element (RFC 7011 §3.2). */
export const ENTERPRISE_BIT = 0x8000;
/**
 * Encoder key of a tapflow enterprise element (tapflow-elements.ts): 0x10000 | id, so the one
 * switch in record-encoder.ts tells them from IANA ids and RFC 5103 reverse ids (0x8000 | id).
 */
export const TAPFLOW_KEY_BASE = 0x1_0000;
/** Bytes a variable-length field takes at most: tapflow's texts fit the 1-byte length prefix (RFC 7011 §7). */
export const MAX_VARIABLE_FIELD_BYTES = 1 + 254;

export interface TemplateField {
  readonly element: InformationElement;
  readonly lengthBytes: number;
  /** Offset of the field from the start of the record. */
  readonly offsetBytes: number;
}

export interface IpfixTemplate {
  readonly templateId: number;
  /** 4 or 6 for flow templates; 0 for options templates. */
  readonly ipVersion: 0 | 4 | 6;
  /** RFC 5103 biflow template: flowStart/End span both directions (see record-encoder.ts). */
  readonly biflow: boolean;
  /** Options templates: how many leading fields are scope fields; 0 for data templates. */
  readonly scopeFieldCount: number;
  readonly fields: readonly TemplateField[];
  /**
   * What the record encoder switches on, in field order: the IANA element id; 0x8000 | id for
   * RFC 5103 reverse elements (PEN 29305); TAPFLOW_KEY_BASE | id for any other enterprise element,
   * which in a data template is always one of tapflow's own (under the configured PEN).
   */
  readonly fieldIds: Uint32Array;
  /** Length of a record whose variable-length fields are all empty (the whole length when there are none). */
  readonly recordLengthBytes: number;
  /** Longest record: the non-empty variable-length fields at 1 + maxTextBytes. */
  readonly maxRecordLengthBytes: number;
  /** Longest variable-length text the encoder writes (it cuts longer ones). */
  readonly maxTextBytes: number;
}

export interface TemplateOptions {
  readonly ipVersion?: 0 | 4 | 6;
  readonly biflow?: boolean;
  readonly scopeFieldCount?: number;
  /** How many variable-length fields of one record can be non-empty (default: all of them). */
  readonly filledVariableFields?: number;
  /** Bytes kept of a variable-length text (default 254; the encoder cuts longer ones). */
  readonly maxTextBytes?: number;
}

export function defineTemplate(templateId: number, elements: readonly InformationElement[], options: TemplateOptions = {}): IpfixTemplate {
  if (templateId < MIN_DATA_SET_ID || templateId > 0xffff) throw new RangeError(`template id ${templateId} must be 256..65535`);
  const maxTextBytes = options.maxTextBytes ?? MAX_VARIABLE_FIELD_BYTES - 1;
  if (!Number.isInteger(maxTextBytes) || maxTextBytes < 0 || maxTextBytes > MAX_VARIABLE_FIELD_BYTES - 1) throw new RangeError(`maxTextBytes must be 0..254, got ${maxTextBytes}`);
  let offsetBytes = 0;
  let variableFields = 0;
  const fields = elements.map((element) => {
    if (element.enterpriseNumber !== 0 && element.id >= ENTERPRISE_BIT) throw new RangeError(`element id ${element.id} has no room for the enterprise bit`);
    const variable = element.lengthBytes === VARIABLE_LENGTH;
    if (variable) variableFields++;
    else if (variableFields > 0) throw new RangeError(`template ${templateId}: fixed-length ${element.name} after a variable-length field`);
    // Variable-length fields come last, so every fixed field keeps a known offset.
    const field = Object.freeze({ element, lengthBytes: element.lengthBytes, offsetBytes });
    offsetBytes += variable ? 1 : element.lengthBytes;
    return field;
  });
  // Fixed records of a multiple of 4 bytes keep every set 4-byte aligned without padding; sets of
  // variable-length records are padded by the message builder.
  if (variableFields === 0 && offsetBytes % 4 !== 0) throw new RangeError(`template ${templateId} record length ${offsetBytes} is not a multiple of 4`);
  return Object.freeze({
    templateId,
    ipVersion: options.ipVersion ?? 0,
    biflow: options.biflow ?? false,
    scopeFieldCount: options.scopeFieldCount ?? 0,
    fields: Object.freeze(fields),
    fieldIds: Uint32Array.from(elements, encoderKey),
    recordLengthBytes: offsetBytes,
    maxRecordLengthBytes: offsetBytes + Math.min(variableFields, options.filledVariableFields ?? variableFields) * maxTextBytes,
    maxTextBytes,
  });
}

function encoderKey(element: InformationElement): number {
  if (element.enterpriseNumber === 0) return element.id;
  if (element.enterpriseNumber === REVERSE_INFORMATION_ELEMENT_PEN) return ENTERPRISE_BIT | element.id;
  return TAPFLOW_KEY_BASE | element.id;
}

const COUNTERS_AND_TIMES = [IE.octetDeltaCount, IE.packetDeltaCount, IE.flowStartMilliseconds, IE.flowEndMilliseconds];
const AFTER_ADDRESSES = [
  IE.ingressInterface,
  IE.sourceMacAddress,
  IE.destinationMacAddress,
  IE.sourceTransportPort,
  IE.destinationTransportPort,
];
const TCP_AND_VLAN = [IE.tcpControlBits, IE.vlanId];
const ONE_BYTE_FIELDS = [IE.protocolIdentifier, IE.ipClassOfService, IE.minimumTTL, IE.maximumTTL, IE.ipVersion, IE.flowEndReason];

const UNIFLOW_V4_ELEMENTS = [...COUNTERS_AND_TIMES, IE.sourceIPv4Address, IE.destinationIPv4Address, ...AFTER_ADDRESSES, IE.icmpTypeCodeIPv4, ...TCP_AND_VLAN, ...ONE_BYTE_FIELDS];
const UNIFLOW_V6_ELEMENTS = [...COUNTERS_AND_TIMES, IE.sourceIPv6Address, IE.destinationIPv6Address, ...AFTER_ADDRESSES, IE.icmpTypeCodeIPv6, ...TCP_AND_VLAN, ...ONE_BYTE_FIELDS];

/** IPv4 flows: 20 fields, 72-byte records. */
export const IPV4_TEMPLATE = defineTemplate(TEMPLATE_ID_IPV4, UNIFLOW_V4_ELEMENTS, { ipVersion: 4 });

/** IPv6 flows: 20 fields, 96-byte records. */
export const IPV6_TEMPLATE = defineTemplate(TEMPLATE_ID_IPV6, UNIFLOW_V6_ELEMENTS, { ipVersion: 6 });

export const TAPFLOW_TEMPLATES: readonly IpfixTemplate[] = Object.freeze([IPV4_TEMPLATE, IPV6_TEMPLATE]);

// Biflow (RFC 5103 §6): the uniflow fields plus their reverse counterparts in the same size class,
// then 3 padding octets (125 + 3 = 128 / 149 + 3 = 152 bytes). Each reverse element comes BEFORE
// its forward element: nfcapd 1.7.1 maps reverse octet/packet counts to its out_bytes/out_packets
// but stores every other reverse element as if it were the forward one, so the forward value,
// written later, must be the one that stays (see ipfix-biflow.test.ts).
const BIFLOW_COUNTERS_AND_TIMES = [
  IE.octetDeltaCount,
  IE.packetDeltaCount,
  REVERSE_IE.octetDeltaCount,
  REVERSE_IE.packetDeltaCount,
  REVERSE_IE.flowStartMilliseconds,
  REVERSE_IE.flowEndMilliseconds,
  IE.flowStartMilliseconds,
  IE.flowEndMilliseconds,
];
const BIFLOW_AFTER_ADDRESSES = [
  REVERSE_IE.ingressInterface,
  IE.ingressInterface,
  REVERSE_IE.sourceMacAddress,
  REVERSE_IE.destinationMacAddress,
  IE.sourceMacAddress,
  IE.destinationMacAddress,
  IE.sourceTransportPort,
  IE.destinationTransportPort,
];
const BIFLOW_TCP_AND_VLAN = [REVERSE_IE.tcpControlBits, IE.tcpControlBits, IE.vlanId];
const BIFLOW_ONE_BYTE_FIELDS = [
  IE.protocolIdentifier,
  REVERSE_IE.ipClassOfService,
  IE.ipClassOfService,
  REVERSE_IE.minimumTTL,
  REVERSE_IE.maximumTTL,
  IE.minimumTTL,
  IE.maximumTTL,
  IE.ipVersion,
  IE.flowEndReason,
];
const BIFLOW_V4_ELEMENTS = [
  ...BIFLOW_COUNTERS_AND_TIMES,
  IE.sourceIPv4Address,
  IE.destinationIPv4Address,
  ...BIFLOW_AFTER_ADDRESSES,
  IE.icmpTypeCodeIPv4,
  ...BIFLOW_TCP_AND_VLAN,
  ...BIFLOW_ONE_BYTE_FIELDS,
];
const BIFLOW_V6_ELEMENTS = [
  ...BIFLOW_COUNTERS_AND_TIMES,
  IE.sourceIPv6Address,
  IE.destinationIPv6Address,
  ...BIFLOW_AFTER_ADDRESSES,
  IE.icmpTypeCodeIPv6,
  ...BIFLOW_TCP_AND_VLAN,
  ...BIFLOW_ONE_BYTE_FIELDS,
];
const BIFLOW_PADDING = withLength(IE.paddingOctets, 3);

/** IPv4 biflows: 32 fields, 128-byte records. */
export const BIFLOW_IPV4_TEMPLATE = defineTemplate(TEMPLATE_ID_BIFLOW_IPV4, [...BIFLOW_V4_ELEMENTS, BIFLOW_PADDING], { ipVersion: 4, biflow: true });

/** IPv6 biflows: 32 fields, 152-byte records. */
export const BIFLOW_IPV6_TEMPLATE = defineTemplate(TEMPLATE_ID_BIFLOW_IPV6, [...BIFLOW_V6_ELEMENTS, BIFLOW_PADDING], { ipVersion: 6, biflow: true });

/**
 * The classic flow fields (the 256-259 templates without biflow padding): what the connection and
 * DNS templates (flow-templates.ts) extend.
 */
export function classicFlowElements(ipVersion: 4 | 6, biflow: boolean): readonly InformationElement[] {
  if (biflow) return ipVersion === 4 ? BIFLOW_V4_ELEMENTS : BIFLOW_V6_ELEMENTS;
  return ipVersion === 4 ? UNIFLOW_V4_ELEMENTS : UNIFLOW_V6_ELEMENTS;
}

export const BIFLOW_TEMPLATES: readonly IpfixTemplate[] = Object.freeze([BIFLOW_IPV4_TEMPLATE, BIFLOW_IPV6_TEMPLATE]);

/** Bytes of one field specifier: id + length, plus the enterprise number when the bit is set. */
function specifierBytes(field: TemplateField): number {
  return field.element.enterpriseNumber === 0 ? 4 : 8;
}

function writeSpecifiers(view: DataView, offset: number, template: IpfixTemplate): number {
  let at = offset;
  for (const field of template.fields) {
    const enterprise = field.element.enterpriseNumber;
    view.setUint16(at, field.element.id | (enterprise === 0 ? 0 : ENTERPRISE_BIT));
    view.setUint16(at + 2, field.lengthBytes);
    at += 4;
    if (enterprise !== 0) {
      view.setUint32(at, enterprise);
      at += 4;
    }
  }
  return at;
}

/**
 * One Template Set holding every template: set header (id 2, length), then per template its
 * header (template id, field count) and one specifier per field (RFC 7011 §3.4.1, §3.2: enterprise
 * elements as id | 0x8000 followed by the 4-byte Private Enterprise Number).
 */
export function encodeTemplateSet(templates: readonly IpfixTemplate[]): Uint8Array {
  let lengthBytes = 4;
  for (const template of templates) {
    lengthBytes += 4;
    for (const field of template.fields) lengthBytes += specifierBytes(field);
  }
  const bytes = new Uint8Array(lengthBytes);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, TEMPLATE_SET_ID);
  view.setUint16(2, lengthBytes);
  let offset = 4;
  for (const template of templates) {
    view.setUint16(offset, template.templateId);
    view.setUint16(offset + 2, template.fields.length);
    offset = writeSpecifiers(view, offset + 4, template);
  }
  return bytes;
}

/**
 * One Options Template Set per options template (RFC 7011 §3.4.2.2: template id, field count,
 * scope field count, specifiers), each padded to 4 bytes. One template per set because nfcapd
 * reads only the first options template of a set.
 */
export function encodeOptionsTemplateSets(templates: readonly IpfixTemplate[]): Uint8Array {
  const setLengths = templates.map((template) => {
    let length = 4 + 6;
    for (const field of template.fields) length += specifierBytes(field);
    return length + paddingTo4(length);
  });
  const bytes = new Uint8Array(setLengths.reduce((sum, length) => sum + length, 0));
  const view = new DataView(bytes.buffer);
  let offset = 0;
  templates.forEach((template, i) => {
    const setLength = setLengths[i] ?? 0;
    if (template.scopeFieldCount < 1 || template.scopeFieldCount > template.fields.length) {
      throw new RangeError(`options template ${template.templateId} needs 1..${template.fields.length} scope fields`);
    }
    view.setUint16(offset, OPTIONS_TEMPLATE_SET_ID);
    view.setUint16(offset + 2, setLength);
    view.setUint16(offset + 4, template.templateId);
    view.setUint16(offset + 6, template.fields.length);
    view.setUint16(offset + 8, template.scopeFieldCount);
    writeSpecifiers(view, offset + 10, template); // padding bytes stay 0
    offset += setLength;
  });
  return bytes;
}

/** Encoded once at start-up; the message builder copies it into messages that carry templates. */
export const TAPFLOW_TEMPLATE_SET: Uint8Array = encodeTemplateSet(TAPFLOW_TEMPLATES);
export const BIFLOW_TEMPLATE_SET: Uint8Array = encodeTemplateSet(BIFLOW_TEMPLATES);
