/**
 * The flow table's columns: one typed array per field, indexed by slot (struct of arrays), all
 * allocated once at start for `capacity` flows, plus a stack of free slots.
 *
 * Endpoint A is the source of the first packet seen (the initiator for TCP), so FORWARD is A→B
 * and REVERSE is B→A; per-direction columns hold two entries per slot (see directionIndex).
 *
 * Memory: 321 bytes of columns per slot (183 before the TCP connection metrics of issue 7:
 * +56 per slot for connection state and response times, +2 × 41 per direction for sequence
 * tracking, retransmission/out-of-order/zero-window counters and the IP size range), plus the
 * application hints (issue 7): 14 bytes of numbers and lengths plus the text columns
 * (hintTextBytes; with the defaults 64 + 16 + 16 = 96, so +110 bytes; +14 with hints off),
 * plus the index and expiry lists outside this class.
 */

/** Bytes per slot of the hint text columns (0 each when hints are off). */
export interface HintTextBytes {
  /** The shared name column: DNS query name, HTTP Host or TLS server_name (one kind per flow). */
  name: number;
  /** The first ALPN protocol of a TLS ClientHello. */
  alpn: number;
  /** An HTTP request's method token. */
  method: number;
}

const NO_HINT_TEXT: Readonly<HintTextBytes> = Object.freeze({ name: 0, alpn: 0, method: 0 });

export class FlowStore {
  readonly capacity: number;

  // Key.
  readonly ipVersion: Uint8Array;
  readonly protocol: Uint8Array;
  readonly vlanId: Uint16Array;
  /**
   * Which link the flow was seen on: the capture interface, or 0 for every interface when they are
   * the ports of one link (a TAP's A and B sides), so both directions meet in one entry.
   */
  readonly linkId: Uint32Array;
  /** Four words per slot: IPv4 in word 0. */
  readonly addrA: Uint32Array;
  readonly addrB: Uint32Array;
  readonly portA: Uint16Array;
  readonly portB: Uint16Array;
  readonly hash: Int32Array;

  // Per-direction values of the current record (reset at an active-timeout export), two entries
  // per slot: index directionIndex(slot, FORWARD) for A→B and directionIndex(slot, REVERSE) for B→A.
  readonly packets: Float64Array;
  readonly octets: Float64Array;
  /** OR of tcpControlBits. */
  readonly tcpFlags: Uint16Array;
  /** ipClassOfService of the direction's first packet. */
  readonly tos: Uint8Array;
  readonly minTtl: Uint8Array;
  readonly maxTtl: Uint8Array;
  /** Source and destination MAC of the direction's first packet (48-bit integers). */
  readonly srcMac: Float64Array;
  readonly dstMac: Float64Array;
  /** ingressInterface of the direction's first packet (per direction: a TAP delivers each side on its own port). */
  readonly ingressInterface: Uint32Array;
  /** Packet timestamps (µs since the epoch) of the direction's first and last packet. */
  readonly firstUs: Float64Array;
  readonly lastUs: Float64Array;

  // Expiry state, on the meter clock (monotonic µs).
  readonly lastActivityUs: Float64Array;
  readonly recordStartUs: Float64Array;
  /** TCP_FIN_FWD | TCP_FIN_REV | TCP_RST bits. */
  readonly tcpState: Uint8Array;

  /** Smallest / largest IP packet of the direction in the current record (octets). */
  readonly minIpOctets: Uint32Array;
  readonly maxIpOctets: Uint32Array;

  // TCP connection metrics (tcp-connection-tracker.ts). Per connection, kept across active
  // timeouts, zeroed by resetConnection() when a slot is (re)used:
  /** CONN_* bits: handshake progress and whether a request awaits its response. */
  readonly tcpConnection: Uint8Array;
  /** A ConnectionOutcome once decided (RST, FIN both ways, mid-stream); 0 while undecided. */
  readonly decidedOutcome: Uint8Array;
  readonly synRetries: Uint16Array;
  /** Time (µs) of the last SYN, then of the last SYN/ACK, while the handshake runs. */
  readonly handshakeMarkUs: Float64Array;
  readonly handshakeServerRttUs: Uint32Array;
  readonly handshakeClientRttUs: Uint32Array;
  /** Time (µs) of the client's last request payload packet of the current turn. */
  readonly lastRequestUs: Float64Array;
  /**
   * Per direction: SEQ_* bits, the next expected sequence number, and the one gap [holeStart,
   * holeEnd) tracked; sequence numbers as int32 (the same 32 bits; no double, so never boxed).
   */
  readonly seqState: Uint8Array;
  readonly nextSeq: Int32Array;
  readonly holeStart: Int32Array;
  readonly holeEnd: Int32Array;
  // Per record (reset by resetCounters with the other record values):
  /** Per direction. */
  readonly retransmittedPackets: Uint32Array;
  readonly retransmittedOctets: Float64Array;
  readonly outOfOrderPackets: Uint32Array;
  readonly zeroWindowEvents: Uint32Array;
  /** Per slot: request/response turns completed in the record, and their response times (µs). */
  readonly responseCount: Uint32Array;
  readonly responseSumUs: Float64Array;
  readonly responseMinUs: Float64Array;
  readonly responseMaxUs: Float64Array;

