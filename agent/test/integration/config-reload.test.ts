/**
 * Reloading the configuration of `tapflow run` under live traffic (veth lab, tcpreplay):
 * - SIGHUP re-reads --config: a valid file switches the IPFIX file, the idle timeouts and the
 *   capture filter between two halves of a replay without losing a packet (IPFIX over both files =
 *   the meter = tshark over what was sent); a restart-only key is reported, not applied; an invalid
 *   file is rejected with every path and changes nothing.
 * - The fleet command `config.set` (MQTT 5 request/response): applied and written; refused with
 *   every path (invalid_config); undone when libpcap refuses the filter (apply_failed) with the
 *   capture still counting; an mqtt.* change replaces the fleet channel after the reply.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { hasTool, tempDir, TSHARK_MISSING } from '../helpers/collectors.js';
import { differences, ipfixFlowTotals, flowRecordsOf } from '../helpers/ipfix-totals.js';
import { hasMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { connectTestClient, type MqttTestClient, type ReceivedMessage } from '../helpers/mqtt-test-client.js';
import { readClassicPcap, type TestPacket } from '../helpers/read-classic-pcap.js';
import { runTapflow } from '../helpers/run-tapflow.js';
import { REPO_ROOT } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals, type FlowTotals } from '../helpers/tshark-truth.js';
import { createVethLab, VETH_LAB_SKIP, type VethLab } from '../helpers/veth-lab.js';

const DEMO = join(REPO_ROOT, 'agent/test/fixtures/demo-rush.pcap');
const TSHARK_SKIP = !hasTool('tshark') && TSHARK_MISSING;
const MQTT_SKIP = !hasMosquitto() && MOSQUITTO_MISSING;
/** 2211 frames at this rate take about 1.1 s: slow enough that a veth capture misses none. */
const REPLAY_PPS = 2_000;
/** After a replay, time for the capture to drain the kernel buffer and the meter the ring. */
const SETTLE_MS = 600;
/** Non-IP frames appended to each half: a filter "ip or ip6" in force rejects them. */
const ARP_FRAMES_PER_HALF = 20;
/** A schedule that never fires during a test (the first of January at midnight). */
const NEVER = '0 0 0 1 1 *';

type Running = ReturnType<typeof runTapflow>;

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** What `tapflow run --summary-json` prints (run-summary.ts RunSummary plus destinations). */
interface RunSummaryJson {
  interfaces: { name: string; packetsSeen: number; kernelDropped: number | null; unseenEstimate: number | null }[];
  packetsBeforeStart: number;
  ringDropped: number;
  meter: { packets: number; meteredPackets: number; meteredOctets: number; ignored: Record<string, number>; activeFlows: number } | null;
  destinations: string[];
}

/** The agent's stderr as it arrives, and its pino JSON lines. */
function watchStderr(agent: Running): { text(): string; logs(): LogLine[] } {
  let text = '';
  agent.child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    text: () => text,
    logs: () =>
      text.split('\n').flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return [];
        }
      }),
  };
}

