import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { SHARED_PCAPS_DIR, sharedPcaps } from '../shared-pcaps.js';
import { capturePrefix } from './capture-layout.js';

/** One starting capture of the fuzzer: a third-party file from ../shared/pcaps, cut to a budget. */
export interface FuzzSeed {
  /** Path relative to the corpus folder, e.g. 'encap/zeek_geneve.pcap'. */
  name: string;
  bytes: Uint8Array;
}

/**
 * Each capture is cut (at a record end) to this many bytes: the first records hold the file
 * headers and plenty of packets to damage, and a small file keeps one case to about a millisecond.
 */
export const SEED_BUDGET_BYTES = 12 * 1024;

/** Every capture of every corpus folder, sorted by name (so a seed number means the same file each run); [] when the corpus is absent. */
export function loadFuzzSeeds(budgetBytes = SEED_BUDGET_BYTES): FuzzSeed[] {
  const files = [...sharedPcaps('realistic'), ...sharedPcaps('encap'), ...sharedPcaps('malformed'), ...sharedPcaps('formats')];
  return files.map((file) => ({ name: relative(SHARED_PCAPS_DIR, file), bytes: capturePrefix(new Uint8Array(readFileSync(file)), budgetBytes).slice() }));
}
