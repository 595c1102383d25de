/**
 * Longer fuzzing run of the capture reader → decoder → flow table → IPFIX path and the hint parsers
 * (the CI test agent/test/unit/fuzz/capture-fuzz.test.ts runs a fixed 5,000 cases; this one runs
 * for a time budget with a fresh seed each run, so runs add up to more ground covered):
 *
 *   node agent/dist/bench/fuzz.bench.js [--seconds 60] [--seed N] [--cases N] [--first N]
 *
 * Environment: TAPFLOW_FUZZ_SEED, TAPFLOW_FUZZ_CASES, TAPFLOW_FUZZ_FIRST, TAPFLOW_FUZZ_SECONDS
 * (flags win). Prints cases/s, crashes, hangs and every failing case with the command that
 * replays it; exits 1 when a case failed (run standalone), never on speed.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freshSeed, fuzzSettingsFromEnv, runFuzzCampaign } from '../test/helpers/fuzz/fuzz-campaign.js';
import type { FuzzReport } from '../test/helpers/fuzz/fuzz-report.js';
import { formatTable } from './bench-format.js';

export const DEFAULT_FUZZ_SECONDS = 60;

export interface FuzzBenchOptions {
  seconds: number;
  seed: number;
  /** Upper bound on cases (the time budget usually ends the run first). */
  cases: number;
  firstCase: number;
}

export function fuzzBenchOptions(argv: readonly string[] = process.argv.slice(2)): FuzzBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: { seconds: { type: 'string' }, seed: { type: 'string' }, cases: { type: 'string' }, first: { type: 'string' } },
  });
  const env = fuzzSettingsFromEnv(freshSeed(), Number.MAX_SAFE_INTEGER);
  return {
    seconds: Number(values.seconds ?? process.env.TAPFLOW_FUZZ_SECONDS ?? DEFAULT_FUZZ_SECONDS),
    seed: values.seed === undefined ? env.seed : Number(values.seed) >>> 0,
    cases: values.cases === undefined ? env.cases : Number(values.cases),
    firstCase: values.first === undefined ? env.firstCase : Number(values.first),
  };
}

export function runFuzzBench(options: FuzzBenchOptions): Promise<FuzzReport> {
  return runFuzzCampaign({ seed: options.seed, cases: options.cases, firstCase: options.firstCase, budgetMs: options.seconds * 1000 });
}

export function formatFuzzReport(report: FuzzReport): string {
  const row = [
    String(report.seed),
    report.cases.toLocaleString('en-US'),
    (report.elapsedMs / 1000).toFixed(1),
    report.casesPerSecond.toLocaleString('en-US'),
    report.packets.toLocaleString('en-US'),
    `${report.outcomes.read}/${report.outcomes.rejected}`,
    String(report.crashes),
    String(report.hangs),
    String(report.failedCases),
    report.maxCaseMs.toFixed(0),
  ];
  const lines = [formatTable(['seed', 'cases', 's', 'cases/s', 'packets', 'read/refused', 'crashes', 'hangs', 'failed', 'max ms/case'], [row])];
  lines.push(`refused files by code: ${JSON.stringify(report.byErrorCode)}`);
  lines.push(`packets by decode status: ${JSON.stringify(report.byDecodeStatus)}`);
  lines.push(`hint parses by status: ${JSON.stringify(report.byHintStatus)}`);
  for (const failure of report.failures) {
    lines.push(`FAILED case ${failure.index} [${failure.outcome}] ${failure.source} ${failure.mutations.join('+')}: ${failure.problems[0] ?? ''}`);
    lines.push(`  replay: TAPFLOW_FUZZ_SEED=${report.seed} TAPFLOW_FUZZ_FIRST=${failure.index} TAPFLOW_FUZZ_CASES=1 node --test agent/dist/test/unit/fuzz/capture-fuzz.test.js`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = fuzzBenchOptions();
  console.log(`fuzzing for ${options.seconds} s from seed ${options.seed}, case ${options.firstCase}`);
  const report = await runFuzzBench(options);
  console.log(formatFuzzReport(report));
  process.exitCode = report.failedCases > 0 ? 1 : 0;
}