async function waitUntil<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 10_000, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}\n${context()}`);
    await sleep(20);
  }
}

/**
 * An ARP request (who-has 192.0.2.201 tell 192.0.2.200), padded to Ethernet's 60-byte minimum:
 * a frame no flow meter counts and a filter "ip or ip6" rejects.
 */
function arpRequest(sequence: number): Uint8Array {
  const frame = new Uint8Array(60);
  const view = new DataView(frame.buffer);
  frame.fill(0xff, 0, 6); //                       Ethernet destination: broadcast
  frame.set([0x02, 0, 0, 0, 0x0a, sequence], 6); // Ethernet source: locally administered
  view.setUint16(12, 0x0806); //                   EtherType ARP
  view.setUint16(14, 1); //                        hardware type Ethernet
  view.setUint16(16, 0x0800); //                   protocol type IPv4
  frame[18] = 6; //                                hardware address length
  frame[19] = 4; //                                protocol address length
  view.setUint16(20, 1); //                        operation: request
  frame.set(frame.subarray(6, 12), 22); //         sender hardware address
  frame.set([192, 0, 2, 200], 28); //              sender protocol address
  frame.set([192, 0, 2, 201], 38); //              target protocol address (target MAC stays 0)
  return frame; //                                 bytes 42-59: padding
}

/** A classic little-endian microsecond pcap of `packets` (link type `linkType`). */
function writePcap(path: string, linkType: number, packets: readonly TestPacket[]): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65_535, 16);
  header.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [header];
  for (const p of packets) {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(Math.floor(p.tsUs / 1e6), 0);
    record.writeUInt32LE(Math.round(p.tsUs % 1e6), 4);
    record.writeUInt32LE(p.data.length, 8);
    record.writeUInt32LE(p.wireLen, 12);
    parts.push(record, Buffer.from(p.data));
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** The demo capture cut in two halves, each followed by ARP requests. Returns the frame counts. */
function writeHalves(part1: string, part2: string): { frames1: number; frames2: number } {
  const demo = readClassicPcap(DEMO);
  assert.ok(demo !== null, 'the demo capture is a classic pcap');
  const cut = Math.floor(demo.packets.length / 2);
  const withArp = (packets: TestPacket[], first: number): TestPacket[] => {
    const lastUs = packets.at(-1)!.tsUs;
    const arp = Array.from({ length: ARP_FRAMES_PER_HALF }, (_, i) => ({ data: arpRequest(first + i), wireLen: 60, tsUs: lastUs + 1_000 * (i + 1) }));
    return [...packets, ...arp];
  };
  const half1 = withArp(demo.packets.slice(0, cut), 0);
  const half2 = withArp(demo.packets.slice(cut), ARP_FRAMES_PER_HALF);
  writePcap(part1, demo.linkType, half1);
  writePcap(part2, demo.linkType, half2);
  return { frames1: half1.length, frames2: half2.length };
}

function mergeTotals(...all: FlowTotals[]): FlowTotals {
  const merged: FlowTotals = new Map();
  for (const totals of all) {
    for (const [key, value] of totals) {
      const entry = merged.get(key) ?? { packets: 0, octets: 0 };
      entry.packets += value.packets;
      entry.octets += value.octets;
      merged.set(key, entry);
    }
  }
  return merged;
}

function sumOf(totals: FlowTotals): { packets: number; octets: number } {
  let packets = 0;
  let octets = 0;
  for (const value of totals.values()) {
    packets += value.packets;
    octets += value.octets;
  }
  return { packets, octets };
}

function endReasons(path: string): number[] {
  return flowRecordsOf(readFileSync(path)).map((r) => Number(r.flowEndReason));
}

function runSummaryOf(stdout: string, stderr: string): RunSummaryJson {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as RunSummaryJson;
  } catch {
    throw new Error(`no JSON summary:\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
}

async function stopAgent(agent: Running | null): Promise<void> {
  if (agent !== null && agent.child.exitCode === null && agent.child.signalCode === null) {
    agent.child.kill('SIGKILL');
    await agent.catch(() => undefined);
  }
}

const IDLE_SHORT_MS = { tcp: 500, tcpFin: 500, tcpRst: 500, udp: 500, icmp: 500, other: 500 };
const IDLE_LONG_MS = { tcp: 60_000, tcpFin: 60_000, tcpRst: 60_000, udp: 60_000, icmp: 60_000, other: 60_000 };

