/**
 * TrafficSummary.add() and SpaceSavingSketch.offer()/offerFrom() must not allocate (style rule 1): after
 * warm-up, 1M calls trigger no garbage collection and leave the young generation, where every
 * short-lived object starts, practically untouched (same method as export-allocation.test.ts).
 * The summary runs with a small capacity so nearly every record evicts (the slowest path), and
 * the records include counters above 2^31 (doubles, which boxing would show) and TCP connection
 * fields: every outcome, handshake RTTs, response turns (fractional means), retransmissions, and
 * closing records (no packets).
 * Run with --expose-gc (the test runner does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoAllocation, NO_ALLOCATION_SKIP } from '../../helpers/no-allocation.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { SpaceSavingSketch } from '../../../src/summary/space-saving-sketch.js';
import { TrafficSummary } from '../../../src/summary/traffic-summary.js';
import { fillFlowRecord, flowGenerator, seededRandom } from './summary-test-kit.js';

test('TrafficSummary.add: 1M records, no GC, young generation grows < 64 KiB', { skip: NO_ALLOCATION_SKIP }, async (t) => {
  const summary = new TrafficSummary({ topN: 10, capacity: 64 });
  const next = flowGenerator({ seed: 5, clients: 20_000, servers: 2000, skew: 0.8 });
  // A fixed set of records prepared up front; the loop only hands them over.
  const pool = Array.from({ length: 4096 }, () => {
    const rec = fillFlowRecord(new FlowRecord(), next());
    if (rec.octets % 7 === 0) rec.reverseOctets += 3_000_000_000; // beyond int32: a double
    if (rec.serverResponseCount > 0 && rec.octets % 5 === 0) rec.serverResponseSumUs += 3_000_000_000; // a big, fractional mean
    if (rec.handshakeClientRttUs > 0 && rec.octets % 3 === 0) rec.handshakeClientRttUs = 4_000_000_000; // near the uint32 limit
    return rec;
  });
  assert.ok(pool.some((rec) => rec.octets + rec.reverseOctets > 2 ** 31));
  assert.ok(pool.some((rec) => rec.ipVersion === 6) && pool.some((rec) => rec.endReason === 2));
  assert.ok(pool.some((rec) => rec.serverResponseSumUs > 2 ** 31) && pool.some((rec) => rec.handshakeClientRttUs > 2 ** 31));
  assert.ok(pool.some((rec) => rec.retransmittedPackets > 0) && pool.some((rec) => rec.connectionOutcome !== 0));
  const exportedFlags = Uint8Array.from(pool, (rec) => (rec.packets + rec.reversePackets > 0 ? 1 : 0));
  assert.ok(exportedFlags.includes(0), 'closing records in the pool');
  let exported = 0;
  await assertNoAllocation(t, (count) => {
    for (let i = 0; i < count; i++) {
      summary.add(pool[i & 4095]!);
      exported += exportedFlags[i & 4095]!;
    }
  });
  // It did count (and the measured runs were real work).
  const taken = summary.take(0, 1, false);
  assert.equal(taken.totals.records, exported);
  assert.ok(taken.totals.tcp.handshakeRtt.samples > 0 && taken.totals.tcp.serverResponse.samples > 0);
  assert.equal(taken.talkers.byOctets.length, 10);
});

test('SpaceSavingSketch: 1M offer() with integer weights and offerFrom()/extraFrom() with big doubles, no GC, young generation grows < 64 KiB', { skip: NO_ALLOCATION_SKIP }, async (t) => {
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
