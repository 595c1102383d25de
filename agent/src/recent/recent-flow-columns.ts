/**
 * Which FlowRecord fields the recent-flow ring keeps, in what typed column, and what flows.query
 * calls them (IANA IPFIX element names where one exists, `...Ms` for the millisecond times).
 * Keeping one more numeric FlowRecord field is one line here: the ring copies it, and the query
 * returns it. The addresses (srcAddr/dstAddr word arrays) are kept by the ring itself.
 *
 * The column type bounds what is kept: pick one that holds every value the field can take
 * (Float64Array for counters and times, which may pass 2^32).
 */
import type { FlowRecord } from '../flow/flow-record.js';

/** How a column's value reads in a query result. */
export type ColumnFormat = 'number' | 'mac' | 'endReason' | 'outcome' | 'appHint';

export type NumericFlowField = { [K in keyof FlowRecord]: FlowRecord[K] extends number ? K : never }[keyof FlowRecord];

export interface RecentFlowColumn {
  field: NumericFlowField;
  type: Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor | Float64ArrayConstructor;
  /** The key in a query result record. */
  name: string;
  format?: ColumnFormat;
}

export const RECENT_FLOW_COLUMNS = [
  { field: 'ipVersion', type: Uint8Array, name: 'ipVersion' },
  { field: 'srcPort', type: Uint16Array, name: 'sourcePort' },
  { field: 'dstPort', type: Uint16Array, name: 'destinationPort' },
  { field: 'protocol', type: Uint8Array, name: 'protocol' },
  { field: 'icmpTypeCode', type: Uint16Array, name: 'icmpTypeCode' },
  { field: 'packets', type: Float64Array, name: 'packets' },
  { field: 'octets', type: Float64Array, name: 'octets' },
  { field: 'tcpFlags', type: Uint16Array, name: 'tcpFlags' },
  { field: 'tos', type: Uint8Array, name: 'ipClassOfService' },
  { field: 'minTtl', type: Uint8Array, name: 'minimumTTL' },
  { field: 'maxTtl', type: Uint8Array, name: 'maximumTTL' },
  { field: 'srcMac', type: Float64Array, name: 'sourceMacAddress', format: 'mac' },
  { field: 'dstMac', type: Float64Array, name: 'destinationMacAddress', format: 'mac' },
  { field: 'vlanId', type: Uint16Array, name: 'vlanId' },
  { field: 'ingressInterface', type: Uint32Array, name: 'ingressInterface' },
  { field: 'startMs', type: Float64Array, name: 'flowStartMs' },
  { field: 'endMs', type: Float64Array, name: 'flowEndMs' },
  { field: 'endReason', type: Uint8Array, name: 'endReason', format: 'endReason' },
  { field: 'reversePackets', type: Float64Array, name: 'reversePackets' },
  { field: 'reverseOctets', type: Float64Array, name: 'reverseOctets' },
  { field: 'reverseTcpFlags', type: Uint16Array, name: 'reverseTcpFlags' },
  { field: 'reverseTos', type: Uint8Array, name: 'reverseIpClassOfService' },
  { field: 'reverseMinTtl', type: Uint8Array, name: 'reverseMinimumTTL' },
  { field: 'reverseMaxTtl', type: Uint8Array, name: 'reverseMaximumTTL' },
  { field: 'reverseSrcMac', type: Float64Array, name: 'reverseSourceMacAddress', format: 'mac' },
  { field: 'reverseDstMac', type: Float64Array, name: 'reverseDestinationMacAddress', format: 'mac' },
  { field: 'reverseIngressInterface', type: Uint32Array, name: 'reverseIngressInterface' },
  { field: 'reverseStartMs', type: Float64Array, name: 'reverseFlowStartMs' },
  { field: 'reverseEndMs', type: Float64Array, name: 'reverseFlowEndMs' },
  // TCP connection metrics (issue 7): the same in every record of a connection, or per record and direction.
  { field: 'connectionOutcome', type: Uint8Array, name: 'connectionOutcome', format: 'outcome' },
  { field: 'synRetries', type: Uint16Array, name: 'synRetries' },
  { field: 'handshakeServerRttUs', type: Float64Array, name: 'handshakeServerRttUs' },
  { field: 'handshakeClientRttUs', type: Float64Array, name: 'handshakeClientRttUs' },
  { field: 'serverResponseCount', type: Uint32Array, name: 'serverResponseCount' },
  { field: 'serverResponseSumUs', type: Float64Array, name: 'serverResponseSumUs' },
  { field: 'serverResponseMinUs', type: Float64Array, name: 'serverResponseMinUs' },
  { field: 'serverResponseMaxUs', type: Float64Array, name: 'serverResponseMaxUs' },
  { field: 'retransmittedPackets', type: Float64Array, name: 'retransmittedPackets' },
  { field: 'retransmittedOctets', type: Float64Array, name: 'retransmittedOctets' },
  { field: 'outOfOrderPackets', type: Float64Array, name: 'outOfOrderPackets' },
  { field: 'zeroWindowEvents', type: Float64Array, name: 'zeroWindowEvents' },
  { field: 'minIpOctets', type: Uint32Array, name: 'minimumIpTotalLength' },
  { field: 'maxIpOctets', type: Uint32Array, name: 'maximumIpTotalLength' },
  { field: 'reverseRetransmittedPackets', type: Float64Array, name: 'reverseRetransmittedPackets' },
  { field: 'reverseRetransmittedOctets', type: Float64Array, name: 'reverseRetransmittedOctets' },
  { field: 'reverseOutOfOrderPackets', type: Float64Array, name: 'reverseOutOfOrderPackets' },
  { field: 'reverseZeroWindowEvents', type: Float64Array, name: 'reverseZeroWindowEvents' },
  { field: 'reverseMinIpOctets', type: Uint32Array, name: 'reverseMinimumIpTotalLength' },
  { field: 'reverseMaxIpOctets', type: Uint32Array, name: 'reverseMaximumIpTotalLength' },
  // Application hints (issue 7), per connection; the name (query name, Host or SNI) is kept by
  // the ring itself as `serverName` (see RECENT_SERVER_NAME_BYTES).
  { field: 'appHintKind', type: Uint8Array, name: 'appHint', format: 'appHint' },
  { field: 'dnsQueryType', type: Uint16Array, name: 'dnsQueryType' },
  { field: 'dnsResponseSeen', type: Uint8Array, name: 'dnsResponseSeen' },
  { field: 'dnsResponseCode', type: Uint8Array, name: 'dnsResponseCode' },
  { field: 'httpStatusCode', type: Uint16Array, name: 'httpStatusCode' },
  { field: 'tlsVersion', type: Uint16Array, name: 'tlsVersion' },
] as const satisfies readonly RecentFlowColumn[];

/** The fields the ring keeps (the query reads its filters' columns by these names). */
export type RecentFlowField = (typeof RECENT_FLOW_COLUMNS)[number]['field'];