  // Application hints (flow-hints.ts), per connection: read from the flow's first payload
  // packets, kept across active timeouts, zeroed by resetConnection() when a slot is (re)used.
  /** An AppHintKind: the first protocol recognised in the flow; 0 = none (yet). */
  readonly hintKind: Uint8Array;
  /** HINT_* bits of flow-hints.ts: which parts of the hint were read, and whether it is complete. */
  readonly hintState: Uint8Array;
  /** Per direction: payload packets handed to the parsers so far. */
  readonly hintPackets: Uint8Array;
  readonly hintTextBytes: Readonly<HintTextBytes>;
  /** hintTextBytes.name bytes per slot, at slot * hintTextBytes.name; hintNameLength of them are the value. */
  readonly hintName: Uint8Array;
  readonly hintNameLength: Uint8Array;
  readonly hintAlpn: Uint8Array;
  readonly hintAlpnLength: Uint8Array;
  readonly hintMethod: Uint8Array;
  readonly hintMethodLength: Uint8Array;
  readonly dnsQueryType: Uint16Array;
  readonly dnsResponseCode: Uint8Array;
  readonly httpStatusCode: Uint16Array;
  /** The ServerHello's version, else the ClientHello's highest offered (see flow-hints.ts mergeTls). */
  readonly tlsVersion: Uint16Array;

  private readonly freeSlots: Int32Array;
  private freeCount: number;

  constructor(capacity: number, hintTextBytes: Readonly<HintTextBytes> = NO_HINT_TEXT) {
    this.capacity = capacity;
    this.ipVersion = new Uint8Array(capacity);
    this.protocol = new Uint8Array(capacity);
    this.vlanId = new Uint16Array(capacity);
    this.linkId = new Uint32Array(capacity);
    this.addrA = new Uint32Array(capacity * 4);
    this.addrB = new Uint32Array(capacity * 4);
    this.portA = new Uint16Array(capacity);
    this.portB = new Uint16Array(capacity);
    this.hash = new Int32Array(capacity);
    const directions = capacity * 2;
    this.packets = new Float64Array(directions);
    this.octets = new Float64Array(directions);
    this.tcpFlags = new Uint16Array(directions);
    this.tos = new Uint8Array(directions);
    this.minTtl = new Uint8Array(directions);
    this.maxTtl = new Uint8Array(directions);
    this.srcMac = new Float64Array(directions);
    this.dstMac = new Float64Array(directions);
    this.ingressInterface = new Uint32Array(directions);
    this.firstUs = new Float64Array(directions);
    this.lastUs = new Float64Array(directions);
    this.lastActivityUs = new Float64Array(capacity);
    this.recordStartUs = new Float64Array(capacity);
    this.tcpState = new Uint8Array(capacity);
    this.minIpOctets = new Uint32Array(directions);
    this.maxIpOctets = new Uint32Array(directions);
    this.tcpConnection = new Uint8Array(capacity);
    this.decidedOutcome = new Uint8Array(capacity);
    this.synRetries = new Uint16Array(capacity);
    this.handshakeMarkUs = new Float64Array(capacity);
    this.handshakeServerRttUs = new Uint32Array(capacity);
    this.handshakeClientRttUs = new Uint32Array(capacity);
    this.lastRequestUs = new Float64Array(capacity);
    this.seqState = new Uint8Array(directions);
    this.nextSeq = new Int32Array(directions);
    this.holeStart = new Int32Array(directions);
    this.holeEnd = new Int32Array(directions);
    this.retransmittedPackets = new Uint32Array(directions);
    this.retransmittedOctets = new Float64Array(directions);
    this.outOfOrderPackets = new Uint32Array(directions);
    this.zeroWindowEvents = new Uint32Array(directions);
    this.responseCount = new Uint32Array(capacity);
    this.responseSumUs = new Float64Array(capacity);
    this.responseMinUs = new Float64Array(capacity);
    this.responseMaxUs = new Float64Array(capacity);
    this.hintKind = new Uint8Array(capacity);
    this.hintState = new Uint8Array(capacity);
    this.hintPackets = new Uint8Array(directions);
    this.hintTextBytes = Object.freeze({ ...hintTextBytes });
    this.hintName = new Uint8Array(capacity * hintTextBytes.name);
    this.hintNameLength = new Uint8Array(capacity);
    this.hintAlpn = new Uint8Array(capacity * hintTextBytes.alpn);
    this.hintAlpnLength = new Uint8Array(capacity);
    this.hintMethod = new Uint8Array(capacity * hintTextBytes.method);
    this.hintMethodLength = new Uint8Array(capacity);
    this.dnsQueryType = new Uint16Array(capacity);
    this.dnsResponseCode = new Uint8Array(capacity);
    this.httpStatusCode = new Uint16Array(capacity);
    this.tlsVersion = new Uint16Array(capacity);
    // Hand out low slots first so a small replay touches few pages.
    this.freeSlots = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeSlots[i] = capacity - 1 - i;
    this.freeCount = capacity;
  }

