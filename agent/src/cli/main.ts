#!/usr/bin/env node
import { AgentError } from '../core/errors.js';
import { packageVersion } from './package-version.js';
import { MAIN_USAGE } from './usage.js';
import { EXIT_USAGE, UsageError } from './usage-error.js';

// Commands are imported when chosen, so each pays only for its own modules at start-up.
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return (await import('./run-command.js')).runRunCommand(rest);
    case 'replay':
      return (await import('./replay-command.js')).runReplayCommand(rest);
    case 'inspect':
      return (await import('./inspect-cli.js')).runInspectCommand(rest);
    case 'watch':
      return (await import('./watch-command.js')).runWatchCommand(rest);
    case 'check-config':
      return (await import('./check-config-command.js')).runCheckConfigCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${MAIN_USAGE}\n`);
      return command === undefined ? EXIT_USAGE : 0;
    default:
      throw new UsageError(`unknown command '${command}'`, MAIN_USAGE);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`tapflow: ${error.message}\n\n${error.usage}\n`);
      process.exitCode = EXIT_USAGE;
    } else if (error instanceof AgentError) {
      process.stderr.write(`tapflow: ${error.message} [${error.code}]\n`);
      process.exitCode = error.code.startsWith('TAPFLOW_E_CONFIG') ? EXIT_USAGE : 3;
    } else {
      process.stderr.write(`tapflow: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 70;
    }
  },
);
