import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DestinationStats, ExportStats } from '../../../src/export/export-pipeline.js';
import { mergeExportStats } from '../../../src/export/merged-export-stats.js';

function destination(target: string, sent: number, extra: Partial<DestinationStats> = {}): DestinationStats {
  return { target, format: 'ipfix', sent, dropped: 0, droppedRecords: 0, errors: 0, problem: null, active: true, ...extra };
}

function stats(messages: number, destinations: DestinationStats[]): ExportStats {
  return { messages, records: messages * 10, optionsRecords: 1, bytes: messages * 1000, notExportable: 0, destinations };
}

it('sums totals across pipelines; a destination kept across a reload is one entry; a dropped one is inactive', () => {
  const before = stats(5, [destination('ipfix+udp://127.0.0.1:4739', 5, { errors: 2, problem: 'unreachable' }), destination('/tmp/a.ipfix', 5)]);
  const after = stats(3, [destination('ipfix+udp://127.0.0.1:4739', 3), destination('/tmp/b.ipfix', 3)]);
  const merged = mergeExportStats([before, after]);
  assert.deepEqual([merged.messages, merged.records, merged.optionsRecords, merged.bytes], [8, 80, 2, 8000]);
  const byTarget = Object.fromEntries(merged.destinations.map((d) => [d.target, d]));
  assert.deepEqual(Object.keys(byTarget).sort(), ['/tmp/a.ipfix', '/tmp/b.ipfix', 'ipfix+udp://127.0.0.1:4739']);
  assert.equal(byTarget['ipfix+udp://127.0.0.1:4739']!.sent, 8);
  assert.equal(byTarget['ipfix+udp://127.0.0.1:4739']!.errors, 2);
  assert.equal(byTarget['ipfix+udp://127.0.0.1:4739']!.problem, 'unreachable', 'the last known problem stays');
  assert.equal(byTarget['/tmp/a.ipfix']!.active, false);
  assert.equal(byTarget['/tmp/b.ipfix']!.active, true);
  assert.deepEqual(mergeExportStats([after]), after, 'one pipeline: its own counters');
});
