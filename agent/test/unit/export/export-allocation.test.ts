/**
 * Encoding must not allocate per record (style rule 1): after warm-up, 1M records through the
 * builder (a no-op transport behind it) trigger no garbage collection and leave the young
 * generation, where every short-lived object starts, practically untouched. Total heap size is
 * reported but not gated: compiled code also lives on the heap and appears whenever the optimizing
 * compiler finishes in the background. Run with --expose-gc (the test runner does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { fillRecord, NullTransport, randomFlows } from './export-test-kit.js';

const gc = (globalThis as { gc?: () => void }).gc;
const RECORDS = 1_000_000;
const WARM_UP_RECORDS = 200_000;
/** 1M records: even 1 byte each would be 1 MB here. */
const NEW_SPACE_BUDGET_BYTES = 64 * 1024;

function newSpaceUsedBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_used_size ?? 0;
}

test('1M records: no GC, young generation grows < 64 KiB', { skip: gc === undefined ? 'needs node --expose-gc' : false }, async (t) => {
  const transport = new NullTransport();
  const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 1_700_000_000 });
  // A fixed set of records prepared up front; the loop only hands the reused FlowRecords over.
  const pool = randomFlows(256, 5).map((flow) => fillRecord(new FlowRecord(), flow));
  const run = (count: number, startMs: number) => {
    for (let i = 0; i < count; i++) {
      builder.add(pool[i & 255] as FlowRecord);
      if ((i & 1023) === 1023) builder.flush(startMs + i);
    }
  };
  // Warm-up, twice: the first call optimizes the loop on-stack, the second compiles `run` itself.
  run(WARM_UP_RECORDS, 0);
  run(WARM_UP_RECORDS, 0);
  gc?.();
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const heapBefore = process.memoryUsage().heapUsed;
  const newSpaceBefore = newSpaceUsedBytes();
  const started = performance.now();
  run(RECORDS, 1_000_000);
  const elapsedMs = performance.now() - started;
  const newSpaceGrowth = newSpaceUsedBytes() - newSpaceBefore;
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver
  observer.disconnect();
  builder.flush(0);
  assert.equal(collections, 0, `${collections} GCs while encoding`);
  assert.ok(newSpaceGrowth < NEW_SPACE_BUDGET_BYTES, `young generation grew by ${newSpaceGrowth} bytes`);
  assert.equal(builder.stats.records_total, 2 * WARM_UP_RECORDS + RECORDS);
  t.diagnostic(
    `encoded ${RECORDS} records in ${elapsedMs.toFixed(0)} ms (${Math.round(RECORDS / (elapsedMs / 1000))} records/s); ` +
      `new space +${newSpaceGrowth} B, heap +${heapGrowth} B, ${collections} GCs`,
  );
});
