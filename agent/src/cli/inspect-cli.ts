import { runInspect } from './inspect-command.js';
import { parseCommandArgs } from './parse-command-args.js';
import { INSPECT_USAGE } from './usage.js';
import { UsageError } from './usage-error.js';

export async function runInspectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    INSPECT_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${INSPECT_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one FILE.ipfix', INSPECT_USAGE);
  return runInspect(positionals[0]!, { json: values.json === true }, process.stdout);
}
