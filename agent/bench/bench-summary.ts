/**
 * The one table `npm run bench` ends with: each figure of the sections above next to its
 * reference measured in the same run (softflowd, the classic templates, the target), with the
 * ratio, so a reader sees at a glance where tapflow stands on this machine. Sections that did not
 * run (`--only`, not root) are left out.
 */
import type { HeapResult } from './heap-per-packet.bench.js';
import type { EncodeResult } from './ipfix-encode.bench.js';
import type { FloodBenchRun } from './flood.bench.js';
import type { SoakResult } from './soak.bench.js';
import type { LiveRun } from './live-capture.bench.js';
import { LIVE_RATES } from './live-capture.bench.js';
import { rateLabel } from './live-capture-table.js';
import type { ProcessRun } from './replay-throughput.bench.js';
import { formatTable, median } from './bench-format.js';
import type { FuzzReport } from '../test/helpers/fuzz/fuzz-report.js';

export interface BenchResults {
  throughput: { captures: { scenario: string; packets: number }[]; runs: ProcessRun[] } | null;
  heap: (HeapResult & { scenario: string })[] | null;
  live: { runs: LiveRun[] } | null;
  encode: EncodeResult[] | null;
  flood: FloodBenchRun[] | null;
  fuzz: FuzzReport | null;
  soak: SoakResult | null;
}

const count = (v: number): string => Math.round(v).toLocaleString('en-US');
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');

export function formatBenchSummary(results: BenchResults): string {
  const rows: string[][] = [];
  if (results.throughput !== null) {
    for (const capture of results.throughput.captures) {
      const pps = (tool: ProcessRun['tool']): number | null => {
        const ok = results.throughput!.runs.filter((r) => r.tool === tool && r.scenario === capture.scenario && r.error === null);
        return ok.length === 0 ? null : capture.packets / (median(ok.map((r) => r.wallMs)) / 1000);
      };
      const t = pps('tapflow');
      const s = pps('softflowd');
      rows.push([`offline replay pps, ${capture.scenario}`, t === null ? 'n/a' : count(t), s === null ? 'n/a' : `${count(s)} (softflowd)`, t !== null && s !== null ? ratio(t, s) : 'n/a']);
    }
  }
  if (results.live !== null) {
    for (const ratePps of LIVE_RATES) {
      const drop = (tool: LiveRun['tool']): number | null => {
        const ok = results.live!.runs.filter((r) => r.tool === tool && r.ratePps === ratePps && r.error === null && r.sent !== null && r.seen !== null);
        return ok.length === 0 ? null : median(ok.map((r) => 100 * (1 - r.seen! / r.sent!)));
      };
      const t = drop('tapflow');
      const s = drop('softflowd');
      rows.push([`live drop %, ${rateLabel(ratePps)}`, t === null ? 'n/a' : t.toFixed(2), s === null ? 'n/a' : `${s.toFixed(2)} (softflowd)`, '-']);
    }
  }
  const floods = (results.flood ?? []).filter((run) => run.error === null);
  if (floods.length > 0) {
    const mib = (bytes: number): string => (bytes / 1_048_576).toFixed(0);
    const warm = median(floods.map((run) => run.rss.warmupRssBytes));
    const max = median(floods.map((run) => run.rss.warmupRssBytes + run.rss.growthAfterWarmupBytes));
    const f = floods[0]!;
    rows.push([`flood ${count(f.packets)} new flows: RSS after warm-up → max after, MiB`, `${mib(warm)} → ${mib(max)}`, 'flat (target)', ratio(max, warm)]);
    rows.push(['flood: replay pps, evictions, conserved', `${count(median(floods.map((run) => run.replayPps)))}, ${count(f.evictions)}, ${floods.every((run) => run.conserved)}`, '-', '-']);
  }
  if (results.soak !== null && results.soak.error === null) {
    const k = results.soak;
    rows.push([`soak ${k.minutes} min: RSS max last minute, MiB`, k.rssLastMinuteMiB.toFixed(1), `${k.rssFirstMinuteMiB.toFixed(1)} (first minute)`, ratio(k.rssLastMinuteMiB, k.rssFirstMinuteMiB)]);
    rows.push(['soak: health lateness max / drift ms, export gap records', `${k.maxDriftMs} / ${k.finalDriftMs}, ${k.sequenceGapRecords}`, 'small / 0, 0 (target)', '-']);
  }
  if (results.heap !== null) {
    for (const h of results.heap.filter((r) => r.target === 'export')) {
      rows.push([`heap bytes/packet, decode + flow + IPFIX, ${h.scenario}`, h.bytesPerPacket.toFixed(3), '0 (target)', '-']);
    }
  }
  if (results.encode !== null && results.encode.length > 0) {
    const base = results.encode[0]!;
    for (const e of results.encode.slice(1)) rows.push([`IPFIX records/s, ${e.name}`, count(e.recordsPerSecond), `${count(base.recordsPerSecond)} (${base.name})`, ratio(e.recordsPerSecond, base.recordsPerSecond)]);
  }
  if (results.fuzz !== null) {
    const z = results.fuzz;
    rows.push([`fuzz cases (${count(z.casesPerSecond)}/s): crashes / hangs / failed`, `${count(z.cases)}: ${z.crashes} / ${z.hangs} / ${z.failedCases}`, '0 (target)', '-']);
  }
  return formatTable(['measure', 'tapflow', 'reference (same run)', 'ratio'], rows);
}
