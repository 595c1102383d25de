import type { ExportStats } from './export-pipeline.js';

/** One summary line per destination that lost messages, with the reason when one is known. */
export function formatExportWarnings(stats: ExportStats): string[] {
  return stats.destinations
    .filter((d) => d.dropped > 0 || d.errors > 0)
    .map((d) => `  WARNING  ${d.target}: ${d.dropped} messages (${d.droppedRecords} records) dropped, ${d.errors} send errors${d.problem ? ` (${d.problem})` : ''}${d.active ? '' : ' [standby]'}`);
}
