/**
 * Open-addressing hash index from flow hash to slot: a power-of-two Int32Array of buckets (slot + 1,
 * 0 = empty) at most half full, linear probing, and backward-shift deletion so no tombstones build
 * up under churn. Key comparison is the caller's (FlowTable.lookup walks `buckets` itself).
 */
export class FlowIndex {
  readonly buckets: Int32Array;
  readonly mask: number;
  /** Hash of each slot, shared with the store (needed to move entries on delete). */
  private readonly slotHash: Int32Array;

  constructor(capacity: number, slotHash: Int32Array) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.buckets = new Int32Array(size);
    this.mask = size - 1;
    this.slotHash = slotHash;
  }

  insert(slot: number, hash: number): void {
    let i = hash & this.mask;
    while (this.buckets[i] !== 0) i = (i + 1) & this.mask;
    this.buckets[i] = slot + 1;
  }

  remove(slot: number, hash: number): void {
    const { buckets, mask } = this;
    let i = hash & mask;
    while (buckets[i] !== slot + 1) {
      if (buckets[i] === 0) return; // not indexed: nothing to do
      i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the probe run into the hole when that keeps them
    // reachable from their home bucket.
    let hole = i;
    let j = (i + 1) & mask;
    while (buckets[j] !== 0) {
      const home = this.slotHash[buckets[j]! - 1]! & mask;
      const distanceToHole = (hole - home) & mask;
      const distanceToJ = (j - home) & mask;
      if (distanceToHole < distanceToJ) {
        buckets[hole] = buckets[j]!;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    buckets[hole] = 0;
  }
}
