import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import type { HealthPayload, StatusPayload, SummaryPayload } from '../../src/fleet/fleet-messages.js';
import type { ProbeState } from '../../src/fleet/fleet-view.js';
import { CONTENT_TYPES, encodePayload, type PayloadFormat } from '../../src/fleet/payload-codec.js';
import { join } from 'node:path';
import { hasTool, tempDir } from '../helpers/collectors.js';
import { makeTestPki } from '../helpers/test-pki.js';
import { freeTcpPort, hasMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { REPO_ROOT } from '../helpers/shared-pcaps.js';
import { healthPayload, statusPayload, summaryPayload } from '../unit/fleet/fleet-test-payloads.js';

const skip = hasMosquitto() ? false : MOSQUITTO_MISSING;
const WATCH_MODULE = fileURLToPath(new URL('../../src/cli/watch-command.js', import.meta.url));

// The command runs in its own node process, as main.ts runs it (UsageError → usage and exit 1),
// so exit codes, stdout/stderr and signals are the real ones.
const RUNNER = `
const { runWatchCommand } = await import(${JSON.stringify(WATCH_MODULE)});
runWatchCommand(process.argv.slice(1)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write('tapflow: ' + error.message + '\\n' + (error.usage ?? '') + '\\n');
    process.exitCode = error.name === 'UsageError' ? 1 : 70;
  },
);`;

interface WatchRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runWatch(args: string[], onStdout?: (stdout: string, child: ChildProcess) => void): Promise<WatchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER, '--', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function snapshot(run: WatchRun): { probes: ProbeState[]; accepted: number; ignored: number; filtered: number } {
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

describe('tapflow watch (real Mosquitto)', { skip }, () => {
  let broker: MosquittoBroker;
  let publisher: MqttClient;
  const nowMs = Date.now();
  const a = {
    status: statusPayload('edge-a', nowMs - 5_000),
    health: healthPayload('edge-a', nowMs - 2_000),
    summary: summaryPayload('edge-a', nowMs - 1_000),
  };
  // edge-b vanished: the broker holds its last will (registered at connect) and its last health.
  const b = {
    status: statusPayload('edge-b', nowMs - 600_000, { state: 'offline', reason: 'connection lost' }),
    health: healthPayload('edge-b', nowMs - 90_000, { seq: 9, traffic: { ...healthPayload('b', 0).traffic, bitsPerSecond: 4_200_000 } }),
  };

  const publish = (topic: string, payload: unknown, format: PayloadFormat, retain = true): Promise<unknown> =>
    publisher.publishAsync(topic, encodePayload(payload, format), { qos: 1, retain, properties: { contentType: CONTENT_TYPES[format] } });

  before(async () => {
    broker = await startMosquitto();
    publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'watch-test-publisher' });
    await publish('tapflow/edge-a/status', a.status, 'msgpack');
    await publish('tapflow/edge-a/health', a.health, 'msgpack');
    await publish('tapflow/edge-a/summary', a.summary, 'msgpack');
    await publish('tapflow/edge-b/status', b.status, 'msgpack');
    await publish('tapflow/edge-b/health', b.health, 'json');
    await publish('tapflow/junk/health', { hello: 'world' }, 'msgpack'); // not a tapflow payload
    await publish('lab/edge-c/status', statusPayload('edge-c', nowMs), 'json'); // another topic root
  });

  after(async () => {
    await publisher?.endAsync();
    await broker?.close();
  });

  it('--once --json: both probes, online and offline, with the figures they published', async () => {
    const state = snapshot(await runWatch(['--mqtt', broker.url, '--once', '--wait', '0.5', '--json']));
    assert.deepEqual(state.probes.map((p) => [p.probeId, p.liveness]), [['edge-a', 'online'], ['edge-b', 'offline']]);
    const [edgeA, edgeB] = state.probes as [ProbeState, ProbeState];
    assert.deepEqual(edgeA.status, a.status);
    assert.deepEqual(edgeA.health as HealthPayload, a.health);
    assert.deepEqual(edgeA.summary as SummaryPayload, a.summary);
    assert.equal(edgeA.sinceMs, a.status.at);
    assert.deepEqual(edgeB.status as StatusPayload, b.status);
    assert.deepEqual(edgeB.health, b.health, 'the JSON-encoded health decodes by its content type');
    assert.equal(edgeB.sinceMs, b.health.at, 'a replayed last will: offline since the last health');
    assert.equal(state.accepted, 5);
    assert.equal(state.ignored, 1);
  });

  it('--once: the text view shows the figures in human units', async () => {
    const run = await runWatch(['--mqtt', broker.url, '--once', '--wait', '0.5']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^2 probes: 1 online, 1 offline, 0 stale/);
    assert.match(run.stdout, /^edge-a {2}ONLINE {3}since .*v0\.5\.0 {2}run eth1,eth2/m);
    assert.match(run.stdout, /^edge-b {2}OFFLINE {2}since .*connection lost\)/m);
    for (const figure of ['12.3 Mb/s', '45.0 kpps', '4.2 Mb/s', 'completed 300  reset 4+8  rejected 3  unanswered 5', '10.0.0.5:443/tcp']) {
      assert.ok(run.stdout.includes(figure), `missing '${figure}' in:\n${run.stdout}`);
    }
  });

  it('--probe shows that probe only; a probe never seen exits 1', async () => {
    const state = snapshot(await runWatch(['--mqtt', broker.url, '--once', '--wait', '0.5', '--json', '--probe', 'edge-b']));
    assert.deepEqual(state.probes.map((p) => p.probeId), ['edge-b']);
    assert.equal(state.filtered, 3);
    const missing = await runWatch(['--mqtt', broker.url, '--once', '--wait', '0.3', '--probe', 'nobody']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /probe 'nobody' not seen under tapflow\/\+\/ within 0\.3 s/);
  });

  it('--topic-root reads another root', async () => {
    const state = snapshot(await runWatch(['--mqtt', broker.url, '--once', '--wait', '0.5', '--json', '--topic-root', 'lab/+/']));
    assert.deepEqual(state.probes.map((p) => [p.probeId, p.liveness]), [['edge-c', 'online']]);
  });

  it('live, not on a terminal: a snapshot per change; SIGTERM ends it with exit 0', async () => {
    let published = false;
    let signalledAtMs = 0;
    const run = await runWatch(['--mqtt', broker.url], (stdout, child) => {
      if (!published && stdout.includes('edge-a')) {
        published = true;
        void publish('tapflow/edge-a/health', { ...a.health, seq: 43, at: Date.now(), traffic: { ...a.health.traffic, bitsPerSecond: 77_700_000 } }, 'msgpack', false);
      }
      if (signalledAtMs === 0 && stdout.includes('77.7 Mb/s')) {
        signalledAtMs = Date.now();
        child.kill('SIGTERM');
      }
    });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(signalledAtMs > 0, `the live update never showed:\n${run.stdout}`);
    const snapshots = run.stdout.split(/^tapflow watch /m).filter(Boolean);
    assert.ok(snapshots.length >= 2, 'one snapshot, then another after the change');
    assert.ok(snapshots[0]!.includes('12.3 Mb/s') && !snapshots[0]!.includes('77.7 Mb/s'));
    assert.equal(run.stderr, '');
  });

  it('an unreachable broker: one clear line on stderr, exit 3', async () => {
    const port = await freeTcpPort();
    const run = await runWatch(['--mqtt', `mqtt://user:secret@127.0.0.1:${port}`, '--once']);
    assert.equal(run.status, 3);
    assert.equal(run.stderr, `tapflow watch: cannot connect to mqtt://127.0.0.1:${port}: connection refused (is the broker running, on this port?)\n`);
    assert.equal(run.stdout, '');
  });

  it('a wrong command line exits 1 with the usage', async () => {
    for (const args of [['--once'], ['--mqtt', 'http://127.0.0.1:1883'], ['--mqtt', broker.url, '--json'], ['--mqtt', broker.url, '--topic-root', 'a/#/']]) {
      const run = await runWatch(args);
      assert.equal(run.status, 1, args.join(' '));
      assert.match(run.stderr, /Usage: tapflow watch --mqtt URL/);
    }
  });
});

