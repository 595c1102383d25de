import { loadConfigFile } from '../config/load.js';
import { ConfigError, formatConfigIssue } from '../core/errors.js';
import { parseCommandArgs } from './parse-command-args.js';
import { CHECK_CONFIG_USAGE } from './usage.js';
import { EXIT_USAGE, UsageError } from './usage-error.js';

export async function runCheckConfigCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { help: { type: 'boolean', short: 'h' } }, CHECK_CONFIG_USAGE);
  if (values.help) {
    process.stdout.write(`${CHECK_CONFIG_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one FILE', CHECK_CONFIG_USAGE);
  const file = positionals[0]!;
  try {
    loadConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${file}: ${error.issues.length} problem(s)\n`);
    for (const issue of error.issues) process.stderr.write(`  ${formatConfigIssue(issue)}\n`);
    return EXIT_USAGE;
  }
  process.stdout.write(`${file}: valid\n`);
  return 0;
}
