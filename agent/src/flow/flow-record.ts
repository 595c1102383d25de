/**
 * One flow record handed to exporters, reused for every record: a whole connection in RFC 5103
 * terms. The plain fields are the forward direction (src → dst, the side that sent the flow's
 * first packet); the `reverse*` fields are the reverse direction (dst → src) of the same flow
 * over the same time. Either direction may be empty (packets 0): e.g. the part of a long flow
 * after an active timeout where only the server spoke.
 *
 * Uniflow exporters (IPFIX by default, NetFlow v9/v5) see it through UniflowSplitter, which hands
 * them up to two one-direction records (forward first) with the reverse fields zeroed; biflow
 * IPFIX encodes it whole.
 *
 * The flow table fills it from its columns when a flow is exported, and an exporter encodes it
 * before returning; nobody keeps a reference.
 */
export class FlowRecord {
  /** 4 or 6. */
  ipVersion = 4;
  /** IPv4 in [0]; IPv6 as four big-endian 32-bit words. */
  readonly srcAddr = new Uint32Array(4);
  readonly dstAddr = new Uint32Array(4);
  srcPort = 0;
  dstPort = 0;
  protocol = 0;
  /** ICMP type << 8 | code (icmpTypeCodeIPv4 / icmpTypeCodeIPv6); 0 otherwise. */
  icmpTypeCode = 0;
  /** octetDeltaCount: IP octets (IP headers included) in this record. */
  octets = 0;
  packets = 0;
  /** OR of tcpControlBits over the record's packets. */
  tcpFlags = 0;
  /** ipClassOfService of the first packet. */
  tos = 0;
  minTtl = 0;
  maxTtl = 0;
  /** 48-bit Ethernet addresses as integers; 0 when unknown. */
  srcMac = 0;
  dstMac = 0;
  vlanId = 0;
  ingressInterface = 0;
  /** flowStartMilliseconds / flowEndMilliseconds: integer ms since the Unix epoch. */
  startMs = 0;
  endMs = 0;
  /** flowEndReason (IANA): see FlowEndReason. */
  endReason = 0;

  // The reverse direction (dst → src). Same meaning as the forward fields above.
  reversePackets = 0;
  reverseOctets = 0;
  reverseTcpFlags = 0;
  reverseTos = 0;
  reverseMinTtl = 0;
  reverseMaxTtl = 0;
  /** Ethernet source/destination of the reverse direction's first packet (the src/dst MACs swapped, as seen on the wire). */
  reverseSrcMac = 0;
  reverseDstMac = 0;
  reverseIngressInterface = 0;
  reverseStartMs = 0;
  reverseEndMs = 0;
}

/** IANA flowEndReason values (RFC 7012 / IANA IPFIX registry, IE 136). */
export const FlowEndReason = {
  IDLE_TIMEOUT: 1,
  ACTIVE_TIMEOUT: 2,
  END_OF_FLOW: 3,
  FORCED_END: 4,
  LACK_OF_RESOURCES: 5,
} as const;

/** Where exported flow records go. Exporters encode synchronously and own their buffering. */
export interface FlowRecordSink {
  /** Encode one record; rec is borrowed for the duration of the call. */
  add(rec: FlowRecord): void;
  /** Send whatever is buffered (end of a tick); cheap when nothing is pending. */
  flush(nowMs: number): void;
}
