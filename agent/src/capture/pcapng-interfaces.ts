/**
 * The interfaces (IDBs) of the current pcapng section, as struct-of-arrays columns preallocated
 * once: a packet block looks up its link type and timestamp scale by interface id without
 * allocating. A new section (SHB) empties the table, since interface ids are per section.
 */
export const MAX_INTERFACES_PER_SECTION = 1024;

const TWO_POW_32 = 4_294_967_296;
const US_PER_SECOND = 1_000_000;
/** if_tsresol absent: microseconds. */
export const DEFAULT_TSRESOL = 6;
const TSRESOL_POWER_OF_TWO = 0x80;

export class PcapngInterfaceTable {
  count = 0;
  readonly linkType = new Uint16Array(MAX_INTERFACES_PER_SECTION);
  /** 0 means "no limit", as the IDB field does. */
  readonly snapLenBytes = new Uint32Array(MAX_INTERFACES_PER_SECTION);
  /** Microseconds per timestamp unit, and per 2^32 units (the high word). */
  readonly lowToUs = new Float64Array(MAX_INTERFACES_PER_SECTION);
  readonly highToUs = new Float64Array(MAX_INTERFACES_PER_SECTION);
  /** if_tsoffset in microseconds (seconds in the file; added to every timestamp). */
  readonly offsetUs = new Float64Array(MAX_INTERFACES_PER_SECTION);

  clear(): void {
    this.count = 0;
  }

  /** Adds an interface; false when the table is full (the IDB is then ignored). */
  add(linkType: number, snapLenBytes: number, tsresol: number, offsetSeconds: number): boolean {
    if (this.count >= MAX_INTERFACES_PER_SECTION) return false;
    const id = this.count++;
    // if_tsresol: high bit clear = 10^-v seconds per unit, set = 2^-v.
    const unitsPerSecond = (tsresol & TSRESOL_POWER_OF_TWO) !== 0 ? 2 ** (tsresol & ~TSRESOL_POWER_OF_TWO) : 10 ** tsresol;
    this.linkType[id] = linkType;
    this.snapLenBytes[id] = snapLenBytes;
    this.lowToUs[id] = US_PER_SECOND / unitsPerSecond;
    this.highToUs[id] = (TWO_POW_32 * US_PER_SECOND) / unitsPerSecond;
    this.offsetUs[id] = offsetSeconds * US_PER_SECOND;
    return true;
  }

  /** Timestamp of interface `id` in microseconds since the epoch, from the block's two 32-bit words. */
  tsUs(id: number, high: number, low: number): number {
    return high * this.highToUs[id]! + low * this.lowToUs[id]! + this.offsetUs[id]!;
  }
}
