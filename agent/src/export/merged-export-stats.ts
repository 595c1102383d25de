import type { DestinationStats, ExportStats } from './export-pipeline.js';

/**
 * Export counters across the pipelines a run has had (a configuration reload replaces the
 * pipeline): totals are summed, and a destination kept across reloads is one entry whose counters
 * add up, with the newest problem and active flag. The last pipeline is the current one.
 */
export function mergeExportStats(pipelines: readonly ExportStats[]): ExportStats {
  const merged: ExportStats = { messages: 0, records: 0, optionsRecords: 0, bytes: 0, notExportable: 0, destinations: [] };
  const byKey = new Map<string, DestinationStats>();
  for (const stats of pipelines) {
    merged.messages += stats.messages;
    merged.records += stats.records;
    merged.optionsRecords += stats.optionsRecords;
    merged.bytes += stats.bytes;
    merged.notExportable += stats.notExportable;
    for (const d of stats.destinations) {
      const key = `${d.format} ${d.target}`;
      const seen = byKey.get(key);
      if (seen === undefined) {
        byKey.set(key, { ...d });
        continue;
      }
      seen.sent += d.sent;
      seen.dropped += d.dropped;
      seen.droppedRecords += d.droppedRecords;
      seen.errors += d.errors;
      seen.problem = d.problem ?? seen.problem;
      seen.active = d.active;
    }
  }
  // A destination only an earlier pipeline had no longer receives anything.
  const current = new Set((pipelines.at(-1)?.destinations ?? []).map((d) => `${d.format} ${d.target}`));
  for (const [key, d] of byKey) merged.destinations.push(current.has(key) ? d : { ...d, active: false });
  return merged;
}