  get used(): number {
    return this.capacity - this.freeCount;
  }

  /** A free slot, or -1 when the table is full. */
  allocate(): number {
    if (this.freeCount === 0) return -1;
    return this.freeSlots[--this.freeCount]!;
  }

  release(slot: number): void {
    this.freeSlots[this.freeCount++] = slot;
  }

  /** Zeroes both directions' record values (a new flow, or a new record after an active timeout). */
  resetCounters(slot: number): void {
    for (let d = slot * 2; d < slot * 2 + 2; d++) {
      this.packets[d] = 0;
      this.octets[d] = 0;
      this.tcpFlags[d] = 0;
      this.minTtl[d] = 255;
      this.maxTtl[d] = 0;
      this.minIpOctets[d] = 0xffff_ffff;
      this.maxIpOctets[d] = 0;
      this.retransmittedPackets[d] = 0;
      this.retransmittedOctets[d] = 0;
      this.outOfOrderPackets[d] = 0;
      this.zeroWindowEvents[d] = 0;
    }
    this.responseCount[slot] = 0;
    this.responseSumUs[slot] = 0;
    this.responseMinUs[slot] = Infinity;
    this.responseMaxUs[slot] = 0;
  }

  /** Zeroes the per-connection state, TCP and hints (a new flow in this slot); record values: resetCounters. */
  resetConnection(slot: number): void {
    this.tcpState[slot] = 0;
    this.tcpConnection[slot] = 0;
    this.decidedOutcome[slot] = 0;
    this.synRetries[slot] = 0;
    this.handshakeMarkUs[slot] = 0;
    this.handshakeServerRttUs[slot] = 0;
    this.handshakeClientRttUs[slot] = 0;
    this.lastRequestUs[slot] = 0;
    for (let d = slot * 2; d < slot * 2 + 2; d++) {
      this.seqState[d] = 0;
      this.nextSeq[d] = 0;
      this.holeStart[d] = 0;
      this.holeEnd[d] = 0;
      this.hintPackets[d] = 0;
    }
    // Hints: the text bytes stay (stale); their lengths say none are valid.
    this.hintKind[slot] = 0;
    this.hintState[slot] = 0;
    this.hintNameLength[slot] = 0;
    this.hintAlpnLength[slot] = 0;
    this.hintMethodLength[slot] = 0;
    this.dnsQueryType[slot] = 0;
    this.dnsResponseCode[slot] = 0;
    this.httpStatusCode[slot] = 0;
    this.tlsVersion[slot] = 0;
  }
}

export const FORWARD = 0;
export const REVERSE = 1;

/** Index of a slot's direction (FORWARD or REVERSE) in the per-direction columns. */
export function directionIndex(slot: number, direction: number): number {
  return slot * 2 + direction;
}

export const TCP_FIN_FWD = 1;
export const TCP_FIN_REV = 2;
export const TCP_RST = 4;
