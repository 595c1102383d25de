import { formatTable, median } from './bench-format.js';
import { LIVE_RATES, type LiveRun } from './live-capture.bench.js';

/** The live-capture report: one row per rate and tool (see live-capture.bench.ts for the fields). */

export function rateLabel(ratePps: number | null): string {
  return ratePps === null ? 'topspeed' : `${ratePps / 1000}k`;
}

/** One row per rate and tool: medians over the rounds; CPU as % of one core over the window. */
export function formatLiveTable(runs: readonly LiveRun[]): string {
  const rows: string[][] = [];
  const count = (v: number) => Math.round(v).toLocaleString('en-US');
  const percent = (v: number | null) => (v === null ? 'n/a' : v.toFixed(1));
  for (const ratePps of LIVE_RATES) {
    for (const tool of ['tapflow', 'softflowd'] as const) {
      const ok = runs.filter((r) => r.tool === tool && r.ratePps === ratePps && r.error === null);
      if (ok.length === 0) {
        rows.push([rateLabel(ratePps), tool, 'n/a', '', '', '', '', '', '', '', '', '', '']);
        continue;
      }
      const med = (pick: (r: LiveRun) => number | null) => (ok.every((r) => pick(r) !== null) ? median(ok.map((r) => pick(r)!)) : null);
      const corePercent = (pick: (r: LiveRun) => number | null) => {
        const shares = ok.map((r) => pick(r));
        return shares.every((s) => s !== null) ? median(ok.map((r, i) => (100 * shares[i]!) / (r.windowMs / 1000))) : null;
      };
      const sent = med((r) => r.sent)!;
      const seen = med((r) => r.seen)!;
      const dropPercent = median(ok.map((r) => 100 * (1 - r.seen! / r.sent!)));
      const orNa = (v: number | null) => (v === null ? 'n/a' : count(v));
      rows.push([
        rateLabel(ratePps), tool, count(sent), orNa(med((r) => r.sentPps)), count(seen), dropPercent.toFixed(2), orNa(med((r) => r.metered)),
        `${orNa(med((r) => r.interfaceDropped))} / ${orNa(med((r) => r.socketDropped))}`, tool === 'tapflow' ? orNa(med((r) => r.ringDropped)) : '-',
        percent(corePercent((r) => r.cpuS)), tool === 'tapflow' ? percent(corePercent((r) => r.captureThreadCpuS)) : '-',
        tool === 'tapflow' ? percent(corePercent((r) => r.meterThreadCpuS)) : '-',
        percent(corePercent((r) => r.senderCpuS)),
      ]);
    }
  }
  return formatTable(
    ['rate', 'tool', 'sent', 'sent pps', 'seen', 'drop %', 'metered', 'if / socket drops', 'ring drops', 'CPU % core', 'capture thr %', 'meter thr %', 'tcpreplay %'],
    rows,
  );
}
