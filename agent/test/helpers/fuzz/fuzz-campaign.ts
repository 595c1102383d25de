import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FuzzTally, type FuzzReport } from './fuzz-report.js';
import type { FuzzWorkerData, FuzzWorkerMessage } from './fuzz-worker.js';

/**
 * Runs fuzz cases [firstCase, firstCase + cases) of campaign `seed` in a worker thread, with a
 * wall-clock watchdog: a case that does not finish within `hangMs` (a synchronous loop in the
 * reader or decoder that no callback can interrupt) gets the worker terminated, is counted as a
 * hang, and the campaign goes on in a new worker from the next case. Stops early once `budgetMs`
 * has passed (the bench's time box). Reproduce one case with the same seed and firstCase = index.
 */
export interface FuzzCampaignOptions {
  seed: number;
  cases: number;
  firstCase?: number;
  /** Wall-clock limit of one case (default 20 s: generous, a case takes milliseconds). */
  hangMs?: number;
  /** Stop starting new workers/cases after this long (default: no limit). */
  budgetMs?: number;
  /** Called for every finished case (progress output). */
  onCase?: (index: number, report: FuzzReport) => void;
}

/** Random 32-bit seed for runs that did not choose one (printed, so a failure can be replayed). */
export function freshSeed(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}

/** Seed and case count from TAPFLOW_FUZZ_SEED / TAPFLOW_FUZZ_CASES, else the defaults given. */
export function fuzzSettingsFromEnv(defaultSeed: number, defaultCases: number): { seed: number; cases: number; firstCase: number } {
  const seed = parseEnvInteger('TAPFLOW_FUZZ_SEED', defaultSeed);
  return { seed: seed >>> 0, cases: parseEnvInteger('TAPFLOW_FUZZ_CASES', defaultCases), firstCase: parseEnvInteger('TAPFLOW_FUZZ_FIRST', 0) };
}

function parseEnvInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got '${text}'`);
  return value;
}

export async function runFuzzCampaign(options: FuzzCampaignOptions): Promise<FuzzReport> {
  const firstCase = options.firstCase ?? 0;
  const end = firstCase + options.cases;
  const hangMs = options.hangMs ?? 20_000;
  const deadline = options.budgetMs === undefined ? Infinity : performance.now() + options.budgetMs;
  const tally = new FuzzTally(options.seed, firstCase);
  const tempDir = mkdtempSync(join(tmpdir(), 'tapflow-fuzz-'));
  const started = performance.now();
  let seedFiles = 0;
  let next = firstCase;
  try {
    while (next < end && performance.now() < deadline) {
      const stoppedAt = await runWorker({ seed: options.seed, from: next, to: end, tempDir }, hangMs, deadline, (message) => {
        if (message.kind === 'ready') seedFiles = message.seedFiles;
        else if (message.kind === 'case') {
          tally.add(message.report);
          next = message.report.index + 1;
          options.onCase?.(message.report.index, tally.report);
        }
      });
      if (stoppedAt === 'hang') {
        tally.addHang(next, hangMs);
        next++;
      }
    }
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
  return tally.finish(performance.now() - started, seedFiles);
}

/** Runs one worker until it is done, silent for hangMs ('hang'), past the deadline ('budget') or failed. */
function runWorker(data: FuzzWorkerData, hangMs: number, deadline: number, onMessage: (message: FuzzWorkerMessage) => void): Promise<'done' | 'hang' | 'budget'> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: data });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (how: 'done' | 'hang' | 'budget' | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (how instanceof Error) reject(how);
      else resolve(how);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish('hang'), hangMs);
    };
    arm();
    worker.on('message', (message: FuzzWorkerMessage) => {
      if (settled) return;
      onMessage(message);
      if (message.kind === 'done') finish('done');
      else if (performance.now() >= deadline) finish('budget');
      else arm();
    });
    worker.on('error', (error) => finish(error));
    worker.on('exit', (code) => finish(code === 0 ? 'done' : new Error(`fuzz worker exited with code ${code}`)));
  });
}
