/**
 * TrafficSummary.add() and SpaceSavingSketch.offer()/offerFrom() must not allocate (style rule 1): after
 * warm-up, 1M calls trigger no garbage collection and leave the young generation, where every
 * short-lived object starts, practically untouched (same method as export-allocation.test.ts).
 * The summary runs with a small capacity so nearly every record evicts (the slowest path), and
 * the records include counters above 2^31 (doubles, which boxing would show).
 * Run with --expose-gc (the test runner does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { SpaceSavingSketch } from '../../../src/summary/space-saving-sketch.js';
import { TrafficSummary } from '../../../src/summary/traffic-summary.js';
import { fillFlowRecord, flowGenerator, seededRandom } from './summary-test-kit.js';

const gc = (globalThis as { gc?: () => void }).gc;
const CALLS = 1_000_000;
const WARM_UP_CALLS = 200_000;
const WARM_UP_ROUNDS = 3;
const MEASURED_ATTEMPTS = 3;
/** 1M calls: even 1 byte each would be 1 MB here. */
const NEW_SPACE_BUDGET_BYTES = 64 * 1024;

function newSpaceUsedBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_used_size ?? 0;
}

/** Runs `run(count)` warm, then up to MEASURED_ATTEMPTS times measured; one clean run passes. */
async function assertNoAllocation(t: { diagnostic(message: string): void }, run: (count: number) => void): Promise<void> {
  for (let round = 0; round < WARM_UP_ROUNDS; round++) run(WARM_UP_CALLS);
  const attempts: string[] = [];
  let clean = false;
  for (let attempt = 0; attempt < MEASURED_ATTEMPTS && !clean; attempt++) {
    gc?.();
    let collections = 0;
    const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
    observer.observe({ entryTypes: ['gc'] });
    const heapBefore = process.memoryUsage().heapUsed;
    const newSpaceBefore = newSpaceUsedBytes();
    const started = performance.now();
    run(CALLS);
    const elapsedMs = performance.now() - started;
    const newSpaceGrowth = newSpaceUsedBytes() - newSpaceBefore;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver
    observer.disconnect();
    clean = collections === 0 && newSpaceGrowth < NEW_SPACE_BUDGET_BYTES;
    attempts.push(
      `${CALLS} calls in ${elapsedMs.toFixed(0)} ms (${Math.round(CALLS / (elapsedMs / 1000))}/s): ` +
        `new space +${newSpaceGrowth} B, heap +${heapGrowth} B, ${collections} GCs`,
    );
  }
  for (const line of attempts) t.diagnostic(line);
  assert.ok(clean, `no clean run: ${attempts.join('; ')}`);
}

const skip = gc === undefined ? 'needs node --expose-gc' : false;

test('TrafficSummary.add: 1M records, no GC, young generation grows < 64 KiB', { skip }, async (t) => {
  const summary = new TrafficSummary({ topN: 10, capacity: 64 });
  const next = flowGenerator({ seed: 5, clients: 20_000, servers: 2000, skew: 0.8 });
  // A fixed set of records prepared up front; the loop only hands them over.
  const pool = Array.from({ length: 4096 }, () => {
    const rec = fillFlowRecord(new FlowRecord(), next());
    if (rec.octets % 7 === 0) rec.reverseOctets += 3_000_000_000; // beyond int32: a double
    return rec;
  });
  assert.ok(pool.some((rec) => rec.octets + rec.reverseOctets > 2 ** 31));
  assert.ok(pool.some((rec) => rec.ipVersion === 6) && pool.some((rec) => rec.endReason === 2));
  await assertNoAllocation(t, (count) => {
    for (let i = 0; i < count; i++) summary.add(pool[i & 4095]!);
  });
  // It did count (and the measured runs were real work).
  const taken = summary.take(0, 1, false);
  assert.ok(taken.totals.records >= WARM_UP_ROUNDS * WARM_UP_CALLS + CALLS);
  assert.equal(taken.talkers.byOctets.length, 10);
});

test('SpaceSavingSketch: 1M offer() with integer weights and offerFrom()/extraFrom() with big doubles, no GC, young generation grows < 64 KiB', { skip }, async (t) => {
  const sketch = new SpaceSavingSketch(5, 128, 2);
  const random = seededRandom(8);
  const keys = Array.from({ length: 4096 }, () => Uint32Array.from({ length: 5 }, () => Math.floor(random() * 4_294_967_296)));
  const weights = Float64Array.from({ length: 4096 }, () => 1.5 + Math.floor(random() * 1e10));
  await assertNoAllocation(t, (count) => {
    for (let i = 0; i < count; i++) {
      const key = keys[i & 4095]!;
      const slot = (i & 1) === 0 ? sketch.offer(key, 1 + (i & 1023)) : sketch.offerFrom(key, weights, i & 4095);
      sketch.extraFrom(slot, 1, weights, (i + 1) & 4095);
      sketch.extra(slot, 0, 1);
    }
  });
  assert.equal(sketch.size, 128);
  assert.ok(sketch.heapIsValid());
});