describe('tapflow watch over TLS (mqtts://, client certificate)', { skip: skip || (hasTool('openssl') ? false : 'openssl not installed: skipped') }, () => {
  const tmp = tempDir('tapflow-watch-tls-');
  let broker: MosquittoBroker;
  const file = (name: string): string => join(tmp.dir, name);

  before(async () => {
    const pki = await makeTestPki(tmp.dir);
    // Mosquitto started as root drops to the 'mosquitto' user before reading its certificates.
    chmodSync(tmp.dir, 0o755);
    for (const name of ['ca.pem', 'server.pem', 'server.key']) chmodSync(file(name), 0o644);
    broker = await startMosquitto({ tls: { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key'), requireClientCert: true } });
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    await publisher.publishAsync('tapflow/edge-t/status', encodePayload(statusPayload('edge-t', Date.now()), 'msgpack'), {
      qos: 1,
      retain: true,
      properties: { contentType: CONTENT_TYPES.msgpack },
    });
    await publisher.endAsync();
  });

  after(async () => {
    await broker?.close();
    tmp.remove();
  });

  it('verifies the broker with --ca and presents --cert/--key', async () => {
    const state = snapshot(await runWatch(['--mqtt', broker.url, '--ca', file('ca.pem'), '--cert', file('client.pem'), '--key', file('client.key'), '--once', '--wait', '0.5', '--json']));
    assert.deepEqual(state.probes.map((p) => [p.probeId, p.liveness]), [['edge-t', 'online']]);
  });

  it('a broker certificate from another CA: exit 3 naming TLS', async () => {
    const run = await runWatch(['--mqtt', broker.url, '--ca', file('other-ca.pem'), '--cert', file('client.pem'), '--key', file('client.key'), '--once']);
    assert.equal(run.status, 3);
    assert.match(run.stderr, /^tapflow watch: cannot connect to mqtts:\/\/127\.0\.0\.1:\d+: TLS verification failed \(.+\); check --ca/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  });
});
