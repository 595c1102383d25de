/**
 * One unidirectional flow record handed to exporters, reused for every record.
 *
 * The flow table fills it from its columns when a flow (or one direction of it) is exported, and
 * an exporter encodes it before returning; nobody keeps a reference.
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
