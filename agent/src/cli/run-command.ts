import type { ConfigInput } from '../config/schema.js';
import { runAgent } from '../run/run-agent.js';
import { parseCommandArgs } from './parse-command-args.js';
import { applyExportFlags, EXPORT_FLAG_OPTIONS } from './export-flags.js';
import { applyFleetFlags, FLEET_FLAG_OPTIONS } from './fleet-flags.js';
import { resolveConfig } from './resolve-config.js';
import { RUN_USAGE } from './usage.js';
import { EXIT_OK, UsageError } from './usage-error.js';

/** `tapflow run`: live capture → flows → IPFIX until SIGTERM/SIGINT. */
export async function runRunCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      config: { type: 'string' },
      interface: { type: 'string', short: 'i', multiple: true },
      filter: { type: 'string' },
      ...EXPORT_FLAG_OPTIONS,
      ...FLEET_FLAG_OPTIONS,
      'status-interval': { type: 'string' },
      'summary-json': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    RUN_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, RUN_USAGE);
  const statusIntervalMs = values['status-interval'] === undefined ? 10_000 : Number(values['status-interval']) * 1000;
  if (!(statusIntervalMs >= 0)) throw new UsageError('--status-interval takes seconds (0 for none)', RUN_USAGE);

  const overrides: ConfigInput = { capture: {}, export: {} };
  if (values.interface) overrides.capture!.interfaces = values.interface;
  if (values.filter !== undefined) overrides.capture!.filter = values.filter;
  applyExportFlags(values, overrides, RUN_USAGE);
  applyFleetFlags(values, overrides);
  const config = resolveConfig(values.config, overrides);
  if (config.capture.interfaces.length === 0) throw new UsageError('no interface: give --interface IF (or capture.interfaces in the configuration)', RUN_USAGE);
  return runAgent(config, {
    configPath: values.config ?? null,
    overrides,
    statusIntervalMs: values.quiet || values['summary-json'] ? 0 : statusIntervalMs,
    summaryJson: values['summary-json'] === true,
  });
}
