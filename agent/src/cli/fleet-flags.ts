/** The fleet-channel flags `tapflow run` and `tapflow replay` share, and how they override the configuration. */
import type { ConfigInput } from '../config/schema.js';

export const FLEET_FLAG_OPTIONS = {
  mqtt: { type: 'string' },
  'probe-id': { type: 'string' },
  'health-cron': { type: 'string' },
  'summary-cron': { type: 'string' },
} as const;

export interface FleetFlagValues {
  mqtt?: string | undefined;
  'probe-id'?: string | undefined;
  'health-cron'?: string | undefined;
  'summary-cron'?: string | undefined;
}

/** Writes the given flags into `overrides`; they are validated with the rest of the configuration. */
export function applyFleetFlags(values: FleetFlagValues, overrides: ConfigInput): void {
  const mqtt = (overrides.mqtt ??= {});
  if (values.mqtt !== undefined) mqtt.url = values.mqtt;
  if (values['probe-id'] !== undefined) mqtt.probeId = values['probe-id'];
  if (values['health-cron'] !== undefined) mqtt.health = { ...mqtt.health, cron: values['health-cron'] };
  if (values['summary-cron'] !== undefined) mqtt.summary = { ...mqtt.summary, cron: values['summary-cron'] };
}
