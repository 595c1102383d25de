import { formatExportWarnings } from '../export/format-export-warnings.js';
import type { ReplaySummary } from '../replay/run-replay.js';

/** The human-readable end-of-replay report. */
export function formatReplaySummary(s: ReplaySummary, destinations: string[]): string {
  const lines: string[] = [];
  for (const file of s.files) {
    const anomalies = Object.entries(file.anomalies).map(([name, n]) => `${name}=${n}`).join(' ');
    lines.push(`file       ${file.path}: ${file.format ?? 'unreadable'}, ${file.packets} packets${anomalies ? ` (anomalies: ${anomalies})` : ''}`);
    if (file.error) lines.push(`  ERROR    ${file.error.message} [${file.error.code}]; flows read before it were exported`);
  }
  const sampled = s.sampling.interval > 1 ? `, ${s.sampling.skipped} passed over by 1:${s.sampling.interval} ${s.sampling.method} sampling` : '';
  lines.push(`packets    ${s.packets} read, ${s.meteredPackets} metered (${s.meteredOctets} IP octets)${sampled}`);
  lines.push(`malformed  ${s.malformedTotal}${formatCounts(s.malformed)}`);
  const ignoredTotal = Object.values(s.ignored).reduce((a, b) => a + b, 0);
  lines.push(`ignored    ${ignoredTotal}${formatCounts(s.ignored)}`);
  lines.push(`fragments  ${s.fragments.attributed} attributed to their flow, ${s.fragments.unattributed} not (exported with ports 0)`);
  lines.push(`flows      ${s.flows} (${s.evictions} evicted when the table was full)`);
  lines.push(`records    ${s.records}${formatCounts(s.recordsByEndReason)}`);
  const v5 = s.export.notExportable > 0 ? `; ${s.export.notExportable} IPv6 records not exportable as NetFlow v5` : '';
  lines.push(`export     ${s.export.messages} messages, ${s.export.bytes} bytes, ${s.export.optionsRecords} options records → ${destinations.join(', ')}${v5}`);
  lines.push(...formatExportWarnings(s.export));
  lines.push(`elapsed    ${(s.elapsedMs / 1000).toFixed(3)} s, ${s.packetsPerSecond} packets/s${s.incomplete ? ' (stopped early)' : ''}`);
  return `${lines.join('\n')}\n`;
}

function formatCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([name, n]) => `${name}=${n}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
