/**
 * The flow table's columns: one typed array per field, indexed by slot (struct of arrays), all
 * allocated once at start for `capacity` flows, plus a stack of free slots.
 *
 * Endpoint A is the source of the first packet seen (the initiator for TCP), so FORWARD is A→B
 * and REVERSE is B→A; per-direction columns hold two entries per slot (see directionIndex).
 */
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

  private readonly freeSlots: Int32Array;
  private freeCount: number;

  constructor(capacity: number) {
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
    }
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
