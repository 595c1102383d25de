/**
 * The MQTT fleet channel against a real Mosquitto on a free loopback port: presence with a last
 * will, health and summaries in standard MessagePack (decoded by @msgpack/msgpack, not msgpackr)
 * whose figures equal independent truth, the bounded outbox across a broker restart, TLS with
 * client certificates, and commands with MQTT 5 request/response and the 3.1.1 convention.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { hasTool, tempDir, TSHARK_MISSING } from '../helpers/collectors.js';
import { hasMosquitto, MOSQUITTO_MISSING, startMosquitto } from '../helpers/mosquitto-broker.js';
import { connectTestClient, decodeFleetPayload, type ReceivedMessage } from '../helpers/mqtt-test-client.js';
import { writeRushDemo } from '../helpers/rush-demo.js';
import { runTapflow } from '../helpers/run-tapflow.js';
import { REPO_ROOT } from '../helpers/shared-pcaps.js';
import { makeTestPki } from '../helpers/test-pki.js';
import { tsharkFlowTotals } from '../helpers/tshark-truth.js';

const DEMO = join(REPO_ROOT, 'agent/test/fixtures/demo-rush.pcap');
const SKIP = hasMosquitto() ? false : MOSQUITTO_MISSING;
/** A schedule that never fires during a test (the first of January at midnight). */
const NEVER = '0 0 0 1 1 *';

