/** The export flags `tapflow run` and `tapflow replay` share, and how they override the configuration. */
import type { ConfigInput } from '../config/schema.js';
import { UsageError } from './usage-error.js';

export const EXPORT_FLAG_OPTIONS = {
  collector: { type: 'string', multiple: true },
  failover: { type: 'boolean' },
  biflow: { type: 'boolean' },
  sampling: { type: 'string' },
  out: { type: 'string' },
} as const;

export interface ExportFlagValues {
  collector?: string[] | undefined;
  failover?: boolean | undefined;
  biflow?: boolean | undefined;
  sampling?: string | undefined;
  out?: string | undefined;
}

/** Writes the given flags into `overrides` (collectors are validated with the rest of the configuration). */
export function applyExportFlags(values: ExportFlagValues, overrides: ConfigInput, usage: string): void {
  const exportInput = (overrides.export ??= {});
  if (values.collector) exportInput.collectors = values.collector;
  if (values.out) exportInput.file = values.out;
  if (values.failover) exportInput.mode = 'failover';
  if (values.biflow) exportInput.biflow = true;
  if (values.sampling !== undefined) {
    const match = /^(\d{1,7})(?::(deterministic|random))?$/.exec(values.sampling);
    if (match === null) throw new UsageError(`--sampling takes N or N:random (1 packet in N), got '${values.sampling}'`, usage);
    overrides.sampling = { interval: Number(match[1]), method: (match[2] as 'deterministic' | 'random' | undefined) ?? 'deterministic' };
  }
}
