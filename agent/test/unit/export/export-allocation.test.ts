/**
 * Encoding must not allocate per record (style rule 1): after warm-up, 1M records through the
 * builder (a no-op transport behind it) trigger no garbage collection and leave the young
 * generation, where every short-lived object starts, practically untouched. Total heap size is
 * reported but not gated: compiled code also lives on the heap and appears whenever the optimizing
 * compiler finishes in the background. Run with --expose-gc (the test runner does).
 * Checked for uniflow and for RFC 5103 biflow records with the options records (statistics,
 * sampling) switched on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { IpfixMessageBuilder, type MessageBuilderOptions } from '../../../src/export/ipfix/message-builder.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { fillRecord, NullTransport, randomFlows, seededRandom } from './export-test-kit.js';

const gc = (globalThis as { gc?: () => void }).gc;
const RECORDS = 1_000_000;
const WARM_UP_RECORDS = 200_000;
const WARM_UP_ROUNDS = 3;
const MEASURED_ATTEMPTS = 3;
/** 1M records: even 1 byte each would be 1 MB here. */
const NEW_SPACE_BUDGET_BYTES = 64 * 1024;

function newSpaceUsedBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_used_size ?? 0;
}

/** The same records with a reverse direction (big counters and all) for the biflow run. */
function withReverse(rec: FlowRecord, random: () => number): FlowRecord {
  rec.reversePackets = 1 + Math.floor(random() * 4_294_967_296 * 2);
  rec.reverseOctets = Number.MAX_SAFE_INTEGER - Math.floor(random() * 1e9);
  rec.reverseTcpFlags = Math.floor(random() * 512);
  rec.reverseTos = Math.floor(random() * 256);
  rec.reverseMinTtl = 1 + Math.floor(random() * 100);
  rec.reverseMaxTtl = 101 + Math.floor(random() * 150);
  rec.reverseSrcMac = rec.dstMac;
  rec.reverseDstMac = rec.srcMac;
  rec.reverseIngressInterface = 4_294_967_295;
  rec.reverseStartMs = rec.startMs - 1000;
  rec.reverseEndMs = rec.endMs + 1000;
  return rec;
}

async function assertNoAllocation(t: { diagnostic(message: string): void }, options: Omit<MessageBuilderOptions, 'transports' | 'exportTimeSeconds'>, reverse: boolean): Promise<void> {
  const transport = new NullTransport();
  const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 1_700_000_000, ...options });
  // A fixed set of records prepared up front; the loop only hands the reused FlowRecords over.
  const random = seededRandom(11);
  const pool = randomFlows(256, 5).map((flow) => {
    const rec = fillRecord(new FlowRecord(), flow);
    return reverse ? withReverse(rec, random) : rec;
  });
  const run = (count: number, startMs: number) => {
    for (let i = 0; i < count; i++) {
      builder.add(pool[i & 255] as FlowRecord);
      if ((i & 1023) === 1023) builder.flush(startMs + i);
    }
  };
  // Warm-up: the first call optimizes the loop on-stack, the second compiles `run` itself; the
  // rest gives the per-message functions (beginMessage, templatesDue, ...) time to be optimized
  // too, since unoptimized code boxes every double it computes.
  for (let round = 0; round < WARM_UP_ROUNDS; round++) run(WARM_UP_RECORDS, 0);
  // Up to MEASURED_ATTEMPTS runs of 1M records; one clean run passes. A per-record allocation
  // (even 1 byte) shows in every run; a function the optimizing compiler finishes only now does not.
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
    // Small (Smi) flush times: the caller's own boxing of large times is not the builder's to measure.
    // Options records still go out with every template refresh (every 20 messages).
    run(RECORDS, 1_000_000);
    const elapsedMs = performance.now() - started;
    const newSpaceGrowth = newSpaceUsedBytes() - newSpaceBefore;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver
    observer.disconnect();
    clean = collections === 0 && newSpaceGrowth < NEW_SPACE_BUDGET_BYTES;
    attempts.push(
      `${RECORDS} records in ${elapsedMs.toFixed(0)} ms (${Math.round(RECORDS / (elapsedMs / 1000))} records/s): ` +
        `new space +${newSpaceGrowth} B, heap +${heapGrowth} B, ${collections} GCs`,
    );
  }
  builder.flush(0);
  for (const line of attempts) t.diagnostic(line);
  assert.ok(clean, `no clean run: ${attempts.join('; ')}`);
  const optionsRecords = builder.stats.records_total - (WARM_UP_ROUNDS * WARM_UP_RECORDS + attempts.length * RECORDS);
  assert.ok(reverse ? optionsRecords > 1_000 : optionsRecords === 0, `${optionsRecords} options records`);
}

const skip = gc === undefined ? 'needs node --expose-gc' : false;

test('1M records: no GC, young generation grows < 64 KiB', { skip }, async (t) => {
  await assertNoAllocation(t, {}, false);
});

test('1M biflow records with statistics and sampling options: no GC, young generation grows < 64 KiB', { skip }, async (t) => {
  const metering = { ignoredPackets: () => 12_345, observedFlows: () => 2 ** 40 };
  await assertNoAllocation(
    t,
    { biflow: true, exporterStatistics: true, meteringStatistics: metering, sampling: { interval: 100, algorithm: 'random' } },
    true,
  );
});
