import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configJsonSchema, configReference } from '../../../src/config/config-docs.js';
import { defaultConfig, loadConfigFile, validateConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/core/errors.js';
import { REPO_ROOT } from '../../helpers/shared-pcaps.js';

const PROBE_CONFIG = join(REPO_ROOT, 'probe-config');
const CLI = join(REPO_ROOT, 'agent/bin/tapflow');

describe('configuration', () => {
  it('has complete, frozen defaults', () => {
    const config = defaultConfig();
    assert.equal(config.flowTable.maxFlows, 65_536);
    assert.equal(config.ipfix.mtuBytes, 1400);
    assert.deepEqual(config.export.collectors, []);
    assert.ok(Object.isFrozen(config.flowTable.idleTimeoutMs));
  });

  it('accepts every example in probe-config/', () => {
    const examples = readdirSync(PROBE_CONFIG).filter((f) => f.endsWith('.json') && f !== 'tapflow.schema.json');
    assert.ok(examples.length > 0);
    for (const file of examples) loadConfigFile(join(PROBE_CONFIG, file));
  });

  it('reports every problem at once with its JSON path, expected and actual value', () => {
    const broken = {
      flowTable: { maxFlows: 'many', idleTimeoutMs: { tcp: -5 }, bogus: 1 },
      ipfix: { mtuBytes: 10 },
      export: { collectors: ['no-port', '127.0.0.1:4739'] },
      extra: true,
    };
    let error: ConfigError | undefined;
    try {
      validateConfig(broken, 'broken.json');
    } catch (e) {
      error = e as ConfigError;
    }
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'TAPFLOW_E_CONFIG_INVALID');
    assert.deepEqual(error.issues.map((i) => i.path).sort(), [
      '$.export.collectors[0]',
      '$.extra',
      '$.flowTable.bogus',
      '$.flowTable.idleTimeoutMs.tcp',
      '$.flowTable.maxFlows',
      '$.ipfix.mtuBytes',
    ]);
    const maxFlows = error.issues.find((i) => i.path === '$.flowTable.maxFlows')!;
    assert.equal(maxFlows.expected, 'number');
    assert.equal(maxFlows.actual, '"many"');
    assert.match(error.message, /broken\.json/);
  });

  it('keeps probe-config/tapflow.schema.json and README.md in step with the schema (npm run gen:config)', () => {
    const schema = JSON.parse(readFileSync(join(PROBE_CONFIG, 'tapflow.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(schema, configJsonSchema(), 'tapflow.schema.json is stale: run npm run gen:config');
    assert.equal(readFileSync(join(PROBE_CONFIG, 'README.md'), 'utf8'), configReference(), 'probe-config/README.md is stale: run npm run gen:config');
  });

  it('tapflow check-config exits 0 for a valid file and 1 with every path for a broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapflow-config-'));
    const good = spawnSync(process.execPath, [CLI, 'check-config', join(PROBE_CONFIG, 'replay-lab.json')], { encoding: 'utf8' });
    assert.equal(good.status, 0, good.stderr);
    const badFile = join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify({ flowTable: { maxFlows: 1 }, nope: 1 }));
    const bad = spawnSync(process.execPath, [CLI, 'check-config', badFile], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /\$\.flowTable\.maxFlows/);
    assert.match(bad.stderr, /\$\.nope: unknown key/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ "flowTable": ');
    const invalid = spawnSync(process.execPath, [CLI, 'check-config', notJson], { encoding: 'utf8' });
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /not valid JSON/);
    assert.doesNotMatch(invalid.stderr, /at .*\.js:\d+/, 'no stack trace');
  });
});
