import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { changedPaths, scopeOf } from '../../../src/config/config-changes.js';
import { validateConfig } from '../../../src/config/load.js';
import { persistConfigFile } from '../../../src/config/persist-config.js';

describe('changedPaths / scopeOf', () => {
  it('lists the leaves that differ, arrays whole, and nothing for equal configurations', () => {
    const a = validateConfig({ export: { collectors: ['127.0.0.1:4739'] } });
    assert.deepEqual(changedPaths(a, validateConfig({ export: { collectors: ['127.0.0.1:4739'] } })), []);
    const b = validateConfig({ export: { collectors: ['127.0.0.1:4739', '127.0.0.1:2055'] }, flowTable: { idleTimeoutMs: { udp: 5000 }, maxFlows: 1024 }, mqtt: { health: { cron: '* * * * * *' } } });
    assert.deepEqual(changedPaths(a, b), ['$.export.collectors', '$.flowTable.idleTimeoutMs.udp', '$.flowTable.maxFlows', '$.mqtt.health.cron']);
  });

  it('scopes: what a running probe can change and what takes a restart', () => {
    const cases: [string, string][] = [
      ['$.flowTable.activeTimeoutMs', 'meter'],
      ['$.flowTable.idleTimeoutMs.tcpFin', 'meter'],
      ['$.flowTable.expiryTickMs', 'meter'],
      ['$.flowTable.maxFlows', 'restart'],
      ['$.export.collectors', 'export'],
      ['$.export.tls.caFile', 'export'],
      ['$.ipfix.mtuBytes', 'export'],
      ['$.sampling.interval', 'export'],
      ['$.capture.filter', 'capture'],
      ['$.capture.excludeOwnTraffic', 'capture'],
      ['$.capture.interfaces', 'restart'],
      ['$.capture.ringSlots', 'restart'],
      ['$.decoder.fragmentMapEntries', 'restart'],
      ['$.mqtt.summary.cron', 'fleet'],
      ['$.$schema', 'none'],
    ];
    for (const [path, scope] of cases) assert.equal(scopeOf(path), scope, path);
  });
});

describe('persistConfigFile', () => {
  it('replaces the file with the new content and leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapflow-persist-'));
    try {
      const path = join(dir, 'tapflow.json');
      writeFileSync(path, '{"old": true}\n');
      persistConfigFile(path, { flowTable: { maxFlows: 1024 } });
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { flowTable: { maxFlows: 1024 } });
      assert.deepEqual(readdirSync(dir), ['tapflow.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a directory it cannot write to: throws, the old file untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapflow-persist-'));
    try {
      const path = join(dir, 'missing-dir', 'tapflow.json');
      assert.throws(() => persistConfigFile(path, {}), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
