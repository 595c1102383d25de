import type { Config, ConfigInput } from '../config/schema.js';
import { readConfigInput, validateConfig, withOverrides } from '../config/load.js';

/** Where records go when neither a collector nor a file is configured. */
export const DEFAULT_OUT_FILE = 'flows.ipfix';

/**
 * The configuration a command runs with: the file (if any), then the command-line overrides, then
 * the default destination when none is set; every problem reported with its path (ConfigError).
 */
export function resolveConfig(configPath: string | undefined, overrides: ConfigInput): Config {
  return resolveConfigInput(withOverrides(configPath ? readConfigInput(configPath) : {}, overrides), configPath ?? 'command line');
}

/** Validates a configuration (file content with overrides merged) and applies the default destination. */
export function resolveConfigInput(input: ConfigInput, source: string): Config {
  const config = validateConfig(input, source);
  if (config.export.collectors.length > 0 || config.export.file !== null) return config;
  return validateConfig(withOverrides(input, { export: { file: DEFAULT_OUT_FILE } }), source);
}
