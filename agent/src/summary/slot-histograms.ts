/**
 * Fixed-bucket latency histograms, one per slot of a sketch (e.g. per service), in one
 * preallocated Uint32Array: percentiles (p50, p95) per interval in fixed memory whatever the
 * traffic. Buckets are log-spaced, SUB_BUCKETS per doubling, from 1 µs to 2^TOP_OCTAVE µs
 * (~137 s); a value is reported as its bucket's geometric middle, so a percentile is within
 * ±(2^(1/(2·SUB_BUCKETS)) − 1) ≈ ±9 % of a value that was recorded. (The idea of HdrHistogram and
 * DDSketch, reduced to what a probe needs; written from scratch.)
 */
const SUB_BUCKETS = 4;
const TOP_OCTAVE = 27;
/** Bucket 0 holds values below 1 µs (0: a measurement too small to see). */
export const HISTOGRAM_BUCKETS = 1 + TOP_OCTAVE * SUB_BUCKETS;

export class SlotHistograms {
  readonly slots: number;
  private readonly counts: Uint32Array;
  private readonly totals: Uint32Array;

  constructor(slots: number) {
    this.slots = slots;
    this.counts = new Uint32Array(slots * HISTOGRAM_BUCKETS);
    this.totals = new Uint32Array(slots);
  }

  /** Records one value (µs) for `slot`. Allocates nothing. */
  add(slot: number, valueUs: number): void {
    this.counts[slot * HISTOGRAM_BUCKETS + bucketOf(valueUs)]!++;
    this.totals[slot]!++;
  }

  /**
   * Records values[index] (µs) `weight` times (a non-negative integer) for `slot`. The value is read
   * from memory so that no fractional or big double crosses a call (V8 boxes it when the call is not
   * inlined): allocates nothing.
   */
  addFrom(slot: number, values: Float64Array, index: number, weight: number): void {
    this.counts[slot * HISTOGRAM_BUCKETS + bucketOf(values[index]!)]! += weight;
    this.totals[slot]! += weight;
  }

  count(slot: number): number {
    return this.totals[slot]!;
  }

  /** The value at quantile q (0..1) for `slot`, as its bucket's middle; null when the slot is empty. */
  quantile(slot: number, q: number): number | null {
    const total = this.totals[slot]!;
    if (total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * total));
    const base = slot * HISTOGRAM_BUCKETS;
    let seen = 0;
    for (let bucket = 0; bucket < HISTOGRAM_BUCKETS; bucket++) {
      seen += this.counts[base + bucket]!;
      if (seen >= rank) return middleOf(bucket);
    }
    return middleOf(HISTOGRAM_BUCKETS - 1);
  }

  clearSlot(slot: number): void {
    this.counts.fill(0, slot * HISTOGRAM_BUCKETS, (slot + 1) * HISTOGRAM_BUCKETS);
    this.totals[slot] = 0;
  }

  clear(): void {
    this.counts.fill(0);
    this.totals.fill(0);
  }
}

/** 0 for < 1 µs; then SUB_BUCKETS buckets per doubling; the last bucket takes everything above. */
export function bucketOf(valueUs: number): number {
  if (!(valueUs >= 1)) return 0;
  const bucket = 1 + Math.floor(Math.log2(valueUs) * SUB_BUCKETS);
  return bucket < HISTOGRAM_BUCKETS ? bucket : HISTOGRAM_BUCKETS - 1;
}

/** The geometric middle of a bucket (µs, rounded); 0 for bucket 0. */
export function middleOf(bucket: number): number {
  if (bucket === 0) return 0;
  return Math.round(2 ** ((bucket - 1 + 0.5) / SUB_BUCKETS));
}
