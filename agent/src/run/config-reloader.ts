import { changedPaths, scopeOf } from '../config/config-changes.js';
import { readConfigInput, withOverrides } from '../config/load.js';
import { resolveConfigInput } from '../cli/resolve-config.js';
import { persistConfigFile } from '../config/persist-config.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { configHash } from '../fleet/fleet-agent.js';
import { REDACTED } from '../fleet/redacted-config.js';
import type { Logger } from '../logging/logger.js';

export interface ReloadResult {
  /** Paths of the settings now in force that changed. */
  applied: string[];
  /** Paths that changed but take a restart (table sizes, interfaces, the ring); still the old values. */
  restartRequired: string[];
  /** The new configuration was written to the configuration file (config.set). */
  persisted: boolean;
  configHash: string;
}

/** What a reload acts on, in the order it is applied (and undone in reverse). */
export interface ReloadTargets {
  /** The meter worker: timeouts, sampling, a new export pipeline. Throws if refused (nothing changed). */
  reconfigureMeter(config: Config): Promise<void>;
  /** The capture filter: throws if libpcap refuses it (capture goes on with the old one). */
  refilterCapture(config: Config): Promise<void>;
  /** The fleet channel: checked first (files readable), replaced after the caller's reply. */
  checkFleet(config: Config): void;
  replaceFleet(config: Config): void;
}

/** A reload that was refused (invalid) or undone (applying failed); the running configuration is unchanged. */
export class ReloadError extends Error {
  constructor(
    readonly code: 'invalid_config' | 'apply_failed',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reloads the configuration of `tapflow run` (SIGHUP: the file again; `config.set`: a new one from
 * the fleet): validated first, every error reported; applied where a running probe can change
 * without losing flows; the file written atomically (config.set); undone in reverse order when a
 * step fails. An invalid configuration never replaces the running one. One reload at a time.
 */
export class ConfigReloader {
  private running: Config;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly configPath: string | null,
    private readonly overrides: ConfigInput,
    initial: Config,
    private readonly targets: ReloadTargets,
    private readonly log: Logger,
  ) {
    this.running = initial;
  }

  get config(): Config {
    return this.running;
  }

  /** SIGHUP: the configuration file again, with the command line's overrides on top. */
  reloadFile(): Promise<ReloadResult> {
    return this.serially(async () => {
      if (this.configPath === null) throw new ReloadError('invalid_config', 'no configuration file to reload (started without --config)');
      const next = this.validate(readConfigInputOrThrow(this.configPath), this.configPath);
      return this.apply(next, null);
    });
  }

  /** config.set: a whole new configuration file's content. */
  set(input: unknown): Promise<ReloadResult> {
    return this.serially(async () => {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new ReloadError('invalid_config', 'config.set takes {"config": {...}}: the whole configuration file, as config.get shows it');
      }
      // config.get shows the password redacted: sent back unchanged, it means "keep it".
      const mqtt = (input as { mqtt?: { password?: unknown } }).mqtt;
      const given = mqtt?.password === REDACTED ? { ...input, mqtt: { ...mqtt, password: this.running.mqtt.password } } : input;
      const next = this.validate(given as ConfigInput, 'config.set');
      return this.apply(next, given);
    });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private validate(input: ConfigInput, source: string): Config {
    try {
      return resolveConfigInput(withOverrides(input ?? {}, this.overrides), source);
    } catch (error) {
      throw new ReloadError('invalid_config', (error as Error).message);
    }
  }

  private async apply(requested: Config, persist: unknown): Promise<ReloadResult> {
    const before = this.running;
    const paths = changedPaths(before, requested);
    const restartRequired = paths.filter((p) => scopeOf(p) === 'restart');
    // The settings in force: the new ones, except those a restart must bring.
    const next = restartRequired.reduce((config, path) => withValueAt(config, path, valueAt(before, path)), requested);
    const applied = paths.filter((p) => scopeOf(p) !== 'restart' && scopeOf(p) !== 'none');
    const scopes = new Set(applied.map(scopeOf));
    const undo: (() => Promise<void>)[] = [];
    try {
      if (scopes.has('fleet')) this.targets.checkFleet(next);
      // The capture filter first: a filter libpcap refuses then fails the reload before a new
      // export pipeline exists. The export's collectors and the broker are excluded from capture,
      // so their changes refilter too.
      if (scopes.has('capture') || scopes.has('export') || scopes.has('fleet')) {
        await this.targets.refilterCapture(next);
        undo.push(() => this.targets.refilterCapture(before));
      }
      if (scopes.has('meter') || scopes.has('export')) {
        await this.targets.reconfigureMeter(next);
        undo.push(() => this.targets.reconfigureMeter(before));
      }
      if (persist !== null && this.configPath !== null) persistConfigFile(this.configPath, persist);
    } catch (error) {
      for (const step of undo.reverse()) await step().catch((e: Error) => this.log.error({ err: e.message }, 'reload: undoing a step failed'));
      throw new ReloadError('apply_failed', `${(error as Error).message}; the running configuration is unchanged`);
    }
    this.running = next;
    if (scopes.has('fleet')) this.targets.replaceFleet(next);
    const result: ReloadResult = { applied, restartRequired, persisted: persist !== null && this.configPath !== null, configHash: configHash(next) };
    this.log.info(result, 'reload: configuration applied');
    return result;
  }
}

function readConfigInputOrThrow(path: string): ConfigInput {
  try {
    return readConfigInput(path);
  } catch (error) {
    throw new ReloadError('invalid_config', (error as Error).message);
  }
}

function segments(path: string): string[] {
  return path.replace(/^\$\.?/, '').split('.').filter((s) => s !== '');
}

function valueAt(config: unknown, path: string): unknown {
  return segments(path).reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
}

/** A copy of `config` with one value replaced (the rest shared). */
function withValueAt<T>(config: T, path: string, value: unknown): T {
  const keys = segments(path);
  const replace = (node: unknown, depth: number): unknown => {
    if (depth === keys.length) return value;
    const object = (node ?? {}) as Record<string, unknown>;
    return { ...object, [keys[depth]!]: replace(object[keys[depth]!], depth + 1) };
  };
  return replace(config, 0) as T;
}
