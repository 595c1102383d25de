import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowRecord, type FlowRecordSink } from '../../../src/flow/flow-record.js';
import { RECENT_FLOW_COLUMNS } from '../../../src/recent/recent-flow-columns.js';
import { RecentFlowRing, recentFlowsSink } from '../../../src/recent/recent-flow-ring.js';
import { assertNoAllocation, NO_ALLOCATION_SKIP } from '../../helpers/no-allocation.js';
import { fillFlowRecord, syntheticFlows } from './recent-flow-kit.js';

/** Distinct values for every kept field, each within its column's range. */
function distinctRecord(n: number): FlowRecord {
  const rec = new FlowRecord();
  RECENT_FLOW_COLUMNS.forEach((column, i) => {
    const max = column.type === Uint8Array ? 0xff : column.type === Uint16Array ? 0xffff : column.type === Uint32Array ? 0xffffffff : 2 ** 50;
    (rec as unknown as Record<string, number>)[column.field] = (n * 7919 + i * 104729 + (max > 2 ** 32 ? 2 ** 40 : 0)) % max;
  });
  rec.ipVersion = 6;
  for (let i = 0; i < 4; i++) {
    rec.srcAddr[i] = (0x20010db8 + n * 4 + i) >>> 0;
    rec.dstAddr[i] = (0xfe800000 + n * 4 + i) >>> 0;
  }
  return rec;
}

test('keeps the last `capacity` records, overwriting the oldest and counting what it overwrote', () => {
  const ring = new RecentFlowRing(5);
  assert.equal(ring.size, 0);
  assert.equal(ring.oldestSequence, 0);
  for (let n = 0; n < 12; n++) {
    ring.add(distinctRecord(n));
    assert.equal(ring.added, n + 1);
    assert.equal(ring.size, Math.min(n + 1, 5));
    assert.equal(ring.overwritten, Math.max(0, n + 1 - 5));
  }
  assert.equal(ring.oldestSequence, 7);
  for (let sequence = 7; sequence < 12; sequence++) {
    const slot = ring.slotOf(sequence);
    const expected = distinctRecord(sequence);
    for (const column of RECENT_FLOW_COLUMNS) {
      assert.equal(ring.column(column.field)[slot], expected[column.field], `${column.field} of record ${sequence}`);
    }
    assert.deepEqual([...ring.srcAddr.subarray(slot * 4, slot * 4 + 4)], [...expected.srcAddr]);
    assert.deepEqual([...ring.dstAddr.subarray(slot * 4, slot * 4 + 4)], [...expected.dstAddr]);
  }
});

test('a capacity of one keeps only the newest record', () => {
  const ring = new RecentFlowRing(1);
  for (let n = 0; n < 3; n++) ring.add(distinctRecord(n));
  assert.equal(ring.size, 1);
  assert.equal(ring.overwritten, 2);
  assert.equal(ring.column('packets')[ring.slotOf(2)], distinctRecord(2).packets);
});

test('refuses capacities that are not a positive integer', () => {
  for (const capacity of [0, -1, 1.5, Number.NaN, 1e9]) assert.throws(() => new RecentFlowRing(capacity), RangeError);
});

test('recentFlowsSink copies every record into the ring and passes it, and flush, on', () => {
  const seen: number[] = [];
  const flushes: number[] = [];
  const next: FlowRecordSink = { add: (rec) => seen.push(rec.packets), flush: (nowMs) => flushes.push(nowMs) };
  const ring = new RecentFlowRing(10);
  const sink = recentFlowsSink(ring, next);
  const rec = new FlowRecord();
  for (const flow of syntheticFlows(4, 3)) sink.add(fillFlowRecord(rec, flow));
  sink.flush(1234);
  assert.deepEqual(seen, syntheticFlows(4, 3).map((flow) => flow.packets));
  assert.deepEqual(flushes, [1234]);
  assert.equal(ring.added, 4);
  assert.deepEqual([0, 1, 2, 3].map((sequence) => ring.column('packets')[ring.slotOf(sequence)]), seen);
});

test('add() allocates nothing per record', { skip: NO_ALLOCATION_SKIP }, async (t) => {
  const ring = new RecentFlowRing(4096);
  // Values past 2^31 (times, octets) are the ones that would be boxed if anything copied them through a heap number.
  const records = syntheticFlows(64, 9).map((flow) => fillFlowRecord(new FlowRecord(), flow));
  const added = await assertNoAllocation(
    t,
    (count) => {
      for (let n = 0; n < count; n++) ring.add(records[n & 63]!);
    },
    { unit: 'records' },
  );
  assert.equal(ring.added, added);
  assert.equal(ring.overwritten, added - 4096);
});
