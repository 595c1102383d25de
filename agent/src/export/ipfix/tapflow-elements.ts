/**
 * tapflow's enterprise-specific Information Elements (RFC 7011 §3.2): what no IANA element says —
 * the TCP connection's outcome, handshake RTT halves, server response time, retransmissions,
 * out-of-order segments, zero windows, and the DNS and TLS hints. They live under a Private
 * Enterprise Number the operator configures (`ipfix.enterpriseNumber`); the default 32473 is the
 * PEN RFC 5612 reserves for documentation, so records are decodable out of the box and an
 * organisation with its own PEN can move them there.
 *
 * Reverse direction (biflow): RFC 5103's PEN 29305 only covers IANA elements, so the reverse of a
 * tapflow element is the same PEN with bit 14 (0x4000) set in its id, the convention RFC 5103
 * §6.1 describes for enterprise-specific elements (and YAF uses).
 *
 * The ids and meanings are a public contract (README "IPFIX elements", GoFlow2 mapping): never
 * renumber; add new ones at the end.
 */
import type { InformationElement, IpfixAbstractType } from './information-elements.js';
import { DEFAULT_LENGTH_BYTES } from './information-elements.js';

/** RFC 5612: the PEN reserved for documentation and examples. */
export const DEFAULT_TAPFLOW_PEN = 32_473;
/** Bit 14 of an enterprise element id: the reverse-direction counterpart (RFC 5103 §6.1). */
export const TAPFLOW_REVERSE_BIT = 0x4000;

/** [id, name, type, description]: the README table and the GoFlow2 mapping are made from these. */
export const TAPFLOW_ELEMENT_ROWS = [
  [1, 'connectionOutcome', 'unsigned8', 'How the TCP connection went: 1 completed, 2 resetByClient, 3 resetByServer, 4 rejected, 5 synUnanswered, 6 openAtActiveTimeout, 7 idle, 8 midStream'],
  [2, 'tcpSynRetryCount', 'unsigned16', 'SYNs the client sent after its first, before any SYN/ACK'],
  [3, 'handshakeServerRttMicroseconds', 'unsigned32', 'Handshake, server side: last SYN to first SYN/ACK (µs; 0 = not measured)'],
  [4, 'handshakeClientRttMicroseconds', 'unsigned32', 'Handshake, client side: SYN/ACK to the client\'s ACK (µs; 0 = not measured)'],
  [5, 'serverResponseCount', 'unsigned32', 'Request/response turns completed in this record'],
  [6, 'serverResponseSumMicroseconds', 'unsigned64', 'Sum of those turns\' server response times (last request byte to first response byte, µs)'],
  [7, 'serverResponseMinMicroseconds', 'unsigned32', 'Shortest server response time of the record (µs)'],
  [8, 'serverResponseMaxMicroseconds', 'unsigned32', 'Longest server response time of the record (µs)'],
  [9, 'retransmittedPacketDeltaCount', 'unsigned32', 'Segments resending sequence space already seen (this direction, this record)'],
  [10, 'retransmittedOctetDeltaCount', 'unsigned64', 'TCP payload octets of those segments'],
  [11, 'outOfOrderPacketDeltaCount', 'unsigned32', 'Segments that filled a gap in the sequence space'],
  [12, 'zeroWindowDeltaCount', 'unsigned32', 'Segments advertising a zero receive window'],
  [13, 'dnsQueryName', 'string', 'DNS: the first question\'s name'],
  [14, 'dnsQueryType', 'unsigned16', 'DNS: the first question\'s QTYPE (0 = none)'],
  [15, 'dnsResponseCode', 'unsigned8', 'DNS: RCODE of the response; 255 = no response seen'],
  [16, 'tlsServerName', 'string', 'TLS: ClientHello server_name (SNI)'],
  [17, 'tlsVersion', 'unsigned16', 'TLS: negotiated version (ServerHello), else the client\'s highest offered; 0 = none'],
  [18, 'tlsApplicationProtocol', 'string', 'TLS: the first ALPN protocol the client offered'],
] as const satisfies readonly (readonly [number, string, IpfixAbstractType, string])[];

type TapflowElementName = (typeof TAPFLOW_ELEMENT_ROWS)[number][1];

/** dnsResponseCode value meaning "no DNS response seen". */
export const DNS_NO_RESPONSE = 255;

/** The elements under `pen`, by name: forward, and `reverse<Name>` for the directional ones. */
export function tapflowElements(pen: number): Readonly<Record<TapflowElementName, InformationElement>> {
  const byName: Record<string, InformationElement> = {};
  for (const [id, name, type] of TAPFLOW_ELEMENT_ROWS) {
    byName[name] = Object.freeze({ id, enterpriseNumber: pen, name, type, lengthBytes: DEFAULT_LENGTH_BYTES[type] });
  }
  return Object.freeze(byName) as Record<TapflowElementName, InformationElement>;
}

/** The reverse-direction counterpart of a tapflow element (id | 0x4000, same PEN). */
export function tapflowReverseOf(element: InformationElement): InformationElement {
  const name = `reverse${element.name.charAt(0).toUpperCase()}${element.name.slice(1)}`;
  return Object.freeze({ ...element, id: element.id | TAPFLOW_REVERSE_BIT, name });
}

/** Names a field seen in a template when its PEN is tapflow's (for `inspect`); undefined otherwise. */
export function describeTapflowElement(id: number, enterpriseNumber: number, pen: number = DEFAULT_TAPFLOW_PEN): InformationElement | undefined {
  if (enterpriseNumber !== pen) return undefined;
  const forwardId = id & ~TAPFLOW_REVERSE_BIT;
  const row = TAPFLOW_ELEMENT_ROWS.find(([rowId]) => rowId === forwardId);
  if (row === undefined) return undefined;
  const [, name, type] = row;
  const forward: InformationElement = { id: forwardId, enterpriseNumber, name, type, lengthBytes: DEFAULT_LENGTH_BYTES[type] };
  return forwardId === id ? forward : tapflowReverseOf(forward);
}
