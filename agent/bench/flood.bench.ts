/**
 * A SYN flood (every packet a new flow) streamed through `tapflow replay -`: packets per second,
 * memory (RSS) once the flow table is full, and evictions. The CI test
 * agent/test/integration/flood.test.ts asserts the same run; this one reports it, by default for
 * 5,000,000 packets:
 *
 *   node agent/dist/bench/flood.bench.js [--packets N] [--rounds N]
 *
 * Environment: TAPFLOW_FLOOD_PACKETS (flags win). The generator (a worker thread) and the IPFIX
 * tally run beside tapflow, on the same cores, so the rates are those of a busy machine: lower
 * than replaying the same capture from a file.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MIB, rssProfile, runFloodReplay, type RssProfile } from '../test/helpers/flood-replay.js';
import { formatTable } from './bench-format.js';

export const DEFAULT_FLOOD_PACKETS = 5_000_000;

export interface FloodBenchOptions {
  packets: number;
  rounds: number;
}

export interface FloodBenchRun {
  round: number;
  packets: number;
  /** tapflow's lifetime, spawn to exit. */
  wallMs: number;
  /** packets / wallMs (start-up and the final flush included). */
  processPps: number;
  /** tapflow's own figure (packets / its replay time). */
  replayPps: number;
  rss: RssProfile;
  evictions: number;
  records: number;
  /** Exported packets and octets equal what the generator wrote; records equal the summary's. */
  conserved: boolean;
  /** Records with flowEndReason 5 equal the evictions counted. */
  evictionsMatch: boolean;
  error: string | null;
}

export function floodBenchOptions(argv: readonly string[] = process.argv.slice(2)): FloodBenchOptions {
  const { values } = parseArgs({ args: [...argv], options: { packets: { type: 'string' }, rounds: { type: 'string' } } });
  return {
    packets: Number(values.packets ?? process.env.TAPFLOW_FLOOD_PACKETS ?? DEFAULT_FLOOD_PACKETS),
    rounds: Number(values.rounds ?? 1),
  };
}

export async function runFloodBench(options: FloodBenchOptions, onRun: (run: FloodBenchRun) => void = () => undefined): Promise<FloodBenchRun[]> {
  const runs: FloodBenchRun[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const r = await runFloodReplay({ packets: options.packets });
    const { summary, tally, truth } = r;
    const run: FloodBenchRun = {
      round,
      packets: truth.packets,
      wallMs: r.wallMs,
      processPps: truth.packets / (r.wallMs / 1000),
      replayPps: summary.packetsPerSecond,
      rss: rssProfile(r.samples, r.fedBytes),
      evictions: summary.evictions,
      records: tally.dataRecords,
      conserved: tally.packets === truth.packets && tally.octets === truth.ipOctets && tally.dataRecords === summary.records,
      evictionsMatch: tally.recordsByEndReason[5] === summary.evictions,
      error: r.status === 0 ? null : `exit ${r.status}: ${r.stderr.trim().split('\n')[0] ?? ''}`,
    };
    runs.push(run);
    onRun(run);
  }
  return runs;
}

const mib = (bytes: number) => (bytes / MIB).toFixed(1);
const count = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatFloodTable(runs: readonly FloodBenchRun[]): string {
  const rows = runs.map((run) => [
    String(run.round),
    count(run.packets),
    (run.wallMs / 1000).toFixed(1),
    count(run.processPps),
    count(run.replayPps),
    mib(run.rss.warmupRssBytes),
    mib(run.rss.maxRssBytes),
    mib(run.rss.finalRssBytes),
    mib(run.rss.growthAfterWarmupBytes),
    count(run.evictions),
    run.error ?? (run.conserved && run.evictionsMatch ? 'yes' : `NO (conserved ${run.conserved}, evictions = reason 5: ${run.evictionsMatch})`),
  ]);
  return formatTable(
    ['round', 'packets', 's', 'pps (process)', 'pps (replay)', 'RSS warm-up MiB', 'max MiB', 'final MiB', 'growth MiB', 'evictions', 'conserved'],
    rows,
  );
}

export const FLOOD_TABLE_NOTES =
  'Every packet a new TCP SYN flow (traffic-generator new-flow-per-packet) piped into `tapflow replay - --out FIFO --summary-json` (default config: 65,536 flows).\n' +
  'pps (process) = packets / tapflow lifetime; pps (replay) = tapflow\'s own count. RSS sampled from /proc every 150 ms; warm-up = largest RSS while 10-20 % of the input was fed;\n' +
  'growth = largest RSS after 20 % minus warm-up. conserved: exported packets/octets = generator truth, records = summary, flowEndReason 5 records = evictions.';

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = floodBenchOptions();
  console.log(`flood: ${count(options.packets)} packets, ${options.rounds} round(s)`);
  const runs = await runFloodBench(options);
  console.log(formatFloodTable(runs));
  console.log(FLOOD_TABLE_NOTES);
  process.exitCode = runs.every((run) => run.error === null && run.conserved && run.evictionsMatch) ? 0 : 1;
}
