/**
 * ConfigReloader with recording targets: validation before anything, the order of the steps,
 * undo in reverse when one fails, restart-only settings kept, the file written only on success.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { ConfigReloader, ReloadError, type ReloadTargets } from '../../../src/run/config-reloader.js';

const silent = pino({ level: 'silent' });

function recordingTargets(fail: { meter?: boolean; capture?: boolean; fleetFiles?: boolean } = {}) {
  const calls: string[] = [];
  const targets: ReloadTargets = {
    reconfigureMeter: async (c: Config) => {
      calls.push(`meter udp=${c.flowTable.idleTimeoutMs.udp}`);
      if (fail.meter && c.flowTable.idleTimeoutMs.udp === 5000) throw new Error('meter refused');
    },
    refilterCapture: async (c: Config) => {
      calls.push(`capture ${JSON.stringify(c.capture.filter)}`);
      if (fail.capture && c.capture.filter === 'bad ((') throw new Error('syntax error in filter expression');
    },
    checkFleet: (c: Config) => {
      calls.push('check fleet');
      if (fail.fleetFiles) throw new Error(`cannot read the MQTT CA file ${c.mqtt.tls.caFile}`);
    },
    replaceFleet: (c: Config) => calls.push(`fleet ${c.mqtt.health.cron}`),
  };
  return { calls, targets };
}

function withFile(content: unknown, run: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tapflow-reload-'));
  const path = join(dir, 'tapflow.json');
  writeFileSync(path, JSON.stringify(content));
  return run(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const BASE = { export: { file: '/tmp/a.ipfix' } };

describe('ConfigReloader', () => {
  it('applies meter, export and capture changes in order, keeps restart-only settings, writes the file', async () => {
    await withFile(BASE, async (path) => {
      const { calls, targets } = recordingTargets();
      const reloader = new ConfigReloader(path, {}, validateConfig(BASE), targets, silent);
      const next = { export: { file: '/tmp/b.ipfix' }, flowTable: { idleTimeoutMs: { udp: 5000 }, maxFlows: 1024 }, capture: { filter: 'udp' } };
      const result = await reloader.set(next);
      assert.deepEqual(result.applied, ['$.capture.filter', '$.export.file', '$.flowTable.idleTimeoutMs.udp']);
      assert.deepEqual(result.restartRequired, ['$.flowTable.maxFlows']);
      assert.equal(result.persisted, true);
      assert.deepEqual(calls, ['capture "udp"', 'meter udp=5000']);
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), next);
      assert.equal(reloader.config.flowTable.maxFlows, validateConfig({}).flowTable.maxFlows, 'the running table keeps its size');
      assert.equal(reloader.config.export.file, '/tmp/b.ipfix');
    });
  });

  it('an invalid configuration: every error reported, nothing applied, the file untouched', async () => {
    await withFile(BASE, async (path) => {
      const { calls, targets } = recordingTargets();
      const reloader = new ConfigReloader(path, {}, validateConfig(BASE), targets, silent);
      const error = await reloader.set({ bogus: 1, flowTable: { maxFlows: 'x' } }).catch((e: unknown) => e);
      assert.ok(error instanceof ReloadError);
      assert.equal(error.code, 'invalid_config');
      assert.match(error.message, /\$\.bogus: unknown key/);
      assert.match(error.message, /\$\.flowTable\.maxFlows/);
      assert.deepEqual(calls, []);
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), BASE);
      const notAMap = await reloader.set([1, 2]).catch((e: unknown) => e);
      assert.equal((notAMap as ReloadError).code, 'invalid_config');
    });
  });

  it('a step that fails: the earlier ones are undone in reverse, the file and the running configuration unchanged', async () => {
    await withFile(BASE, async (path) => {
      const { calls, targets } = recordingTargets({ capture: true });
      const initial = validateConfig(BASE);
      const reloader = new ConfigReloader(path, {}, initial, targets, silent);
      // A refused filter fails before the meter (and a new export) is touched.
      const error = await reloader.set({ ...BASE, flowTable: { idleTimeoutMs: { udp: 7000 } }, capture: { filter: 'bad ((' } }).catch((e: unknown) => e);
      assert.equal((error as ReloadError).code, 'apply_failed');
      assert.match((error as Error).message, /syntax error.*running configuration is unchanged/);
      assert.deepEqual(calls, ['capture "bad (("']);
      calls.length = 0;
      // A refused meter step: the capture filter already changed goes back.
      const meterFails = recordingTargets({ meter: true });
      const second = new ConfigReloader(path, {}, initial, meterFails.targets, silent);
      await second.set({ ...BASE, flowTable: { idleTimeoutMs: { udp: 5000 } }, capture: { filter: 'udp' } }).catch(() => undefined);
      assert.deepEqual(meterFails.calls, ['capture "udp"', 'meter udp=5000', 'capture ""']);
      assert.equal(reloader.config, initial);
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), BASE);
    });
  });

  it('fleet changes: files checked first (a missing CA refuses the reload), the agent replaced after the rest', async () => {
    await withFile(BASE, async (path) => {
      const refused = recordingTargets({ fleetFiles: true });
      const reloader = new ConfigReloader(path, {}, validateConfig(BASE), refused.targets, silent);
      const error = await reloader.set({ ...BASE, mqtt: { url: 'mqtts://127.0.0.1:8883', tls: { caFile: '/nonexistent/ca.pem' } } }).catch((e: unknown) => e);
      assert.equal((error as ReloadError).code, 'apply_failed');
      assert.deepEqual(refused.calls, ['check fleet']);

      const ok = recordingTargets();
      const second = new ConfigReloader(path, {}, validateConfig(BASE), ok.targets, silent);
      await second.set({ ...BASE, mqtt: { url: 'mqtt://127.0.0.1:1883', health: { cron: '*/5 * * * * *' } } });
      // The broker leaves or joins the capture filter's exclusions too.
      assert.deepEqual(ok.calls, ['check fleet', 'capture ""', 'fleet */5 * * * * *']);
    });
  });

  it('SIGHUP re-reads the file with the command-line overrides on top; reloads run one at a time', async () => {
    await withFile(BASE, async (path) => {
      const { calls, targets } = recordingTargets();
      const overrides = { flowTable: { idleTimeoutMs: { udp: 9000 } } };
      const reloader = new ConfigReloader(path, overrides, validateConfig({ ...BASE, ...overrides }), targets, silent);
      writeFileSync(path, JSON.stringify({ export: { file: '/tmp/c.ipfix' }, flowTable: { idleTimeoutMs: { udp: 1000 } } }));
      const [first, second] = await Promise.all([reloader.reloadFile(), reloader.reloadFile()]);
      assert.deepEqual(first.applied, ['$.export.file']);
      assert.deepEqual(second.applied, [], 'the second found nothing left to change');
      assert.equal(reloader.config.flowTable.idleTimeoutMs.udp, 9000, 'the override still wins');
      assert.equal(first.persisted, false, 'SIGHUP does not rewrite the file');
      // An export change may change the collectors excluded from capture: the filter is recomputed (same here).
      assert.deepEqual(calls, ['capture ""', 'meter udp=9000']);
    });
  });

  it('config.get output sent back unchanged keeps the password', async () => {
    await withFile(BASE, async (path) => {
      const { targets } = recordingTargets();
      const initial = validateConfig({ ...BASE, mqtt: { url: 'mqtt://127.0.0.1:1883', password: 'pw' } });
      const reloader = new ConfigReloader(path, {}, initial, targets, silent);
      const result = await reloader.set({ ...BASE, mqtt: { url: 'mqtt://127.0.0.1:1883', password: '(redacted)' } });
      assert.deepEqual(result.applied, []);
      assert.equal(reloader.config.mqtt.password, 'pw');
    });
  });
});
