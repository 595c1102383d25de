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
/** Capacity of each hint text field: fits IPFIX's one-byte variable-length prefix (RFC 7011 §7). */
export const HINT_TEXT_MAX_BYTES = 254;

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

  // Per TCP connection (issue 7), the same in every record of the flow, including each part
  // exported at an active timeout; 0 for other protocols. The client is the side that sent the
  // first SYN, which is the forward side; for a mid-stream connection (no SYN seen) the forward
  // side, i.e. whoever sent the first packet seen, is taken as the client.
  /** How the connection went so far: see ConnectionOutcome. */
  connectionOutcome = 0;
  /** SYNs the client sent after the first, before any SYN/ACK (tcpSynTotalCount − 1 of a handshake). */
  synRetries = 0;
  /** Handshake, server side: the last SYN → the first SYN/ACK, in µs (truncated); 0 = not measured. */
  handshakeServerRttUs = 0;
  /** Handshake, client side: the last SYN/ACK → the client's first ACK, in µs (truncated); 0 = not measured. */
  handshakeClientRttUs = 0;
  /**
   * Server response time, one sample per request/response turn completed within this record's
   * span: the client's last request payload packet (a resend included) → the server's first
   * response payload packet. Count of turns, and sum/min/max in µs; all 0 when no turn completed.
   */
  serverResponseCount = 0;
  serverResponseSumUs = 0;
  serverResponseMinUs = 0;
  serverResponseMaxUs = 0;

  // Per-direction TCP quality of this record's span (forward; reverse* below). See
  // tcp-connection-tracker.ts for the exact rules.
  /** Segments resending sequence space already seen (SYN retries included, with 0 octets). */
  retransmittedPackets = 0;
  /** TCP payload bytes of those segments. */
  retransmittedOctets = 0;
  /** Segments that filled a gap in the sequence space (arrived after a later segment). */
  outOfOrderPackets = 0;
  /** Segments advertising a zero receive window (not SYN, FIN or RST), tshark's zero_window. */
  zeroWindowEvents = 0;
  /** Smallest and largest IP packet (IP headers included) in octets, any protocol; 0 when the direction is empty. */
  minIpOctets = 0;
  maxIpOctets = 0;

  // Application hints (issue 7), read from the first packets of the flow (see hints config) and
  // the same in every record of the flow. appHintKind is an AppHintKind (0 = none). Text fields
  // are raw bytes (ASCII in practice): the first ...Length bytes of each buffer are the value.
  appHintKind = 0;
  /** DNS: the first question's name (dotted), its QTYPE, and the response code once a response was seen. */
  readonly dnsQueryName = new Uint8Array(HINT_TEXT_MAX_BYTES);
  dnsQueryNameLength = 0;
  dnsQueryType = 0;
  /** 1 when a DNS response was seen (dnsResponseCode is then meaningful). */
  dnsResponseSeen = 0;
  dnsResponseCode = 0;
  /** HTTP/1.x: the request method token, the Host header value, the response status code (0 = none seen). */
  readonly httpRequestMethod = new Uint8Array(HINT_TEXT_MAX_BYTES);
  httpRequestMethodLength = 0;
  readonly httpRequestHost = new Uint8Array(HINT_TEXT_MAX_BYTES);
  httpRequestHostLength = 0;
  httpStatusCode = 0;
  /** TLS: ClientHello server_name, the negotiated version (ServerHello; else the client's highest offered; 0 = none), the first ALPN protocol. */
  readonly tlsServerName = new Uint8Array(HINT_TEXT_MAX_BYTES);
  tlsServerNameLength = 0;
  tlsVersion = 0;
  readonly tlsAlpn = new Uint8Array(HINT_TEXT_MAX_BYTES);
  tlsAlpnLength = 0;

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
  reverseRetransmittedPackets = 0;
  reverseRetransmittedOctets = 0;
  reverseOutOfOrderPackets = 0;
  reverseZeroWindowEvents = 0;
  reverseMinIpOctets = 0;
  reverseMaxIpOctets = 0;
}

/**
 * How a TCP connection went, as far as the probe saw it. Decided once, by the first decisive
 * event, and then kept in every later record (a RST after FIN both ways stays COMPLETED):
 * - MID_STREAM is decided by the flow's first packet (anything but a bare SYN: the connection
 *   started before the capture, or the SYN was missed) and takes precedence over every later
 *   event, even FIN both ways, so operators know the handshake metrics are absent;
 * - COMPLETED: FIN seen in both directions;
 * - RESET_BY_CLIENT / RESET_BY_SERVER: a RST from the client (forward) / server (reverse);
 * - REJECTED: the server's first answer to the SYN was a RST;
 * Undecided connections get, when the record is exported:
 * - OPEN_AT_ACTIVE_TIMEOUT for an active-timeout part; also for a final record of a connection
 *   that was still open (answered, no FIN/RST) when forced out: end of input, SIGTERM, a full table;
 * - SYN_UNANSWERED for a final record when no SYN/ACK came (see synRetries);
 * - IDLE for an idle-timeout record of an answered connection that ended without FIN or RST.
 */
export const ConnectionOutcome = {
  NOT_TCP: 0,
  COMPLETED: 1,
  RESET_BY_CLIENT: 2,
  RESET_BY_SERVER: 3,
  REJECTED: 4,
  SYN_UNANSWERED: 5,
  OPEN_AT_ACTIVE_TIMEOUT: 6,
  IDLE: 7,
  MID_STREAM: 8,
} as const;

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
