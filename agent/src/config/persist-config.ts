import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a configuration file atomically: a temporary file in the same directory, flushed to
 * disk, then renamed over the old one. A crash or power cut (a Pi in a closet) leaves the old
 * file or the new one, never half of each.
 */
export function persistConfigFile(path: string, input: unknown): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temporary, 'w', 0o640);
  try {
    writeSync(fd, `${JSON.stringify(input, null, 2)}\n`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
