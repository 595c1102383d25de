import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketOf, HISTOGRAM_BUCKETS, middleOf, SlotHistograms } from '../../../src/summary/slot-histograms.js';
import { assertNoAllocation, NO_ALLOCATION_SKIP } from '../../helpers/no-allocation.js';
import { seededRandom } from './summary-test-kit.js';

/** The exact quantile of sorted values with the same rank rule (the ceil(q·n)-th smallest). */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('SlotHistograms', () => {
  it('p50/p95 within ±9.1 % of the exact quantile, per slot, for spread-out latencies', () => {
    const random = seededRandom(17);
    const histograms = new SlotHistograms(3);
    const values: number[][] = [[], [], []];
    for (let i = 0; i < 20_000; i++) {
      const slot = i % 3;
      // Log-uniform from 50 µs to 5 s, a different centre per slot.
      const v = Math.round(50 * 10 ** (random() * 4 + slot * 0.3));
      values[slot]!.push(v);
      histograms.add(slot, v);
    }
    for (let slot = 0; slot < 3; slot++) {
      const sorted = values[slot]!.sort((a, b) => a - b);
      assert.equal(histograms.count(slot), sorted.length);
      for (const q of [0.5, 0.95, 0.99]) {
        const exact = exactQuantile(sorted, q);
        const estimate = histograms.quantile(slot, q)!;
        assert.ok(Math.abs(estimate - exact) / exact <= 0.091, `slot ${slot} q${q}: ${estimate} vs ${exact}`);
      }
    }
  });

  it('empty slots, sub-microsecond and huge values, clearing', () => {
    const h = new SlotHistograms(2);
    assert.equal(h.quantile(0, 0.5), null);
    h.add(0, 0);
    h.add(0, 0.4);
    assert.equal(h.quantile(0, 0.5), 0);
    h.add(1, 1e12);
    assert.equal(bucketOf(1e12), HISTOGRAM_BUCKETS - 1);
    assert.equal(h.quantile(1, 0.5), middleOf(HISTOGRAM_BUCKETS - 1));
    h.clearSlot(0);
    assert.equal(h.count(0), 0);
    assert.equal(h.count(1), 1);
    h.clear();
    assert.equal(h.count(1), 0);
  });

  it('bucket boundaries: every value falls in the bucket whose range holds it', () => {
    for (let v = 1; v < 1e8; v = Math.ceil(v * 1.07) + 1) {
      const b = bucketOf(v);
      const low = 2 ** ((b - 1) / 4);
      const high = 2 ** (b / 4);
      assert.ok(v >= Math.floor(low) && v <= Math.ceil(high), `${v} in bucket ${b} [${low}, ${high})`);
    }
  });

  it('add() allocates nothing', { skip: NO_ALLOCATION_SKIP }, async (t) => {
    const h = new SlotHistograms(256);
    const values = Float64Array.from({ length: 4096 }, (_, i) => 1 + i * 997.3);
    await assertNoAllocation(t, (count) => {
      for (let i = 0; i < count; i++) h.add(i & 255, values[i & 4095]!);
    });
  });
});
