/** A wrong command line: printed with the command's usage, exit code 1. */
export class UsageError extends Error {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.name = 'UsageError';
    this.usage = usage;
  }
}

export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_INPUT_DAMAGED = 2;
export const EXIT_EXPORT_FAILED = 3;