function writeConfig(dir: string, mqtt: Record<string, unknown>): string {
  const path = join(dir, `config-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(path, JSON.stringify({ mqtt: { jitterMs: 0, reconnectMinMs: 200, reconnectMaxMs: 1_000, ...mqtt } }));
  return path;
}

/** A replay that stays alive: its input is a pipe the test holds open (a pcap header, no packets yet). */
function pcapHeaderOnly(): Buffer {
  return readFileSync(DEMO).subarray(0, 24);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

describe('MQTT fleet channel', { skip: SKIP }, () => {
  it('replay: status, summary and health in standard MessagePack; figures equal the generator and tshark', { skip: SKIP || (!hasTool('tshark') && TSHARK_MISSING) }, async () => {
    const tmp = tempDir();
    const broker = await startMosquitto();
    try {
      const sessions = writeRushDemo(join(tmp.dir, 'rush.pcap'));
      const truth = await tsharkFlowTotals(DEMO);
      const observer = await connectTestClient(broker.url, ['tapflow/lab-1/#']);
      const run = await runTapflow(['replay', DEMO, '--mqtt', broker.url, '--probe-id', 'lab-1', '--summary-cron', NEVER, '--health-cron', NEVER, '--out', join(tmp.dir, 'f.ipfix'), '-q']);
      assert.equal(run.status, 0, run.stderr);
      const offline = await observer.waitFor((m) => m.topic === 'tapflow/lab-1/status' && m.value.state === 'offline');
      const byTopic = (suffix: string) => observer.messages.filter((m) => m.topic === `tapflow/lab-1/${suffix}`);
      const online = byTopic('status')[0]!;
      assert.equal(online.value.state, 'online');
      assert.equal(offline.value.reason, 'stopped');
      for (const m of observer.messages) assert.equal(m.properties.contentType, 'application/msgpack');
      for (const key of ['version', 'configHash', 'startedAt', 'hostname']) assert.ok(online.value[key], `status carries ${key}`);

      const packets = sum([...truth.flows.values()].map((f) => f.packets));
      const octets = sum([...truth.flows.values()].map((f) => f.octets));
      const health = byTopic('health').at(-1)!.value as { final: boolean; traffic: { packets: number; octets: number; malformedTotal: number }; flows: { active: number; created: number } };
      assert.equal(health.final, true);
      assert.equal(health.traffic.packets, packets);
      assert.equal(health.traffic.octets, octets);
      assert.equal(health.flows.active, 0);
      // tshark keys each direction; a flow is both directions of one 5-tuple.
      const connections = new Set([...truth.flows.keys()].map((key) => {
        const [v, src, dst, proto, sport, dport] = key.split('|');
        return [v, proto, ...[`${src}|${sport}`, `${dst}|${dport}`].sort()].join('|');
      }));
      assert.equal(health.flows.created, connections.size);

      type Service = { address: string; port: number; protocol: number; connections: number; completed: number; resetByClient: number; resetByServer: number; rejected: number; synUnanswered: number; handshakeRtt: { samples: number } };
      const summaries = byTopic('summary').map((m) => m.value as { totals: { packets: number; octets: number; tcp: Record<string, number> }; services: Service[]; final: boolean });
      assert.equal(summaries.at(-1)!.final, true);
      assert.equal(sum(summaries.map((s) => s.totals.packets)), packets);
      assert.equal(sum(summaries.map((s) => s.totals.octets)), octets);
      // Per service, the TCP outcomes equal what the generator wrote; one handshake RTT per answered session.
      for (const [address, ipVersion] of [['192.0.2.10', 4], ['2001:db8::10', 6]] as const) {
        const mine = sessions.filter((s) => s.ipVersion === ipVersion);
        const count = (outcome: string) => mine.filter((s) => s.outcome === outcome).length;
        const service = summaries.flatMap((s) => s.services).filter((s) => s.address === address && s.port === 443 && s.protocol === 6);
        assert.equal(service.length, 1, `one entry for ${address}:443`);
        const s = service[0]!;
        assert.deepEqual(
          { connections: s.connections, completed: s.completed, resetByClient: s.resetByClient, resetByServer: s.resetByServer, rejected: s.rejected, synUnanswered: s.synUnanswered, rttSamples: s.handshakeRtt.samples },
          {
            connections: mine.length,
            completed: count('completed'),
            resetByClient: 0,
            resetByServer: count('reset_by_server'),
            rejected: count('rejected'),
            synUnanswered: count('syn_unanswered'),
            rttSamples: count('completed') + count('reset_by_server'),
          },
        );
      }
      await observer.close();
    } finally {
      await broker.close();
      tmp.remove();
    }
  });

  it('SIGKILL: the broker publishes the last will (offline, connection lost); SIGTERM: tapflow says offline itself', async () => {
    const tmp = tempDir();
    const broker = await startMosquitto();
    try {
      const observer = await connectTestClient(broker.url, ['tapflow/+/status']);
      for (const [probe, signal, reason] of [['kill-1', 'SIGKILL', 'connection lost'], ['term-1', 'SIGTERM', 'stopped']] as const) {
        const input = new PassThrough();
        input.write(pcapHeaderOnly());
        const run = runTapflow(['replay', '-', '--mqtt', broker.url, '--probe-id', probe, '--summary-cron', NEVER, '--out', join(tmp.dir, `${probe}.ipfix`), '-q'], { stdin: input });
        await observer.waitFor((m) => m.value.probeId === probe && m.value.state === 'online');
        run.child.kill(signal);
        const offline = await observer.waitFor((m) => m.value.probeId === probe && m.value.state === 'offline');
        assert.equal(offline.value.reason, reason);
        input.destroy();
        await run;
      }
      // Retained: a dashboard connecting later still learns both probes are offline.
      const late = await connectTestClient(broker.url, ['tapflow/+/status']);
      for (const probe of ['kill-1', 'term-1']) {
        const status = await late.waitFor((m) => m.value.probeId === probe);
        assert.equal(status.retain, true);
        assert.equal(status.value.state, 'offline');
      }
      await late.close();
      await observer.close();
    } finally {
      await broker.close();
      tmp.remove();
    }
  });

  it('broker stopped and restarted: reconnects, the outbox arrives in order, the drop count equals what overflowed', async () => {
    const tmp = tempDir();
    // Persistent sessions: the observer's queue survives the restart, so it cannot miss what the
    // agent delivers in the moment between the broker's return and the observer's.
    const broker = await startMosquitto({ persistent: true });
    const outboxMessages = 3;
    const config = writeConfig(tmp.dir, { health: { cron: '* * * * * *' }, summary: { cron: NEVER }, outbox: { maxMessages: outboxMessages } });
    const observerOptions = { clientId: 'restart-observer', clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: 600 } };
    const input = new PassThrough();
    input.write(pcapHeaderOnly());
    const run = runTapflow(['replay', '-', '--config', config, '--mqtt', broker.url, '--probe-id', 'restart-1', '--out', join(tmp.dir, 'f.ipfix'), '-q'], { stdin: input });
    try {
      const first = await connectTestClient(broker.url, ['tapflow/restart-1/health'], observerOptions);
      // Stop right after a health message: the next is a second away, so none is in flight.
      const lastBefore = (await first.waitFor((m) => (m.value.seq as number) >= 2)).value.seq as number;
      await broker.stop();
      await first.close();
      await sleep(6_500); // ~6 health messages while away: 3 kept, the rest dropped
      await broker.start();
      const second = await connectTestClient(broker.url, [], observerOptions);
      const seqOf = (m: ReceivedMessage) => m.value.seq as number;
      const firstAfter = seqOf(await second.waitFor(() => true, 20_000));
      // A message made after the reconnect reports the final drop count.
      const later = await second.waitFor((m) => seqOf(m) >= firstAfter + outboxMessages + 1, 20_000);
      const seqs = second.messages.map(seqOf);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => firstAfter + i), 'after the outage: in order, consecutive');
      const dropped = (later.value.outbox as { dropped: number }).dropped;
      assert.ok(dropped >= 1, 'the outage overflowed the outbox');
      assert.equal(firstAfter - lastBefore - 1, dropped, `the gap ${lastBefore} → ${firstAfter} is exactly the dropped count`);
      await second.close();
    } finally {
      input.destroy();
      run.child.kill('SIGTERM');
      await run;
      await broker.close();
      tmp.remove();
    }
  });

  it('TLS: a CA and client certificate made with openssl work; a wrong CA is refused with a clear log line', { skip: SKIP || (!hasTool('openssl') && 'openssl not installed: skipped') }, async () => {
    const tmp = tempDir();
    await makeTestPki(tmp.dir);
    const f = (name: string) => join(tmp.dir, name);
    const broker = await startMosquitto({ tls: { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key'), requireClientCert: true } });
    try {
      const observer = await connectTestClient(broker.url, ['tapflow/+/status'], { ca: readFileSync(f('ca.pem')), cert: readFileSync(f('client.pem')), key: readFileSync(f('client.key')) });
      for (const [probe, ca, protocolVersion] of [['tls-ok', 'ca.pem', 5], ['tls-v311', 'ca.pem', 4], ['tls-bad', 'other-ca.pem', 5]] as const) {
        const config = writeConfig(tmp.dir, { protocolVersion, tls: { caFile: f(ca), certFile: f('client.pem'), keyFile: f('client.key') }, summary: { cron: NEVER } });
        const input = new PassThrough();
        input.write(pcapHeaderOnly());
        const run = runTapflow(['replay', '-', '--config', config, '--mqtt', broker.url, '--probe-id', probe, '--out', join(tmp.dir, `${probe}.ipfix`), '-q'], { stdin: input });
        if (probe === 'tls-bad') {
          const deadline = Date.now() + 15_000;
          let stderr = '';
          run.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          while (!stderr.includes('TLS verification failed') && Date.now() < deadline) await sleep(100);
          const line = stderr.split('\n').find((l) => l.includes('TLS verification failed'));
          assert.ok(line, `a clear log line, got: ${stderr}`);
          const entry = JSON.parse(line) as { level: number; msg: string };
          assert.equal(entry.level, 50, 'logged as an error');
          assert.match(entry.msg, /mqtt\.tls\.caFile/);
          assert.equal(observer.messages.some((m) => m.value.probeId === probe), false, 'never connected');
        } else {
          const online = await observer.waitFor((m) => m.value.probeId === probe && m.value.state === 'online');
          assert.equal(online.properties.contentType, protocolVersion === 5 ? 'application/msgpack' : undefined);
        }
        input.destroy();
        run.child.kill('SIGTERM');
        await run;
      }
      await observer.close();
    } finally {
      await broker.close();
      tmp.remove();
    }
  });

  it('commands: every command replies (MQTT 5 and the 3.1.1 convention); bad ones get error replies and the agent keeps running', async () => {
    const tmp = tempDir();
    const broker = await startMosquitto();
    const config = writeConfig(tmp.dir, { username: 'probe', password: 's3cret-password', summary: { cron: NEVER }, health: { cron: NEVER } });
    const input = new PassThrough();
    const demo = readFileSync(DEMO);
    input.write(demo); // all packets in; the stream stays open, so flows stay active until flushed
    const run = runTapflow(['replay', '-', '--config', config, '--mqtt', broker.url, '--probe-id', 'cmd-1', '--out', join(tmp.dir, 'f.ipfix'), '-q'], { stdin: input });
    try {
      const operator = await connectTestClient(broker.url, ['tapflow/cmd-1/status', 'ops/replies/#', 'tapflow/cmd-1/reply/#']);
      await operator.waitFor((m) => m.value.state === 'online');
      let nextId = 0;
      const ask = async (command: string, payload: Buffer, contentType?: string): Promise<ReceivedMessage> => {
        const correlationData = Buffer.from(`req-${++nextId}`);
        await operator.client.publishAsync(`tapflow/cmd-1/cmd/${command}`, payload, { qos: 1, properties: { responseTopic: 'ops/replies/cmd-1', correlationData, ...(contentType ? { contentType } : {}) } });
        return operator.waitFor((m) => m.topic === 'ops/replies/cmd-1' && Buffer.compare(m.properties.correlationData ?? Buffer.alloc(0), correlationData) === 0);
      };
      const ping = await ask('ping', Buffer.alloc(0));
      assert.equal(ping.value.ok, true);
      assert.equal((ping.value.result as { pong: boolean }).pong, true);

      // Wait until the whole capture was metered, then stats and flush.
      let stats: ReceivedMessage;
      do {
        stats = await ask('stats', Buffer.alloc(0));
      } while ((stats.value.result as { traffic: { packets: number } }).traffic.packets < 2211);
      const active = (stats.value.result as { flows: { active: number } }).flows.active;
      assert.ok(active > 0, 'flows still active before the flush');
      const flushed = await ask('flush', Buffer.from('{}'), 'application/json');
      assert.equal(flushed.properties.contentType, 'application/json', 'a JSON request gets a JSON reply');
      assert.ok((flushed.value.result as { records: number }).records > 0);
      const afterFlush = await ask('stats', Buffer.alloc(0));
      assert.equal((afterFlush.value.result as { flows: { active: number } }).flows.active, 0, 'flush exported every active flow');

      // flows.query: every flushed flow is on the probe; a time window returns exactly its records.
      type QueryRecord = { flowStartMs: number; flowEndMs: number };
      const queryAll = async (args: Record<string, unknown>): Promise<QueryRecord[]> => {
        const records: QueryRecord[] = [];
        let cursor: string | null = null;
        do {
          const page: ReceivedMessage = await ask('flows.query', Buffer.from(JSON.stringify({ ...args, limit: 1000, ...(cursor ? { cursor } : {}) })), 'application/json');
          assert.equal(page.value.ok, true, JSON.stringify(page.value.error));
          const result = page.value.result as { records: QueryRecord[]; nextCursor: string | null };
          records.push(...result.records);
          cursor = result.nextCursor;
        } while (cursor !== null);
        return records;
      };
      const everything = await queryAll({});
      const flows = (afterFlush.value.result as { flows: { created: number } }).flows.created;
      // One record per flow: the demo's one active-timeout part belongs to a flow whose empty last part is never exported.
      assert.equal(everything.length, flows);
      const times = everything.map((r) => r.flowStartMs).sort((a, b) => a - b);
      const from = times[Math.floor(times.length / 3)]!;
      const to = times[Math.floor((2 * times.length) / 3)]!;
      const windowed = await queryAll({ from, to });
      assert.equal(windowed.length, everything.filter((r) => r.flowEndMs >= from && r.flowStartMs < to).length);
      assert.ok(windowed.length > 0 && windowed.length < everything.length);
      const badQuery = await ask('flows.query', Buffer.from(JSON.stringify({ port: 'https' })), 'application/json');
      assert.equal((badQuery.value.error as { code: string }).code, 'invalid_argument');

      const config = await ask('config.get', Buffer.alloc(0));
      const shown = JSON.stringify(config.value.result);
      assert.ok(!shown.includes('s3cret-password'), 'the password never leaves the probe');
      assert.equal(((config.value.result as { config: { mqtt: { username: string } } }).config.mqtt.username), 'probe');

      const unknown = await ask('reboot.now', Buffer.alloc(0));
      assert.equal(unknown.value.ok, false);
      assert.equal((unknown.value.error as { code: string }).code, 'unknown_command');
      const garbage = await ask('ping', Buffer.from([0xc1, 0xc1, 0xff]));
      assert.equal((garbage.value.error as { code: string }).code, 'malformed_payload');
      const notAMap = await ask('stats', Buffer.from('[1,2,3]'), 'application/json');
      assert.equal((notAMap.value.error as { code: string }).code, 'malformed_payload');
      const badJson = await ask('stats', Buffer.from('{"oops"'), 'application/json');
      assert.equal((badJson.value.error as { code: string }).code, 'malformed_payload');

      // MQTT 3.1.1 has no response topic: the payload names one and a correlation id.
      const v311 = await connectTestClient(broker.url, ['ops/v311'], { protocolVersion: 4 });
      await v311.client.publishAsync('tapflow/cmd-1/cmd/ping', JSON.stringify({ replyTo: 'ops/v311', correlationId: 'abc-42' }), { qos: 1 });
      const reply311 = await v311.waitFor((m) => m.topic === 'ops/v311');
      assert.deepEqual([reply311.value.ok, reply311.value.correlationId, reply311.value.command], [true, 'abc-42', 'ping']);
      // Without replyTo the reply goes to <root>reply/<command>.
      await v311.client.publishAsync('tapflow/cmd-1/cmd/ping', Buffer.alloc(0), { qos: 1 });
      const defaultRoute = await operator.waitFor((m) => m.topic === 'tapflow/cmd-1/reply/ping');
      assert.equal(decodeFleetPayload(defaultRoute.payload, defaultRoute.properties.contentType).ok, true);
      await v311.close();

      assert.equal((await ask('ping', Buffer.alloc(0))).value.ok, true, 'still running after bad requests');
      assert.equal(run.child.exitCode, null);
      await operator.close();
    } finally {
      input.end();
      const result = await run;
      assert.equal(result.status, 0, result.stderr);
      await broker.close();
      tmp.remove();
    }
  });
});
