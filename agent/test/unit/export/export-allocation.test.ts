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
import { assertNoAllocation, NO_ALLOCATION_SKIP } from '../../helpers/no-allocation.js';
import { IpfixMessageBuilder, type MessageBuilderOptions } from '../../../src/export/ipfix/message-builder.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { fillRecord, NullTransport, randomFlows, seededRandom, withConnection } from './export-test-kit.js';

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

async function assertBuilderAllocatesNothing(
  t: { diagnostic(message: string): void },
  options: Omit<MessageBuilderOptions, 'transports' | 'exportTimeSeconds'>,
  reverse: boolean,
  connection = false,
): Promise<void> {
  const transport = new NullTransport();
  const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 1_700_000_000, ...options });
  // A fixed set of records prepared up front; the loop only hands the reused FlowRecords over.
  const random = seededRandom(11);
  const pool = randomFlows(256, 5).map((flow, i) => {
    const rec = fillRecord(new FlowRecord(), flow);
    if (connection) withConnection(rec, i, random);
    return reverse ? withReverse(rec, random) : rec;
  });
  // Small (Smi) flush times: the caller's own boxing of large times is not the builder's to
  // measure. Options records still go out with every template refresh (every 20 messages). The
  // warm-up gives the per-message functions (beginMessage, templatesDue, ...) time to be
  // optimized too, since unoptimized code boxes every double it computes.
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      builder.add(pool[i & 255] as FlowRecord);
      if ((i & 1023) === 1023) builder.flush(1_000_000 + i);
    }
  };
  const records = await assertNoAllocation(t, run, { unit: 'records' });
  builder.flush(0);
  const optionsRecords = builder.stats.records_total - records;
  assert.ok(options.exporterStatistics === true ? optionsRecords > 1_000 : optionsRecords === 0, `${optionsRecords} options records`);
}

test('1M records: no GC, young generation grows < 64 KiB', { skip: NO_ALLOCATION_SKIP }, async (t) => {
  await assertBuilderAllocatesNothing(t, {}, false);
});

test('1M biflow records with statistics and sampling options: no GC, young generation grows < 64 KiB', { skip: NO_ALLOCATION_SKIP }, async (t) => {
  const metering = { ignoredPackets: () => 12_345, observedFlows: () => 2 ** 40 };
  await assertBuilderAllocatesNothing(
    t,
    { biflow: true, exporterStatistics: true, meteringStatistics: metering, sampling: { interval: 100, algorithm: 'random' } },
    true,
  );
});

test('1M records on the connection and DNS templates (metrics, variable-length hints, set padding), uniflow and biflow: no GC', { skip: NO_ALLOCATION_SKIP }, async (t) => {
  await assertBuilderAllocatesNothing(t, { connectionFields: true, maxHintTextBytes: 64 }, false, true);
  await assertBuilderAllocatesNothing(t, { connectionFields: true, biflow: true, maxHintTextBytes: 64 }, true, true);
});
