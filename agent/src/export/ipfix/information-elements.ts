/**
 * IPFIX Information Elements (RFC 7012, IANA "IPFIX Information Elements" registry): the abstract
 * data types, the elements tapflow exports, and name lookup for any element (so `inspect` can name
 * records from other exporters too). Constants only; nothing here runs per packet.
 */
import { IANA_ELEMENT_ROWS } from './iana-element-table.js';
import { describeTapflowElement } from './tapflow-elements.js';

/** RFC 7012 §3.1 abstract data types. */
export type IpfixAbstractType =
  | 'unsigned8'
  | 'unsigned16'
  | 'unsigned32'
  | 'unsigned64'
  | 'signed8'
  | 'signed16'
  | 'signed32'
  | 'signed64'
  | 'float32'
  | 'float64'
  | 'boolean'
  | 'macAddress'
  | 'octetArray'
  | 'string'
  | 'dateTimeSeconds'
  | 'dateTimeMilliseconds'
  | 'dateTimeMicroseconds'
  | 'dateTimeNanoseconds'
  | 'ipv4Address'
  | 'ipv6Address'
  | 'basicList'
  | 'subTemplateList'
  | 'subTemplateMultiList';

/** Field length that announces a variable-length field in a template (RFC 7011 §7). */
export const VARIABLE_LENGTH = 65_535;

/** Default (full) encoding length of each abstract type in bytes; VARIABLE_LENGTH when variable. */
export const DEFAULT_LENGTH_BYTES: Readonly<Record<IpfixAbstractType, number>> = {
  unsigned8: 1,
  unsigned16: 2,
  unsigned32: 4,
  unsigned64: 8,
  signed8: 1,
  signed16: 2,
  signed32: 4,
  signed64: 8,
  float32: 4,
  float64: 8,
  boolean: 1,
  macAddress: 6,
  octetArray: VARIABLE_LENGTH,
  string: VARIABLE_LENGTH,
  dateTimeSeconds: 4,
  dateTimeMilliseconds: 8,
  dateTimeMicroseconds: 8,
  dateTimeNanoseconds: 8,
  ipv4Address: 4,
  ipv6Address: 16,
  basicList: VARIABLE_LENGTH,
  subTemplateList: VARIABLE_LENGTH,
  subTemplateMultiList: VARIABLE_LENGTH,
};

export interface InformationElement {
  /** Element id without the enterprise bit. */
  readonly id: number;
  /** 0 for IANA elements, else the Private Enterprise Number. */
  readonly enterpriseNumber: number;
  /** Name as in the IANA registry, e.g. `octetDeltaCount`. */
  readonly name: string;
  readonly type: IpfixAbstractType;
  readonly lengthBytes: number;
}

function iana(id: number, name: string, type: IpfixAbstractType): InformationElement {
  return Object.freeze({ id, enterpriseNumber: 0, name, type, lengthBytes: DEFAULT_LENGTH_BYTES[type] });
}

/** The elements tapflow's templates use (RFC 7012 / IANA; tcpControlBits is 16 bits since RFC 7125). */
export const IE = {
  octetDeltaCount: iana(1, 'octetDeltaCount', 'unsigned64'),
  packetDeltaCount: iana(2, 'packetDeltaCount', 'unsigned64'),
  protocolIdentifier: iana(4, 'protocolIdentifier', 'unsigned8'),
  ipClassOfService: iana(5, 'ipClassOfService', 'unsigned8'),
  tcpControlBits: iana(6, 'tcpControlBits', 'unsigned16'),
  sourceTransportPort: iana(7, 'sourceTransportPort', 'unsigned16'),
  sourceIPv4Address: iana(8, 'sourceIPv4Address', 'ipv4Address'),
  ingressInterface: iana(10, 'ingressInterface', 'unsigned32'),
  destinationTransportPort: iana(11, 'destinationTransportPort', 'unsigned16'),
  destinationIPv4Address: iana(12, 'destinationIPv4Address', 'ipv4Address'),
  sourceIPv6Address: iana(27, 'sourceIPv6Address', 'ipv6Address'),
  destinationIPv6Address: iana(28, 'destinationIPv6Address', 'ipv6Address'),
  icmpTypeCodeIPv4: iana(32, 'icmpTypeCodeIPv4', 'unsigned16'),
  minimumTTL: iana(52, 'minimumTTL', 'unsigned8'),
  maximumTTL: iana(53, 'maximumTTL', 'unsigned8'),
  sourceMacAddress: iana(56, 'sourceMacAddress', 'macAddress'),
  vlanId: iana(58, 'vlanId', 'unsigned16'),
  ipVersion: iana(60, 'ipVersion', 'unsigned8'),
  destinationMacAddress: iana(80, 'destinationMacAddress', 'macAddress'),
  flowEndReason: iana(136, 'flowEndReason', 'unsigned8'),
  minimumIpTotalLength: iana(25, 'minimumIpTotalLength', 'unsigned64'),
  maximumIpTotalLength: iana(26, 'maximumIpTotalLength', 'unsigned64'),
  httpStatusCode: iana(457, 'httpStatusCode', 'unsigned16'),
  httpRequestMethod: iana(459, 'httpRequestMethod', 'string'),
  httpRequestHost: iana(460, 'httpRequestHost', 'string'),
  icmpTypeCodeIPv6: iana(139, 'icmpTypeCodeIPv6', 'unsigned16'),
  flowStartMilliseconds: iana(152, 'flowStartMilliseconds', 'dateTimeMilliseconds'),
  flowEndMilliseconds: iana(153, 'flowEndMilliseconds', 'dateTimeMilliseconds'),
  // Options records (RFC 7011 §4, RFC 5477 / PSAMP, deprecated NetFlow v9-heritage sampling elements).
  samplingInterval: iana(34, 'samplingInterval', 'unsigned32'),
  samplingAlgorithm: iana(35, 'samplingAlgorithm', 'unsigned8'),
  exportedOctetTotalCount: iana(40, 'exportedOctetTotalCount', 'unsigned64'),
  exportedMessageTotalCount: iana(41, 'exportedMessageTotalCount', 'unsigned64'),
  exportedFlowRecordTotalCount: iana(42, 'exportedFlowRecordTotalCount', 'unsigned64'),
  observationDomainId: iana(149, 'observationDomainId', 'unsigned32'),
  observedFlowTotalCount: iana(163, 'observedFlowTotalCount', 'unsigned64'),
  ignoredPacketTotalCount: iana(164, 'ignoredPacketTotalCount', 'unsigned64'),
  paddingOctets: iana(210, 'paddingOctets', 'octetArray'),
  selectorAlgorithm: iana(304, 'selectorAlgorithm', 'unsigned16'),
  samplingPacketInterval: iana(305, 'samplingPacketInterval', 'unsigned32'),
  samplingPacketSpace: iana(306, 'samplingPacketSpace', 'unsigned32'),
  samplingProbability: iana(311, 'samplingProbability', 'float64'),
  observationTimeMilliseconds: iana(323, 'observationTimeMilliseconds', 'dateTimeMilliseconds'),
} as const;

