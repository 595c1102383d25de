/**
 * The MQTT fleet channel of `tapflow run` on a live capture: the demo capture is replayed with
 * tcpreplay onto a veth while Mosquitto carries health and summaries on a two-second schedule.
 * Health comes on time and in sequence, its counters equal the run's own summary, and the
 * summaries add up — packets, octets and per-service TCP outcomes — to what tshark reads in the
 * file and what the generator wrote.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasTool, tempDir, TSHARK_MISSING } from '../helpers/collectors.js';
import { hasMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { connectTestClient, type MqttTestClient, type ReceivedMessage } from '../helpers/mqtt-test-client.js';
import { writeRushDemo } from '../helpers/rush-demo.js';
import { runTapflow } from '../helpers/run-tapflow.js';
import { REPO_ROOT } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals } from '../helpers/tshark-truth.js';
import { createVethLab, VETH_LAB_SKIP, type VethLab } from '../helpers/veth-lab.js';

const DEMO = join(REPO_ROOT, 'agent/test/fixtures/demo-rush.pcap');
const SKIP = VETH_LAB_SKIP || (!hasMosquitto() && MOSQUITTO_MISSING) || (!hasTool('tshark') && TSHARK_MISSING);
const PROBE = 'live-1';
/** Health and summaries every two seconds, on even seconds. */
const EVERY_2_S = '*/2 * * * * *';
/** 2211 frames at this rate take about 1.1 s: slow enough that a veth capture misses none. */
const REPLAY_PPS = 2_000;

interface Health {
  seq: number;
  at: number;
  intervalS: number;
  final: boolean;
  traffic: { packets: number; meteredPackets: number; octets: number; packetsPerSecond: number };
  capture: { interfaces: { name: string; packetsSeen: number }[]; ringDropped: number } | null;
  flows: { active: number; created: number };
  outbox: { dropped: number };
}

interface Service {
  address: string;
  port: number;
  protocol: number;
  error: number;
  connections: number;
  completed: number;
  resetByServer: number;
  rejected: number;
  synUnanswered: number;
}

interface Summary {
  seq: number;
  from: number;
  to: number;
  final: boolean;
  totals: { packets: number; octets: number };
  services: Service[];
}

