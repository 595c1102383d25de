import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CaptureTruth, imix, longLivedFlows, newFlowPerPacket } from '../test/helpers/traffic-generator.js';

/**
 * The benchmark captures: generated once per (scenario, size, generator version) into a cache
 * directory and reused, because writing a gigabyte of pcap takes longer than replaying it.
 */

export const SCENARIOS = ['long-lived-flows', 'new-flow-per-packet', 'imix'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Concurrent TCP connections in the long-lived scenario. */
export const LONG_LIVED_FLOWS = 10_000;
const SEED = 1;

export interface BenchCapture {
  scenario: ScenarioName;
  path: string;
  /** Totals the generator wrote (no per-flow map). */
  truth: CaptureTruth;
  /** True when the file came from the cache. */
  cached: boolean;
}

export function defaultCacheDir(): string {
  return process.env.TAPFLOW_BENCH_DIR ?? join(tmpdir(), 'tapflow-bench');
}

/** Returns the capture for a scenario and size, generating it (and dropping older versions) on a miss. */
export function benchCapture(scenario: ScenarioName, packets: number, cacheDir = defaultCacheDir()): BenchCapture {
  mkdirSync(cacheDir, { recursive: true });
  const stem = `${scenario}-${packets}-s${SEED}-g${generatorVersion()}`;
  const path = join(cacheDir, `${stem}.pcap`);
  const truthPath = join(cacheDir, `${stem}.json`);
  if (existsSync(path) && existsSync(truthPath)) {
    return { scenario, path, truth: JSON.parse(readFileSync(truthPath, 'utf8')) as CaptureTruth, cached: true };
  }
  for (const name of readdirSync(cacheDir)) {
    if (name.startsWith(`${scenario}-${packets}-`) && !name.startsWith(stem)) rmSync(join(cacheDir, name), { force: true });
  }
  const partial = `${path}.partial-${process.pid}`;
  const common = { path: partial, packets, seed: SEED, truth: 'totals' } as const;
  let truth: CaptureTruth;
  switch (scenario) {
    case 'long-lived-flows':
      truth = longLivedFlows({ ...common, flows: Math.min(LONG_LIVED_FLOWS, Math.floor(packets / 7)) });
      break;
    case 'new-flow-per-packet':
      truth = newFlowPerPacket(common);
      break;
    case 'imix':
      truth = imix(common);
      break;
  }
  renameSync(partial, path);
  truth.path = path;
  writeFileSync(truthPath, `${JSON.stringify(truth)}\n`);
  return { scenario, path, truth, cached: false };
}

/** Short hash of the compiled generator, so a changed generator never reuses stale captures. */
function generatorVersion(): string {
  const hash = createHash('sha256');
  for (const file of ['traffic-generator.js', 'pcap-writer.js']) {
    hash.update(readFileSync(new URL(`../test/helpers/${file}`, import.meta.url)));
  }
  return hash.digest('hex').slice(0, 8);
}
