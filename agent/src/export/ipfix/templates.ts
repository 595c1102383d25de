/**
 * tapflow's two IPFIX templates (RFC 7011 §3.4.1) and their encoded Template Set, computed once at
 * module load.
 *
 * Field order: largest fields first (8-byte counters and timestamps, then addresses, 4-byte, the
 * 6-byte MACs, 2-byte, 1-byte). Every field then starts at an offset that is a multiple of its own
 * size (MACs at a 4-byte boundary), and the records (72 and 96 bytes) are multiples of 8 bytes. Data
 * sets (4-byte header + whole records) and the template set (172 bytes) are therefore multiples of 4
 * bytes, so no padding is ever needed.
 */
import { IE, type InformationElement } from './information-elements.js';

export const TEMPLATE_SET_ID = 2;
export const OPTIONS_TEMPLATE_SET_ID = 3;
/** Template ids 0-255 are reserved for set ids (RFC 7011 §3.4.1). */
export const MIN_DATA_SET_ID = 256;

export const TEMPLATE_ID_IPV4 = 256;
export const TEMPLATE_ID_IPV6 = 257;

export interface TemplateField {
  readonly element: InformationElement;
  readonly lengthBytes: number;
  /** Offset of the field from the start of the record. */
  readonly offsetBytes: number;
}

export interface IpfixTemplate {
  readonly templateId: number;
  readonly ipVersion: 4 | 6;
  readonly fields: readonly TemplateField[];
  /** Element ids in field order: what the record encoder switches on. */
  readonly fieldIds: Uint16Array;
  readonly recordLengthBytes: number;
}

function defineTemplate(templateId: number, ipVersion: 4 | 6, elements: readonly InformationElement[]): IpfixTemplate {
  if (templateId < MIN_DATA_SET_ID || templateId > 0xffff) throw new RangeError(`template id ${templateId} must be 256..65535`);
  let offsetBytes = 0;
  const fields = elements.map((element) => {
    const field = Object.freeze({ element, lengthBytes: element.lengthBytes, offsetBytes });
    offsetBytes += element.lengthBytes;
    return field;
  });
  // Whole records of a multiple of 4 bytes keep every set 4-byte aligned without padding.
  if (offsetBytes % 4 !== 0) throw new RangeError(`template ${templateId} record length ${offsetBytes} is not a multiple of 4`);
  return Object.freeze({
    templateId,
    ipVersion,
    fields: Object.freeze(fields),
    fieldIds: Uint16Array.from(elements, (element) => element.id),
    recordLengthBytes: offsetBytes,
  });
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

/** IPv4 flows: 20 fields, 72-byte records. */
export const IPV4_TEMPLATE = defineTemplate(TEMPLATE_ID_IPV4, 4, [
  ...COUNTERS_AND_TIMES,
  IE.sourceIPv4Address,
  IE.destinationIPv4Address,
  ...AFTER_ADDRESSES,
  IE.icmpTypeCodeIPv4,
  ...TCP_AND_VLAN,
  ...ONE_BYTE_FIELDS,
]);

/** IPv6 flows: 20 fields, 96-byte records. */
export const IPV6_TEMPLATE = defineTemplate(TEMPLATE_ID_IPV6, 6, [
  ...COUNTERS_AND_TIMES,
  IE.sourceIPv6Address,
  IE.destinationIPv6Address,
  ...AFTER_ADDRESSES,
  IE.icmpTypeCodeIPv6,
  ...TCP_AND_VLAN,
  ...ONE_BYTE_FIELDS,
]);

export const TAPFLOW_TEMPLATES: readonly IpfixTemplate[] = Object.freeze([IPV4_TEMPLATE, IPV6_TEMPLATE]);

/**
 * One Template Set holding every template: set header (id 2, length), then per template its
 * header (template id, field count) and one (element id, length) specifier per field. Only IANA
 * elements, so no enterprise numbers.
 */
export function encodeTemplateSet(templates: readonly IpfixTemplate[]): Uint8Array {
  let lengthBytes = 4;
  for (const template of templates) lengthBytes += 4 + 4 * template.fields.length;
  const bytes = new Uint8Array(lengthBytes);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, TEMPLATE_SET_ID);
  view.setUint16(2, lengthBytes);
  let offset = 4;
  for (const template of templates) {
    view.setUint16(offset, template.templateId);
    view.setUint16(offset + 2, template.fields.length);
    offset += 4;
    for (const field of template.fields) {
      view.setUint16(offset, field.element.id);
      view.setUint16(offset + 2, field.lengthBytes);
      offset += 4;
    }
  }
  return bytes;
}

/** Encoded once at start-up; the message builder copies it into messages that carry templates. */
export const TAPFLOW_TEMPLATE_SET: Uint8Array = encodeTemplateSet(TAPFLOW_TEMPLATES);
