/**
 * Errors raised at the edges (start-up, files, configuration), each with a stable code
 * `TAPFLOW_E_<AREA>_<WHAT>` that callers and operators match on. The packet path never throws: it
 * returns status codes and bumps counters instead.
 */
export class AgentError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}

/** One problem in a configuration: where, what was expected, what was found. */
export interface ConfigIssue {
  /** JSON path, e.g. `$.flowTable.maxFlows`. */
  path: string;
  message: string;
  expected?: string;
  actual?: string;
}

/** `$.a.b: message (expected X, got Y)`: one problem on one line. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const detail = [issue.expected ? `expected ${issue.expected}` : '', issue.actual !== undefined ? `got ${issue.actual}` : ''].filter(Boolean).join(', ');
  return `${issue.path}: ${issue.message}${detail ? ` (${detail})` : ''}`;
}

export class ConfigError extends AgentError {
  readonly issues: readonly ConfigIssue[];
  constructor(source: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const lines = issues.map((issue) => `  ${formatConfigIssue(issue)}`).join('\n');
    super('TAPFLOW_E_CONFIG_INVALID', `invalid configuration in ${source}:\n${lines}`, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
