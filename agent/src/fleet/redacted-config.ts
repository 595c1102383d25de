import type { Config } from '../config/schema.js';

/** Shown instead of a secret's value. */
export const REDACTED = '(redacted)';

/**
 * The configuration with its secrets replaced (the broker password; key files are paths, not
 * secrets), for `config.get` replies and the configuration hash: a fleet channel must never
 * carry a credential.
 */
export function redactedConfig(config: Config): Config {
  if (config.mqtt.password === null) return config;
  return { ...config, mqtt: { ...config.mqtt, password: REDACTED } };
}