describe('tapflow run: SIGHUP reloads the configuration file under live traffic', { skip: VETH_LAB_SKIP || TSHARK_SKIP }, () => {
  it('valid file: new IPFIX file, timeouts and filter with no packet lost; invalid file: rejected with every path, nothing changes', async (t) => {
    const tmp = tempDir('tapflow-reload-');
    let lab: VethLab | null = null;
    let agent: Running | null = null;
    try {
      const f = (name: string) => join(tmp.dir, name);
      const { frames1, frames2 } = writeHalves(f('part1.pcap'), f('part2.pcap'));
      const [truth1, truth2] = await Promise.all([tsharkFlowTotals(f('part1.pcap')), tsharkFlowTotals(f('part2.pcap'))]);
      assert.equal(frames1 - truth1.ipPackets, ARP_FRAMES_PER_HALF, 'tshark: only the ARP requests of part 1 are not IP');
      assert.equal(frames2 - truth2.ipPackets, ARP_FRAMES_PER_HALF, 'tshark: only the ARP requests of part 2 are not IP');
      const truth = mergeTotals(truth1.flows, truth2.flows);

      // Short idle timeouts at first: part 1's flows are exported to a.ipfix during the pause after it.
      const configPath = f('tapflow.json');
      const initial = { capture: { filter: '' }, flowTable: { maxFlows: 8_192, expiryTickMs: 100, idleTimeoutMs: IDLE_SHORT_MS }, export: { file: f('a.ipfix') } };
      // The reload: another file, long idle timeouts, a filter that drops non-IP frames, and a
      // table size (restart only).
      const reloaded = { capture: { filter: 'ip or ip6' }, flowTable: { maxFlows: 4_096, expiryTickMs: 100, idleTimeoutMs: IDLE_LONG_MS }, export: { file: f('b.ipfix') } };
      const invalid = { ...reloaded, unknownSetting: true, flowTable: { ...reloaded.flowTable, activeTimeoutMs: 'soon' } };
      writeFileSync(configPath, JSON.stringify(initial));

      lab = createVethLab('tfhup');
      // No --out or --filter: command-line overrides would win over every reload.
      agent = runTapflow(['run', '-i', lab.outside(0), '--config', configPath, '--summary-json']);
      const stderr = watchStderr(agent);
      await waitUntil('capturing on', () => stderr.text().includes('capturing on'), 10_000, stderr.text);
      await sleep(300); // the SIGHUP handler is installed just after the line

      await lab.replay(f('part1.pcap'), ['--pps', String(REPLAY_PPS)]);
      await sleep(1_500); // idle 0.5 s, expiry every 0.1 s: part 1's flows all go to a.ipfix

      writeFileSync(configPath, JSON.stringify(reloaded));
      agent.child.kill('SIGHUP');
      const applied = await waitUntil('reload: configuration applied', () => stderr.logs().find((l) => l.msg === 'reload: configuration applied'), 10_000, stderr.text);
      assert.equal(applied.level, 30);
      assert.deepEqual([...(applied.applied as string[])].sort(), [
        '$.capture.filter',
        '$.export.file',
        ...Object.keys(IDLE_LONG_MS).map((k) => `$.flowTable.idleTimeoutMs.${k}`),
      ].sort());
      assert.deepEqual(applied.restartRequired, ['$.flowTable.maxFlows'], 'the table size takes a restart');
      assert.equal(applied.persisted, false, 'SIGHUP reads the file; it does not write it');

      await lab.replay(f('part2.pcap'), ['--pps', String(REPLAY_PPS)]);
      // Longer than the old idle timeouts: had they still been in force, part 2's flows would be exported now.
      await sleep(1_500);

      writeFileSync(configPath, JSON.stringify(invalid));
      agent.child.kill('SIGHUP');
      const rejected = await waitUntil('reload: rejected', () => stderr.logs().find((l) => l.msg === 'reload: rejected'), 10_000, stderr.text);
      assert.equal(rejected.level, 50);
      assert.match(String(rejected.err), /\$\.unknownSetting/, 'names the unknown key');
      assert.match(String(rejected.err), /\$\.flowTable\.activeTimeoutMs/, 'names the value of the wrong type');
      await sleep(300);
      assert.equal(agent.child.exitCode, null, 'still running after the rejected reload');
      assert.equal(stderr.logs().filter((l) => l.msg === 'reload: configuration applied').length, 1, 'the invalid file applied nothing');

      agent.child.kill('SIGTERM');
      const run = await agent;
      assert.equal(run.status, 0, run.stderr);
      const summary = runSummaryOf(run.stdout, run.stderr);
      const meter = summary.meter!;
      assert.ok(meter, 'the meter reported');
      const port = summary.interfaces[0]!;

      // Which file got what: part 1 ended in a.ipfix by idle timeout before the reload; after it,
      // nothing expired in 1.5 s (60 s timeouts), so b.ipfix holds the stop's records only.
      const reasonsA = endReasons(f('a.ipfix'));
      const reasonsB = endReasons(f('b.ipfix'));
      t.diagnostic(`a.ipfix: ${reasonsA.length} records, b.ipfix: ${reasonsB.length} records`);
      assert.ok(reasonsA.length > 0 && reasonsB.length > 0, 'both files have records');
      assert.ok(!reasonsA.includes(4), 'no forcedEnd record in a.ipfix: the stop wrote to b.ipfix, even after the rejected reload');
      assert.deepEqual([...new Set(reasonsB)], [4], 'only forcedEnd records in b.ipfix: the 60 s idle timeouts were in force after the reload');

      // Conservation: the records of both files = what the meter metered, whatever the capture lost.
      const exported = mergeTotals(ipfixFlowTotals(f('a.ipfix')), ipfixFlowTotals(f('b.ipfix')));
      assert.deepEqual(sumOf(exported), { packets: meter.meteredPackets, octets: meter.meteredOctets }, 'IPFIX (a + b) = metered');
      assert.equal(meter.packets, port.packetsSeen - summary.ringDropped - summary.packetsBeforeStart, 'every delivered frame reached the meter');

      // The filter: part 2's ARP requests never reached the meter; part 1's did (no filter then).
      const expectedSeen = frames1 + truth2.ipPackets;
      assert.ok(port.packetsSeen <= expectedSeen, `${port.packetsSeen} frames seen, at most ${expectedSeen}: more would mean part 2's ARP passed the filter`);
      const lossless = port.kernelDropped === 0 && summary.ringDropped === 0 && port.packetsSeen === expectedSeen;
      t.diagnostic(`seen ${port.packetsSeen} of ${expectedSeen} expected; kernel dropped ${port.kernelDropped}, ring dropped ${summary.ringDropped}; lossless: ${lossless}`);
      if (lossless) {
        assert.equal(meter.ignored.not_ip ?? 0, ARP_FRAMES_PER_HALF, 'the not-IP frames metered are part 1\'s ARP requests only');
        assert.deepEqual({ packets: meter.meteredPackets, octets: meter.meteredOctets }, sumOf(truth), 'metered = tshark over both halves');
        const diff = differences(truth, exported);
        assert.deepEqual(diff, [], diff.slice(0, 10).join('\n'));
      } else {
        t.diagnostic('the capture lost frames: the comparisons with tshark are inequalities');
        assert.ok((meter.ignored.not_ip ?? 0) <= ARP_FRAMES_PER_HALF);
        assert.ok(meter.meteredPackets <= sumOf(truth).packets && meter.meteredOctets <= sumOf(truth).octets);
      }
      assert.deepEqual(summary.destinations, [f('b.ipfix')], 'the summary names the file in use at the stop');
    } finally {
      await stopAgent(agent);
      lab?.remove();
      tmp.remove();
    }
  });

  it('an IPFIX setting changed, the file kept: the file stays one valid IPFIX file with every record', async () => {
    const tmp = tempDir('tapflow-reload-same-file-');
    let lab: VethLab | null = null;
    let agent: Running | null = null;
    try {
      const configPath = join(tmp.dir, 'tapflow.json');
      const out = join(tmp.dir, 'flows.ipfix');
      const base = { flowTable: { expiryTickMs: 100, idleTimeoutMs: IDLE_SHORT_MS }, export: { file: out } };
      writeFileSync(configPath, JSON.stringify(base));
      lab = createVethLab('tfsam');
      agent = runTapflow(['run', '-i', lab.outside(0), '--config', configPath, '--summary-json']);
      const stderr = watchStderr(agent);
      await waitUntil('capturing on', () => stderr.text().includes('capturing on'), 10_000, stderr.text);
      await sleep(300);
      // More than the file transport's 64 KiB buffer before the reload, so part of it is on disk.
      for (let i = 0; i < 3; i++) await lab.replay(DEMO, ['--pps', String(2 * REPLAY_PPS)]);
      await sleep(1_000);
      writeFileSync(configPath, JSON.stringify({ ...base, ipfix: { mtuBytes: 1_200 } }));
      agent.child.kill('SIGHUP');
      const applied = await waitUntil('reload: configuration applied', () => stderr.logs().find((l) => l.msg === 'reload: configuration applied'), 10_000, stderr.text);
      assert.deepEqual(applied.applied, ['$.ipfix.mtuBytes']);
      await lab.replay(DEMO, ['--pps', String(2 * REPLAY_PPS)]);
      await sleep(SETTLE_MS);
      agent.child.kill('SIGTERM');
      const run = await agent;
      assert.equal(run.status, 0, run.stderr);
      const meter = runSummaryOf(run.stdout, run.stderr).meter!;
      assert.deepEqual(sumOf(ipfixFlowTotals(out)), { packets: meter.meteredPackets, octets: meter.meteredOctets }, 'the records before and after the reload are all in the file');
    } finally {
      await stopAgent(agent);
      lab?.remove();
      tmp.remove();
    }
  });
});

