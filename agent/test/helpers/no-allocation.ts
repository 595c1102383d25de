/**
 * Proof that a hot path allocates nothing: run it warm, then measure young-generation growth and
 * garbage collections over a large count of calls. A per-call allocation (even 1 byte) shows in
 * every measured run; a function the optimizing compiler finishes only during a run does not, so
 * up to `attempts` runs are made and one clean run passes. Needs `node --expose-gc`.
 */
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const gc = (globalThis as { gc?: () => void }).gc;

/** The skip reason when the test runs without --expose-gc, else false. */
export const NO_ALLOCATION_SKIP: string | false = gc === undefined ? 'needs node --expose-gc' : false;

export interface NoAllocationOptions {
  /** Calls per measured run (default 1M: even 1 byte each would be 1 MB). */
  calls?: number;
  warmUpCalls?: number;
  warmUpRounds?: number;
  attempts?: number;
  /** Young-generation growth a clean run may show (default 64 KiB). */
  budgetBytes?: number;
  /** What a call is, for the diagnostics ("records", "calls"). */
  unit?: string;
}

function newSpaceUsedBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_used_size ?? 0;
}

/** Resolves with the calls made in all (warm-up and measured runs). */
export async function assertNoAllocation(t: { diagnostic(message: string): void }, run: (count: number) => void, options: NoAllocationOptions = {}): Promise<number> {
  const calls = options.calls ?? 1_000_000;
  const unit = options.unit ?? 'calls';
  const budgetBytes = options.budgetBytes ?? 64 * 1024;
  const warmUpRounds = options.warmUpRounds ?? 3;
  const warmUpCalls = options.warmUpCalls ?? 200_000;
  for (let round = 0; round < warmUpRounds; round++) run(warmUpCalls);
  const attempts: string[] = [];
  let clean = false;
  for (let attempt = 0; attempt < (options.attempts ?? 3) && !clean; attempt++) {
    gc?.();
    let collections = 0;
    const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
    observer.observe({ entryTypes: ['gc'] });
    const heapBefore = process.memoryUsage().heapUsed;
    const newSpaceBefore = newSpaceUsedBytes();
    const started = performance.now();
    run(calls);
    const elapsedMs = performance.now() - started;
    const newSpaceGrowth = newSpaceUsedBytes() - newSpaceBefore;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver
    observer.disconnect();
    clean = collections === 0 && newSpaceGrowth < budgetBytes;
    attempts.push(
      `${calls} ${unit} in ${elapsedMs.toFixed(0)} ms (${Math.round(calls / (elapsedMs / 1000))} ${unit}/s): ` +
        `new space +${newSpaceGrowth} B, heap +${heapGrowth} B, ${collections} GCs`,
    );
  }
  for (const line of attempts) t.diagnostic(line);
  assert.ok(clean, `no clean run: ${attempts.join('; ')}`);
  return warmUpRounds * warmUpCalls + attempts.length * calls;
}