/** What `tapflow run --summary-json` prints (run-summary.ts RunSummary). */
interface RunSummaryJson {
  interfaces: { name: string; packetsSeen: number; kernelDropped: number | null; unseenEstimate: number | null }[];
  packetsBeforeStart: number;
  ringDropped: number;
  meter: { packets: number; meteredPackets: number; meteredOctets: number } | null;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

describe('MQTT fleet channel on a live capture', { skip: SKIP }, () => {
  it('health on schedule and in sequence; health, run summary, summaries, tshark and the generator agree', async (t) => {
    const tmp = tempDir('tapflow-fleet-live-');
    let lab: VethLab | null = null;
    let broker: MosquittoBroker | null = null;
    let observer: MqttTestClient | null = null;
    let agent: ReturnType<typeof runTapflow> | null = null;
    try {
      // Independent truth: the generator's sessions (it writes the committed file byte for byte) and tshark.
      const sessions = writeRushDemo(join(tmp.dir, 'rush.pcap'));
      assert.ok(readFileSync(join(tmp.dir, 'rush.pcap')).equals(readFileSync(DEMO)), 'the generator wrote the committed demo capture');
      const truth = await tsharkFlowTotals(DEMO);
      const truthPackets = sum([...truth.flows.values()].map((f) => f.packets));
      const truthOctets = sum([...truth.flows.values()].map((f) => f.octets));
      assert.equal(truthPackets, truth.ipPackets, 'every frame of the demo is IP');

      lab = createVethLab('tffl');
      broker = await startMosquitto();
      observer = await connectTestClient(broker.url, [`tapflow/${PROBE}/#`]);
      const config = join(tmp.dir, 'config.json');
      // No jitter, so publications start on the second; system readings bounded well under the
      // period, so a slow first reading (systeminformation) can neither shift a health by more than
      // 0.7 s nor make node-cron skip a run (noOverlap).
      writeFileSync(config, JSON.stringify({ mqtt: { jitterMs: 0, health: { sampleTimeoutMs: 700 } } }));
      agent = runTapflow([
        'run', '-i', lab.outside(0), '--mqtt', broker.url, '--probe-id', PROBE, '--health-cron', EVERY_2_S, '--summary-cron', EVERY_2_S,
        '--out', join(tmp.dir, 'f.ipfix'), '--summary-json', '--config', config,
      ]);
      const topic = (suffix: string) => `tapflow/${PROBE}/${suffix}`;
      // The fleet agent starts after the capture is open: online means capturing.
      const online = await observer.waitFor((m) => m.topic === topic('status') && m.value.state === 'online');
      // One health before any traffic, to show it counts none.
      await observer.waitFor((m) => m.topic === topic('health'));

      const replayStartedAt = Date.now();
      await lab.replay(DEMO, ['--pps', String(REPLAY_PPS)]);
      const replayEndedAt = Date.now();
      // Three health messages after the replay (the first holds the rest of it), so at least two
      // scheduled gaps to check whatever the phase of the replay against the schedule.
      const afterReplay = await observer.waitFor((m) => m.topic === topic('health') && (m.value.at as number) > replayEndedAt);
      await observer.waitFor((m) => m.topic === topic('health') && (m.value.seq as number) >= (afterReplay.value.seq as number) + 2);

      agent.child.kill('SIGTERM');
      const run = await agent;
      assert.equal(run.status, 0, run.stderr);
      const offline = await observer.waitFor((m) => m.topic === topic('status') && m.value.state === 'offline');
      assert.equal(offline.value.reason, 'stopped');
      const runSummary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as RunSummaryJson;

      const values = <T>(suffix: string) => observer!.messages.filter((m: ReceivedMessage) => m.topic === topic(suffix)).map((m) => m.value as unknown as T);
      const healths = values<Health>('health');
      const summaries = values<Summary>('summary');

      // Health: seq 1, 2, 3, ... with none missing; on schedule; the last one final.
      assert.deepEqual(healths.map((h) => h.seq), healths.map((_, i) => i + 1), 'health seqs contiguous from 1');
      assert.ok(healths.length >= 4, `${healths.length} health messages`);
      const final = healths.at(-1)!;
      assert.equal(final.final, true);
      assert.ok(healths.slice(0, -1).every((h) => !h.final), 'only the last health is final');
      // The final health comes at the stop, off schedule: only the scheduled ones are checked for spacing.
      const scheduled = healths.slice(0, -1);
      for (let i = 1; i < scheduled.length; i++) {
        const gapMs = scheduled[i]!.at - scheduled[i - 1]!.at;
        assert.ok(gapMs >= 1_000 && gapMs <= 3_000, `health ${scheduled[i]!.seq} came ${gapMs} ms after the previous one (schedule: every 2 s)`);
      }
      // `at` is taken after the system reading (at most 0.7 s here): soon after an even second.
      for (const h of scheduled) assert.ok(h.at % 2_000 < 1_500, `health ${h.seq} at ${new Date(h.at).toISOString()}: not just after an even second`);
      assert.ok(final.at >= scheduled.at(-1)!.at, 'the final health comes after the scheduled ones');
      t.diagnostic(`health gaps (ms): ${healths.slice(1).map((h, i) => h.at - healths[i]!.at).join(', ')}; ms after an even second: ${healths.map((h) => h.at % 2_000).join(', ')}`);

      // Rates: nothing before the replay, traffic while it ran.
      for (const h of healths.filter((h) => h.at < replayStartedAt)) {
        assert.deepEqual([h.traffic.packets, h.traffic.packetsPerSecond], [0, 0], `health ${h.seq}, before the replay, saw no traffic`);
      }
      const duringReplay = healths.filter((h) => !h.final && h.at >= replayStartedAt && h.at - h.intervalS * 1_000 <= replayEndedAt);
      assert.ok(duringReplay.some((h) => h.traffic.packetsPerSecond > 0), `a rate while the replay ran: ${JSON.stringify(duringReplay.map((h) => h.traffic.packetsPerSecond))}`);

      // The final health equals the run's own summary, whatever the capture lost.
      const port = runSummary.interfaces[0]!;
      assert.equal(port.name, lab.outside(0));
      assert.equal(final.capture?.interfaces[0]?.packetsSeen, port.packetsSeen);
      assert.equal(final.capture?.ringDropped, runSummary.ringDropped);
      assert.equal(final.traffic.packets, port.packetsSeen - runSummary.ringDropped - runSummary.packetsBeforeStart, 'what the capture delivered reached the meter');
      assert.deepEqual(
        [final.traffic.packets, final.traffic.meteredPackets, final.traffic.octets],
        [runSummary.meter?.packets, runSummary.meter?.meteredPackets, runSummary.meter?.meteredOctets],
        'the final health has the meter\'s final counters',
      );
      assert.equal(final.flows.active, 0, 'every flow exported at the stop');
      assert.equal(final.outbox.dropped, 0);

      // Summaries: seq 1, 2, ...; [from, to) intervals that tile the run from its start; the last final.
      assert.deepEqual(summaries.map((s) => s.seq), summaries.map((_, i) => i + 1), 'summary seqs contiguous from 1');
      assert.equal(summaries.at(-1)!.final, true);
      assert.equal(summaries[0]!.from, online.value.startedAt, 'the first summary starts when the agent started');
      for (let i = 0; i < summaries.length; i++) {
        const s = summaries[i]!;
        assert.ok(s.to >= s.from, `summary ${s.seq}: [${s.from}, ${s.to})`);
        if (i > 0) assert.equal(s.from, summaries[i - 1]!.to, `summary ${s.seq} starts where ${s.seq - 1} ended`);
      }
      // Every record exported is in exactly one summary.
      const summedPackets = sum(summaries.map((s) => s.totals.packets));
      const summedOctets = sum(summaries.map((s) => s.totals.octets));
      assert.deepEqual([summedPackets, summedOctets], [final.traffic.meteredPackets, final.traffic.octets], 'summaries add up to the metered totals');

      type Outcomes = { connections: number; completed: number; resetByServer: number; rejected: number; synUnanswered: number };
      const serviceTotals = (address: string): Outcomes & { entries: number } => {
        const entries = summaries.flatMap((s) => s.services).filter((s) => s.address === address && s.port === 443 && s.protocol === 6);
        for (const e of entries) assert.equal(e.error, 0, `exact counts for ${address}:443`);
        const add = (key: keyof Outcomes) => sum(entries.map((e) => e[key]));
        return { entries: entries.length, connections: add('connections'), completed: add('completed'), resetByServer: add('resetByServer'), rejected: add('rejected'), synUnanswered: add('synUnanswered') };
      };
      const generated = (ipVersion: 4 | 6): Outcomes => {
        const mine = sessions.filter((s) => s.ipVersion === ipVersion);
        const count = (outcome: string) => mine.filter((s) => s.outcome === outcome).length;
        return { connections: mine.length, completed: count('completed'), resetByServer: count('reset_by_server'), rejected: count('rejected'), synUnanswered: count('syn_unanswered') };
      };

      const lossless = port.kernelDropped === 0 && port.unseenEstimate === 0 && runSummary.ringDropped === 0;
      t.diagnostic(`packets seen ${port.packetsSeen} of ${truthPackets}; kernel dropped ${port.kernelDropped}, unseen ${port.unseenEstimate}, ring dropped ${runSummary.ringDropped}`);
      if (lossless) {
        // The capture saw every frame: everything equals the file's truth.
        assert.equal(port.packetsSeen, truthPackets, 'the capture saw every frame tcpreplay sent');
        assert.equal(final.traffic.packets, truthPackets);
        assert.deepEqual([final.traffic.meteredPackets, final.traffic.octets], [truthPackets, truthOctets], 'metered = tshark');
        assert.deepEqual([summedPackets, summedOctets], [truthPackets, truthOctets], 'summaries = tshark');
        const connections = new Set([...truth.flows.keys()].map((key) => {
          const [v, src, dst, proto, sport, dport] = key.split('|');
          return [v, proto, ...[`${src}|${sport}`, `${dst}|${dport}`].sort()].join('|');
        }));
        assert.equal(final.flows.created, connections.size, 'one flow per connection (both directions)');
        for (const [address, ipVersion] of [['192.0.2.10', 4], ['2001:db8::10', 6]] as const) {
          const { entries, ...outcomes } = serviceTotals(address);
          assert.ok(entries >= 1, `${address}:443 is listed`);
          assert.deepEqual(outcomes, generated(ipVersion), `TCP outcomes of ${address}:443 over all summaries`);
        }
      } else {
        // A loss (loaded machine): the figures can only be bounded by the truth, and must still be consistent.
        t.diagnostic('the capture lost frames: truth comparisons are inequalities');
        assert.ok(port.packetsSeen <= truthPackets, 'never more than was sent');
        assert.ok(final.traffic.meteredPackets <= truthPackets && final.traffic.octets <= truthOctets);
        for (const [address, ipVersion] of [['192.0.2.10', 4], ['2001:db8::10', 6]] as const) {
          const { connections } = serviceTotals(address);
          assert.ok(connections <= generated(ipVersion).connections, `${address}:443 connections bounded by the generator's`);
        }
      }
    } finally {
      if (agent !== null && agent.child.exitCode === null && agent.child.signalCode === null) {
        agent.child.kill('SIGKILL');
        await agent.catch(() => undefined);
      }
      await observer?.close().catch(() => undefined);
      await broker?.close();
      lab?.remove();
      tmp.remove();
    }
  });
});
