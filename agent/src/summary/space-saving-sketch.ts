/**
 * Weighted Space-Saving top-k sketch (Metwally, Agrawal, El Abbadi, "Efficient Computation of
 * Frequent and Top-k Elements in Data Streams", ICDT 2005) over fixed-width keys of `keyWords`
 * uint32 words, in memory fixed at construction.
 *
 * Each of `capacity` slots monitors one key with a count and an error. A known key adds its
 * weight; a new key takes a free slot, or else the slot with the smallest count m, inheriting
 * count m + weight and error m. With W the total weight offered since clear():
 * - the counts sum to W, so the smallest count is at most W / capacity;
 * - for every monitored key, count − error ≤ true weight ≤ count;
 * - every key whose true weight exceeds W / capacity (more precisely: the smallest count) is monitored;
 * - while fewer than `capacity` distinct keys were seen, every count is exact (error 0).
 *
 * Layout: keys, counts, errors and per-slot extra counters are typed arrays indexed by slot; an
 * open-addressing index (linear probing, backward-shift deletion, at most half full) finds a
 * key's slot, and a binary min-heap of slots finds the eviction victim in O(log k) amortized.
 * The heap is repaired lazily: it is ordered by the count each slot had when last placed
 * (heapKeys ≤ counts, since counts only grow), so adding to a tracked key touches no heap at
 * all; an eviction refreshes a stale root and sifts it down until the root is up to date, which
 * is then the true minimum. Every refresh pays for at least one earlier offer. Weights must be
 * finite and ≥ 0 (counts only grow); they are not checked per call.
 *
 * offer() allocates nothing. Hashing is MurmurHash3's 32-bit mixing (as in flow/flow-hash.ts)
 * with a per-instance random seed, so keys cannot be crafted offline to collide in the index.
 * Results never depend on the seed: which minimum is evicted depends on arrival order only, and
 * top() breaks ties by key.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const EMPTY = -1;

export class SpaceSavingSketch {
  readonly keyWords: number;
  readonly capacity: number;
  readonly extraCounters: number;
  /** Slots in use (0..size-1); slots are handed out in order and only reused by eviction. */
  get size(): number {
    return this.used;
  }

  private used = 0;
  private claimed = false;

  /**
   * Whether the last offer()/offerFrom() gave its key a slot (a free one, or the evicted minimum's):
   * data a caller keeps per slot outside the sketch (e.g. histograms) must then be cleared, as the
   * sketch zeroes its extra counters.
   */
  get lastOfferClaimed(): boolean {
    return this.claimed;
  }

  private readonly keys: Uint32Array;
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  private readonly extras: Float64Array;
  /** Hash of each slot's key (int32), to re-home index entries during backward-shift deletion. */
  private readonly slotHash: Int32Array;
  /** Open-addressing index: slot per bucket, EMPTY when free. */
  private readonly buckets: Int32Array;
  private readonly mask: number;
  /** Min-heap of slots ordered by heapKeys[slot], a count the slot had (≤ its count now). */
  private readonly heap: Int32Array;
  private readonly heapKeys: Float64Array;
  private readonly seed: number;

  constructor(keyWords: number, capacity: number, extraCounters = 0) {
    if (!Number.isInteger(keyWords) || keyWords < 1) throw new RangeError(`keyWords must be a positive integer, got ${keyWords}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(extraCounters) || extraCounters < 0) throw new RangeError(`extraCounters must be >= 0, got ${extraCounters}`);
    this.keyWords = keyWords;
    this.capacity = capacity;
    this.extraCounters = extraCounters;
    this.keys = new Uint32Array(capacity * keyWords);
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.extras = new Float64Array(capacity * extraCounters);
    this.slotHash = new Int32Array(capacity);
    let buckets = 16;
    while (buckets < capacity * 2) buckets *= 2;
    this.buckets = new Int32Array(buckets).fill(EMPTY);
    this.mask = buckets - 1;
    this.heap = new Int32Array(capacity);
    this.heapKeys = new Float64Array(capacity);
    this.seed = (Math.random() * 4_294_967_296) | 0;
  }

  /**
   * Adds `weight` (≥ 0) to `key` (its first keyWords words) and returns the key's slot, valid
   * until the next offer(). Allocates nothing itself; but a weight that is not a small integer
   * (above 2^31, or fractional) is boxed by the CALLER, one heap number per call, whenever V8
   * does not inline this call. Hot callers with such weights use offerFrom().
   */
  offer(key: Uint32Array, weight: number): number {
    const slot = this.slotFor(key);
    this.counts[slot] = this.counts[slot]! + weight;
    return slot;
  }

  /** offer() with the weight read from weights[index]: no double crosses a call, nothing is boxed. */
  offerFrom(key: Uint32Array, weights: Float64Array, index: number): number {
    const slot = this.slotFor(key);
    this.counts[slot] = this.counts[slot]! + weights[index]!;
    return slot;
  }

  /** The slot monitoring `key`, or -1: for adding to extra counters without creating an entry. */
  lookup(key: Uint32Array): number {
    return this.find(key, this.hashKey(key));
  }

  /** Adds `amount` to extra counter `counter` of `slot` (zeroed whenever the slot takes a new key). */
  extra(slot: number, counter: number, amount: number): void {
    const at = slot * this.extraCounters + counter;
    this.extras[at] = this.extras[at]! + amount;
  }

  /** extra() with the amount read from amounts[index] (see offerFrom). */
  extraFrom(slot: number, counter: number, amounts: Float64Array, index: number): void {
    const at = slot * this.extraCounters + counter;
    this.extras[at] = this.extras[at]! + amounts[index]!;
  }

  /** Extra counter `counter` of `slot`: what was added since the slot's key took it over. */
  extraCount(slot: number, counter: number): number {
    return this.extras[slot * this.extraCounters + counter]!;
  }

  /** Upper bound of the key's true weight. */
  count(slot: number): number {
    return this.counts[slot]!;
  }

  /** How much count(slot) may overstate: the count the slot had when its key took it over. */
  error(slot: number): number {
    return this.errors[slot]!;
  }

  /** Copies the slot's key into `out` (keyWords words). */
  keyOf(slot: number, out: Uint32Array): Uint32Array {
    const base = slot * this.keyWords;
    for (let i = 0; i < this.keyWords; i++) out[i] = this.keys[base + i]!;
    return out;
  }

  /** Up to n slots by count (descending), ties by key words (ascending). Allocates. */
  top(n: number): number[] {
    const slots: number[] = [];
    for (let slot = 0; slot < this.used; slot++) slots.push(slot);
    slots.sort((a, b) => this.counts[b]! - this.counts[a]! || this.compareKeys(a, b));
    return slots.length > n ? slots.slice(0, Math.max(0, n)) : slots;
  }

  /** Forgets every key (keeps the memory). */
  clear(): void {
    this.used = 0;
    this.buckets.fill(EMPTY);
  }

  /** Test hook: the slot the index finds for the key stored in `slot` (should be `slot`). */
  indexedSlotOf(slot: number): number {
    const base = slot * this.keyWords;
    const probe = this.keys.subarray(base, base + this.keyWords);
    return this.find(probe, this.slotHash[slot]!);
  }

  /** Test hook: heap order intact, every slot in it once, no heap key above its count? */
  heapIsValid(): boolean {
    const seen = new Uint8Array(this.capacity);
    for (let pos = 0; pos < this.used; pos++) {
      const slot = this.heap[pos]!;
      if (seen[slot] === 1 || this.heapKeys[slot]! > this.counts[slot]!) return false;
      seen[slot] = 1;
      if (pos > 0 && this.heapKeys[this.heap[(pos - 1) >> 1]!]! > this.heapKeys[slot]!) return false;
    }
    return true;
  }

  private hashKey(key: Uint32Array): number {
    let h = this.seed;
    for (let i = 0; i < this.keyWords; i++) {
      let k = Math.imul(key[i]! | 0, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= this.keyWords;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h | 0; // int32 stays a small integer in V8 (a uint32 above 2^31 may be boxed)
  }

  /** The key's slot, claimed (count at its base, see claim) when the key is not tracked yet. */
  private slotFor(key: Uint32Array): number {
    const hash = this.hashKey(key);
    const slot = this.find(key, hash);
    this.claimed = slot === EMPTY;
    return slot === EMPTY ? this.claim(key, hash) : slot;
  }

  private find(key: Uint32Array, hash: number): number {
    const { buckets, mask, keys, keyWords } = this;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = buckets[i]!;
      if (slot === EMPTY) return EMPTY;
      if (this.slotHash[slot] !== hash) continue;
      const base = slot * keyWords;
      let w = 0;
      while (w < keyWords && keys[base + w] === key[w]) w++;
      if (w === keyWords) return slot;
    }
  }

  /**
   * Gives `key` a slot whose count is its base: 0 when a slot is free, else the smallest count,
   * whose slot is taken over (that count becomes the error). Extras are zeroed.
   */
  private claim(key: Uint32Array, hash: number): number {
    let slot: number;
    if (this.used < this.capacity) {
      slot = this.used++;
      this.counts[slot] = 0;
      this.errors[slot] = 0;
      this.heapKeys[slot] = 0;
      this.heap[this.used - 1] = slot;
      this.siftUp(this.used - 1);
    } else {
      slot = this.freshMinimum();
      this.unindex(slot);
      this.errors[slot] = this.counts[slot]!; // the heap key equals it: the root stays valid
    }
    const base = slot * this.keyWords;
    for (let i = 0; i < this.keyWords; i++) this.keys[base + i] = key[i]!;
    this.slotHash[slot] = hash;
    const extrasBase = slot * this.extraCounters;
    for (let i = 0; i < this.extraCounters; i++) this.extras[extrasBase + i] = 0;
    let bucket = hash & this.mask;
    while (this.buckets[bucket] !== EMPTY) bucket = (bucket + 1) & this.mask;
    this.buckets[bucket] = slot;
    return slot;
  }

  /** Removes `slot` from the index; later entries of its probe run shift back into the hole. */
  private unindex(slot: number): void {
    const { buckets, mask } = this;
    let hole = this.slotHash[slot]! & mask;
    while (buckets[hole] !== slot) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; buckets[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.slotHash[buckets[j]!]! & mask;
      // Move j into the hole only if the hole lies on j's probe path (between home and j).
      if (((hole - home) & mask) < ((j - home) & mask)) {
        buckets[hole] = buckets[j]!;
        hole = j;
      }
    }
    buckets[hole] = EMPTY;
  }

  /**
   * The slot with the smallest count. Refreshes the root's heap key and sifts it down until the
   * root's key is its current count: every other slot's count is ≥ its key ≥ the root's.
   */
  private freshMinimum(): number {
    const { heap, heapKeys, counts } = this;
    for (;;) {
      const root = heap[0]!;
      if (heapKeys[root] === counts[root]) return root;
      heapKeys[root] = counts[root]!;
      this.siftDown(0);
    }
  }

  private siftUp(pos: number): void {
    const { heap, heapKeys } = this;
    const slot = heap[pos]!;
    while (pos > 0) {
      const parentPos = (pos - 1) >> 1;
      const parent = heap[parentPos]!;
      if (heapKeys[parent]! <= heapKeys[slot]!) break;
      heap[pos] = parent;
      pos = parentPos;
    }
    heap[pos] = slot;
  }

  private siftDown(pos: number): void {
    const { heap, heapKeys } = this;
    const size = this.used;
    const slot = heap[pos]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= size) break;
      if (child + 1 < size && heapKeys[heap[child + 1]!]! < heapKeys[heap[child]!]!) child++;
      const childSlot = heap[child]!;
      if (heapKeys[slot]! <= heapKeys[childSlot]!) break;
      heap[pos] = childSlot;
      pos = child;
    }
    heap[pos] = slot;
  }

  private compareKeys(a: number, b: number): number {
    const baseA = a * this.keyWords;
    const baseB = b * this.keyWords;
    for (let i = 0; i < this.keyWords; i++) {
      const d = this.keys[baseA + i]! - this.keys[baseB + i]!;
      if (d !== 0) return d;
    }
    return 0;
  }
}