const PROBE = 'reload-1';
const SECRET = 's3cret-password';

describe('tapflow run: the fleet command config.set', { skip: VETH_LAB_SKIP || MQTT_SKIP || TSHARK_SKIP }, () => {
  it('applies and writes a valid configuration, refuses an invalid one, undoes one libpcap refuses, and replaces the fleet channel after replying', async (t) => {
    const tmp = tempDir('tapflow-config-set-');
    let lab: VethLab | null = null;
    let broker: MosquittoBroker | null = null;
    let operator: MqttTestClient | null = null;
    let agent: Running | null = null;
    try {
      const f = (name: string) => join(tmp.dir, name);
      const truth = await tsharkFlowTotals(DEMO);
      const demoFrames = truth.ipPackets;
      lab = createVethLab('tfcfg');
      broker = await startMosquitto();
      const topic = (suffix: string) => `tapflow/${PROBE}/${suffix}`;
      operator = await connectTestClient(broker.url, [topic('status'), topic('health'), 'ops/replies/#']);
      const mqttSettings = { jitterMs: 0, reconnectMinMs: 200, reconnectMaxMs: 1_000, username: 'probe', password: SECRET, health: { cron: NEVER, sampleTimeoutMs: 700 }, summary: { cron: NEVER } };
      const configPath = f('tapflow.json');
      writeFileSync(configPath, JSON.stringify({ capture: { filter: '' }, export: { file: f('a.ipfix') }, mqtt: mqttSettings }));
      agent = runTapflow(['run', '-i', lab.outside(0), '--config', configPath, '--mqtt', broker.url, '--probe-id', PROBE, '--summary-json']);
      const stderr = watchStderr(agent);
      const firstOnline = await operator.waitFor((m) => m.topic === topic('status') && m.value.state === 'online');

      let nextId = 0;
      const ask = async (command: string, args: Record<string, unknown> = {}): Promise<ReceivedMessage> => {
        const correlationData = Buffer.from(`req-${++nextId}`);
        await operator!.client.publishAsync(topic(`cmd/${command}`), JSON.stringify(args), { qos: 1, properties: { responseTopic: 'ops/replies/cfg', correlationData, contentType: 'application/json' } });
        return operator!.waitFor((m) => m.topic === 'ops/replies/cfg' && Buffer.compare(m.properties.correlationData ?? Buffer.alloc(0), correlationData) === 0);
      };
      const stats = async () => (await ask('stats')).value.result as { traffic: { packets: number; meteredPackets: number }; capture: { interfaces: { packetsSeen: number; kernelDropped: number | null }[] } };
      const configGet = async () => (await ask('config.get')).value.result as { configHash: string; config: Record<string, unknown> };
      const replayAndCount = async (): Promise<{ packets: number; seen: number; kernelDropped: number | null }> => {
        const before = await stats();
        await lab!.replay(DEMO, ['--pps', String(REPLAY_PPS)]);
        const deadline = Date.now() + 5_000;
        let after = await stats();
        while (after.traffic.packets < before.traffic.packets + demoFrames && Date.now() < deadline) {
          await sleep(100);
          after = await stats();
        }
        return {
          packets: after.traffic.packets - before.traffic.packets,
          seen: after.capture.interfaces[0]!.packetsSeen - before.capture.interfaces[0]!.packetsSeen,
          kernelDropped: after.capture.interfaces[0]!.kernelDropped,
        };
      };

      const first = await replayAndCount();
      t.diagnostic(`first replay: ${first.packets} of ${demoFrames} packets metered`);
      assert.ok(first.packets > 0 && first.packets <= demoFrames);

      // (a) A valid configuration: applied, written, shown by config.get (password redacted).
      const sentA = { capture: { filter: 'ip or ip6' }, flowTable: { idleTimeoutMs: { udp: 45_000 } }, export: { file: f('b.ipfix') }, mqtt: mqttSettings };
      const replyA = await ask('config.set', { config: sentA });
      assert.equal(replyA.value.ok, true, JSON.stringify(replyA.value));
      const resultA = replyA.value.result as { applied: string[]; restartRequired: string[]; persisted: boolean; configHash: string };
      assert.deepEqual([...resultA.applied].sort(), ['$.capture.filter', '$.export.file', '$.flowTable.idleTimeoutMs.udp']);
      assert.deepEqual(resultA.restartRequired, []);
      assert.equal(resultA.persisted, true);
      assert.deepEqual(JSON.parse(readFileSync(configPath, 'utf8')), sentA, 'the file on disk is what was sent');
      const shownA = await configGet();
      assert.equal(shownA.configHash, resultA.configHash);
      assert.ok(!JSON.stringify(shownA).includes(SECRET), 'config.get never shows the password');
      assertContains(shownA.config, { ...sentA, mqtt: { ...mqttSettings, password: '(redacted)' } }, '$');
      const fileAfterA = readFileSync(configPath, 'utf8');

      // Records in b.ipfix before (c): (c)'s undo must not lose them.
      const flushed = await ask('flush');
      assert.equal(flushed.value.ok, true);
      const flushedRecords = (flushed.value.result as { records: number }).records;
      assert.ok(flushedRecords > 0, 'the first replay\'s flows were exported to b.ipfix');

      // (b) Several errors: all named, nothing written, nothing changed.
      const replyB = await ask('config.set', { config: { capture: { filter: 42 }, flowTable: { maxFlows: 3 }, nope: true, mqtt: { health: { cron: 'every minute' } } } });
      assert.equal(replyB.value.ok, false);
      const errorB = replyB.value.error as { code: string; message: string };
      assert.equal(errorB.code, 'invalid_config');
      for (const path of ['$.capture.filter', '$.flowTable.maxFlows', '$.nope', '$.mqtt.health.cron']) assert.ok(errorB.message.includes(path), `the message names ${path}: ${errorB.message}`);
      assert.equal(readFileSync(configPath, 'utf8'), fileAfterA, 'the file is unchanged');
      assert.deepEqual(await configGet(), shownA, 'config.get is unchanged');

      // (c) Valid, but libpcap refuses the filter: the meter's new timeout and file are undone too.
      const sentC = { ...sentA, capture: { filter: 'tcp port ((' }, flowTable: { idleTimeoutMs: { udp: 45_000, tcp: 50_000 } }, export: { file: f('c.ipfix') } };
      const replyC = await ask('config.set', { config: sentC });
      assert.equal(replyC.value.ok, false, JSON.stringify(replyC.value));
      const errorC = replyC.value.error as { code: string; message: string };
      assert.equal(errorC.code, 'apply_failed');
      assert.match(errorC.message, /the running configuration is unchanged/);
      assert.equal(readFileSync(configPath, 'utf8'), fileAfterA, 'the file is unchanged');
      assert.deepEqual(await configGet(), shownA, 'config.get still shows (a)');
      const second = await replayAndCount();
      t.diagnostic(`after the refused filter: ${second.packets} of ${demoFrames} packets metered, ${second.seen} seen, kernel dropped ${second.kernelDropped}`);
      assert.ok(second.packets > 0, 'the capture still works after the refused filter');
      assert.ok(second.seen <= demoFrames);
      if (second.kernelDropped === 0 && second.seen === demoFrames) assert.equal(second.packets, demoFrames, 'every frame replayed after (c) was metered');

      // (d) An mqtt.* change, sent as config.get shows it (password redacted = keep it): the reply
      // first, then the fleet channel goes offline ("reloading") and comes back on the same broker.
      const shownBeforeD = await configGet();
      const sentD = structuredClone(shownBeforeD.config) as { mqtt: { health: { cron: string }; password: string } };
      sentD.mqtt.health.cron = '* * * * * *';
      const replyD = await ask('config.set', { config: sentD });
      assert.equal(replyD.value.ok, true, JSON.stringify(replyD.value));
      const resultD = replyD.value.result as { applied: string[]; restartRequired: string[]; persisted: boolean };
      assert.deepEqual(resultD.applied, ['$.mqtt.health.cron']);
      assert.deepEqual(resultD.restartRequired, []);
      assert.equal(resultD.persisted, true);
      assert.deepEqual(JSON.parse(readFileSync(configPath, 'utf8')), { ...sentD, mqtt: { ...sentD.mqtt, password: SECRET } }, 'written with the password kept');
      const offline = await operator.waitFor((m) => m.topic === topic('status') && m.value.state === 'offline');
      assert.equal(offline.value.reason, 'reloading');
      const onlineAgain = await operator.waitFor((m) => m.topic === topic('status') && m.value.state === 'online' && m.receivedAt >= offline.receivedAt && m !== firstOnline);
      const order = [replyD, offline, onlineAgain].map((m) => operator!.messages.indexOf(m));
      assert.deepEqual([...order].sort((x, y) => x - y), order, `reply, offline, online in that order (${order.join(', ')})`);
      assert.equal(onlineAgain.value.pid, firstOnline.value.pid, 'the same process');
      // The new schedule is in force: a health message every second from the new channel.
      const health = await operator.waitFor((m) => m.topic === topic('health') && m.receivedAt > onlineAgain.receivedAt && m.value.final === false, 5_000);
      assert.ok(health, 'a scheduled health message after the reload');
      const shownD = await configGet();
      assert.equal((shownD.config as { mqtt: { health: { cron: string } } }).mqtt.health.cron, '* * * * * *');
      assert.equal((await ask('ping')).value.ok, true);

      agent.child.kill('SIGTERM');
      const run = await agent;
      assert.equal(run.status, 0, run.stderr);
      assert.ok(!stderr.logs().some((l) => l.msg === 'reload: undoing a step failed'), stderr.text());
      const summary = runSummaryOf(run.stdout, run.stderr);
      const meter = summary.meter!;
      const files = ['a.ipfix', 'b.ipfix', 'c.ipfix'].map(f).filter((p) => existsSync(p));
      t.diagnostic(`IPFIX files: ${files.map((p) => `${p.split('/').at(-1)} (${flowRecordsOf(readFileSync(p)).length} records)`).join(', ')}`);
      // Every record the meter exported is in a file: (c)'s undo lost none of b.ipfix.
      const exported = sumOf(mergeTotals(...files.map((p) => ipfixFlowTotals(p))));
      assert.deepEqual(exported, { packets: meter.meteredPackets, octets: meter.meteredOctets }, 'IPFIX over every file = metered');
    } finally {
      await stopAgent(agent);
      await operator?.close().catch(() => undefined);
      await broker?.close();
      lab?.remove();
      tmp.remove();
    }
  });
});

/** Every leaf of `expected` is at the same path in `actual` (config.get shows defaults too). */
function assertContains(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    assert.equal(typeof actual, 'object', `${path} is an object`);
    for (const [key, value] of Object.entries(expected)) assertContains((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    return;
  }
  assert.deepEqual(actual, expected, path);
}