/** RFC 5103 biflow reverse elements are IANA elements under this Private Enterprise Number. */
export const REVERSE_INFORMATION_ELEMENT_PEN = 29_305;

/** The RFC 5103 §6.1 reverse counterpart of an IANA element: same id and type, PEN 29305, `reverse<Name>`. */
function reverseOf(element: InformationElement): InformationElement {
  const name = `reverse${element.name.charAt(0).toUpperCase()}${element.name.slice(1)}`;
  return Object.freeze({ ...element, enterpriseNumber: REVERSE_INFORMATION_ELEMENT_PEN, name });
}

/** The reverse elements tapflow's biflow templates use. */
export const REVERSE_IE = {
  octetDeltaCount: reverseOf(IE.octetDeltaCount),
  packetDeltaCount: reverseOf(IE.packetDeltaCount),
  ipClassOfService: reverseOf(IE.ipClassOfService),
  tcpControlBits: reverseOf(IE.tcpControlBits),
  ingressInterface: reverseOf(IE.ingressInterface),
  minimumTTL: reverseOf(IE.minimumTTL),
  maximumTTL: reverseOf(IE.maximumTTL),
  sourceMacAddress: reverseOf(IE.sourceMacAddress),
  destinationMacAddress: reverseOf(IE.destinationMacAddress),
  flowStartMilliseconds: reverseOf(IE.flowStartMilliseconds),
  flowEndMilliseconds: reverseOf(IE.flowEndMilliseconds),
  minimumIpTotalLength: reverseOf(IE.minimumIpTotalLength),
  maximumIpTotalLength: reverseOf(IE.maximumIpTotalLength),
} as const;

/** The same element announced with another field length (paddingOctets, reduced-size encoding: RFC 7011 §6.2). */
export function withLength(element: InformationElement, lengthBytes: number): InformationElement {
  return Object.freeze({ ...element, lengthBytes });
}

/** IANA flowEndReason names (registry "flowEndReason (Value 136)"), indexed by value. */
export const FLOW_END_REASON_NAMES: readonly string[] = [
  'reserved',
  'idleTimeout',
  'activeTimeout',
  'endOfFlow',
  'forcedEnd',
  'lackOfResources',
];

const byId = new Map<number, InformationElement>();
for (const [id, name, type] of IANA_ELEMENT_ROWS) byId.set(id, iana(id, name, type));
for (const element of Object.values(IE)) byId.set(element.id, element);

/** The IANA element with this id, or undefined when tapflow's table does not know it. */
export function ianaElement(id: number): InformationElement | undefined {
  return byId.get(id);
}

/**
 * Describe a field seen in a template: the IANA element when known (RFC 5103 reverse elements as
 * `reverse<Name>`), else `ie<ID>` or `<PEN>.<ID>` typed as octetArray (shown as hex).
 */
export function describeElement(id: number, enterpriseNumber: number): InformationElement {
  if (enterpriseNumber === 0) {
    return byId.get(id) ?? { id, enterpriseNumber, name: `ie${id}`, type: 'octetArray', lengthBytes: VARIABLE_LENGTH };
  }
  const forward = enterpriseNumber === REVERSE_INFORMATION_ELEMENT_PEN ? byId.get(id) : undefined;
  if (forward !== undefined) return reverseOf(forward);
  const tapflow = describeTapflowElement(id, enterpriseNumber);
  if (tapflow !== undefined) return tapflow;
  return { id, enterpriseNumber, name: `${enterpriseNumber}.${id}`, type: 'octetArray', lengthBytes: VARIABLE_LENGTH };
}
