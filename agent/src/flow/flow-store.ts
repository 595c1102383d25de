/**
 * The flow table's columns: one typed array per field, indexed by slot (struct of arrays), all
 * allocated once at start for `capacity` flows, plus a stack of free slots.
 *
 * Endpoint A is the source of the first packet seen (the initiator for TCP), so "forward" (Fwd)
 * is A→B and "reverse" (Rev) is B→A.
 */
export class FlowStore {
  readonly capacity: number;

  // Key.
  readonly ipVersion: Uint8Array;
  readonly protocol: Uint8Array;
  readonly vlanId: Uint16Array;
  readonly interfaceId: Uint32Array;
  /** Four words per slot: IPv4 in word 0. */
  readonly addrA: Uint32Array;
  readonly addrB: Uint32Array;
  readonly portA: Uint16Array;
  readonly portB: Uint16Array;
  readonly hash: Int32Array;

  // Per-direction counters of the current record (reset at an active-timeout export).
  readonly packetsFwd: Float64Array;
  readonly packetsRev: Float64Array;
  readonly octetsFwd: Float64Array;
  readonly octetsRev: Float64Array;
  readonly tcpFlagsFwd: Uint16Array;
  readonly tcpFlagsRev: Uint16Array;
  readonly tosFwd: Uint8Array;
  readonly tosRev: Uint8Array;
  readonly minTtlFwd: Uint8Array;
  readonly minTtlRev: Uint8Array;
  readonly maxTtlFwd: Uint8Array;
  readonly maxTtlRev: Uint8Array;
  /** Source and destination MAC of the first packet in each direction (48-bit integers). */
  readonly srcMacFwd: Float64Array;
  readonly dstMacFwd: Float64Array;
  readonly srcMacRev: Float64Array;
  readonly dstMacRev: Float64Array;
  /** Packet timestamps (µs since the epoch) of the first and last packet per direction. */
  readonly firstUsFwd: Float64Array;
  readonly lastUsFwd: Float64Array;
  readonly firstUsRev: Float64Array;
  readonly lastUsRev: Float64Array;

  // Expiry state, on the meter clock (monotonic µs).
  readonly lastActivityUs: Float64Array;
  readonly recordStartUs: Float64Array;
  /** TCP_FIN_FWD | TCP_FIN_REV | TCP_RST bits. */
  readonly tcpState: Uint8Array;

  private readonly freeSlots: Int32Array;
  private freeCount: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ipVersion = new Uint8Array(capacity);
    this.protocol = new Uint8Array(capacity);
    this.vlanId = new Uint16Array(capacity);
    this.interfaceId = new Uint32Array(capacity);
    this.addrA = new Uint32Array(capacity * 4);
    this.addrB = new Uint32Array(capacity * 4);
    this.portA = new Uint16Array(capacity);
    this.portB = new Uint16Array(capacity);
    this.hash = new Int32Array(capacity);
    this.packetsFwd = new Float64Array(capacity);
    this.packetsRev = new Float64Array(capacity);
    this.octetsFwd = new Float64Array(capacity);
    this.octetsRev = new Float64Array(capacity);
    this.tcpFlagsFwd = new Uint16Array(capacity);
    this.tcpFlagsRev = new Uint16Array(capacity);
    this.tosFwd = new Uint8Array(capacity);
    this.tosRev = new Uint8Array(capacity);
    this.minTtlFwd = new Uint8Array(capacity);
    this.minTtlRev = new Uint8Array(capacity);
    this.maxTtlFwd = new Uint8Array(capacity);
    this.maxTtlRev = new Uint8Array(capacity);
    this.srcMacFwd = new Float64Array(capacity);
    this.dstMacFwd = new Float64Array(capacity);
    this.srcMacRev = new Float64Array(capacity);
    this.dstMacRev = new Float64Array(capacity);
    this.firstUsFwd = new Float64Array(capacity);
    this.lastUsFwd = new Float64Array(capacity);
    this.firstUsRev = new Float64Array(capacity);
    this.lastUsRev = new Float64Array(capacity);
    this.lastActivityUs = new Float64Array(capacity);
    this.recordStartUs = new Float64Array(capacity);
    this.tcpState = new Uint8Array(capacity);
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

  /** Zeroes one direction's record counters (new flow, or a new record after an active timeout). */
  resetCounters(slot: number): void {
    this.packetsFwd[slot] = 0;
    this.packetsRev[slot] = 0;
    this.octetsFwd[slot] = 0;
    this.octetsRev[slot] = 0;
    this.tcpFlagsFwd[slot] = 0;
    this.tcpFlagsRev[slot] = 0;
    this.minTtlFwd[slot] = 255;
    this.minTtlRev[slot] = 255;
    this.maxTtlFwd[slot] = 0;
    this.maxTtlRev[slot] = 0;
  }
}

export const TCP_FIN_FWD = 1;
export const TCP_FIN_REV = 2;
export const TCP_RST = 4;
