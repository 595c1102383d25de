import { readFileSync } from 'node:fs';
import type * as z from 'zod';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { configSchema, type Config, type ConfigInput } from './schema.js';

/** A JSON syntax error on one line, with the line and column when V8 gives a position. */
function describeJsonError(text: string, error: Error): string {
  const oneLine = error.message.replace(/\s*\n\s*/g, ' ');
  const position = /at position (\d+)/.exec(error.message);
  if (position === null) return `not valid JSON: ${oneLine}`;
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `not valid JSON at line ${line}, column ${column}: ${oneLine}`;
}

/** `$.a.b[2]` from zod's path segments. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let path = '$';
  for (const segment of segments) {
    path += typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`;
  }
  return path;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function toIssue(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    // One issue per unknown key, with the key in the path, so each is easy to find.
    return issue.keys.map((key) => ({ path: jsonPath([...issue.path, key]), message: 'unknown key' }));
  }
  const result: ConfigIssue = { path: jsonPath(issue.path), message: issue.message };
  if ('expected' in issue && typeof issue.expected === 'string') result.expected = issue.expected;
  if ('input' in issue && issue.input !== undefined) result.actual = describeValue(issue.input);
  return [result];
}

/** Validates a parsed configuration object; throws ConfigError listing every problem at once. */
export function validateConfig(input: unknown, source = 'configuration'): Config {
  const result = configSchema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return deepFreeze(result.data);
  throw new ConfigError(source, result.error.issues.flatMap(toIssue));
}

/** Reads and validates a JSON configuration file. */
export function loadConfigFile(path: string): Config {
  return validateConfig(readConfigInput(path), path);
}

/** Reads a JSON configuration file without validating it (to merge command-line overrides first). */
export function readConfigInput(path: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '$', message: `cannot read file: ${(error as Error).message}` }], { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [{ path: '$', message: describeJsonError(text, error as Error) }], { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(path, [{ path: '$', message: 'expected a JSON object (the configuration), e.g. {}', actual: JSON.stringify(parsed).slice(0, 60) }]);
  }
  return parsed as ConfigInput;
}

/** The embedded default configuration (every key at its default). */
export function defaultConfig(): Config {
  return validateConfig({}, 'defaults');
}

/** Applies command-line overrides on top of a file's (or the default) configuration input. */
export function withOverrides(base: ConfigInput, overrides: ConfigInput): ConfigInput {
  return mergeDeep(base, overrides) as ConfigInput;
}

function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeDeep(base[key], value);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
