import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * ../shared/pcaps (beside the repository) holds third-party captures that tests read in place.
 * Tests that need it call sharedPcapsDir() and skip with SHARED_PCAPS_MISSING when it is absent.
 */
export const REPO_ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../..');

export const SHARED_PCAPS_DIR = process.env.TAPFLOW_SHARED_PCAPS ?? resolve(REPO_ROOT, '../shared/pcaps');

export const SHARED_PCAPS_MISSING = `../shared/pcaps not found at ${SHARED_PCAPS_DIR} (set TAPFLOW_SHARED_PCAPS): skipped`;

export function sharedPcapsDir(): string | null {
  return existsSync(join(SHARED_PCAPS_DIR, 'MANIFEST.md')) ? SHARED_PCAPS_DIR : null;
}

/** Every capture file in one folder of the corpus (realistic, encap, malformed, formats), sorted. */
export function sharedPcaps(folder: 'realistic' | 'encap' | 'malformed' | 'formats'): string[] {
  const dir = sharedPcapsDir();
  if (dir === null) return [];
  return readdirSync(join(dir, folder))
    .filter((name) => /\.(pcap|pcapng)$/.test(name))
    .sort()
    .map((name) => join(dir, folder, name));
}
