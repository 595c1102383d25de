/**
 * Soak: `tapflow run` capturing on a veth for TAPFLOW_SOAK_MINUTES (default 10) while tcpreplay
 * loops the demo rush inside a namespace at a fixed rate, exporting IPFIX over UDP to an
 * in-process collector and its health over MQTT (every 10 s, no jitter) to a real mosquitto.
 * Reports, first minute against last minute: RSS (sampled from /proc) and heap (the health's own
 * figure), so "flat" is a ratio measured in the same run; timer drift (each health's lateness past
 * its 10 s wall-clock boundary, and how it changed from the second to the last); and export gaps (IPFIX sequence numbers at the
 * collector: records the sequence says were sent but never arrived), with records received =
 * records the probe says it exported. Root only (namespaces, veth).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { captureUdpExport, tempDir } from '../test/helpers/collectors.js';
import { accountSequence, killAgent, runSummaryOf } from '../test/helpers/fault-injection-kit.js';
import { hasMosquitto, MOSQUITTO_MISSING, startMosquitto } from '../test/helpers/mosquitto-broker.js';
import { connectTestClient } from '../test/helpers/mqtt-test-client.js';
import { runTapflow } from '../test/helpers/run-tapflow.js';
import { REPO_ROOT } from '../test/helpers/shared-pcaps.js';
import { createVethLab, VETH_LAB_SKIP } from '../test/helpers/veth-lab.js';
import { formatTable } from './bench-format.js';

export const SOAK_SKIP: string | false = VETH_LAB_SKIP || (hasMosquitto() ? false : MOSQUITTO_MISSING);

const DEMO = join(REPO_ROOT, 'agent/test/fixtures/demo-rush.pcap');
const DEMO_PACKETS = 2_211;
const HEALTH_INTERVAL_MS = 10_000;
const RSS_SAMPLE_MS = 5_000;

export interface SoakOptions {
  minutes: number;
  ratePps: number;
}

export interface SoakResult {
  minutes: number;
  ratePps: number;
  packetsSent: number;
  packetsMetered: number;
  rssFirstMinuteMiB: number;
  rssLastMinuteMiB: number;
  heapFirstMinuteMiB: number;
  heapLastMinuteMiB: number;
  healthMessages: number;
  /** Largest lateness of a health message past its 10 s wall-clock boundary (sampling and publishing included). */
  maxDriftMs: number;
  /** Lateness of the last health minus that of the second: what the schedule drifted over the run. */
  finalDriftMs: number;
  healthSeqGaps: number;
  recordsReceived: number;
  recordsExported: number;
  sequenceGapRecords: number;
  error: string | null;
}

export function soakOptionsFromEnv(): SoakOptions {
  return { minutes: Number(process.env.TAPFLOW_SOAK_MINUTES ?? 10), ratePps: Number(process.env.TAPFLOW_SOAK_PPS ?? 5_000) };
}

function rssBytes(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

const MIB = 1_048_576;
const maxOf = (values: number[]): number => (values.length === 0 ? Number.NaN : Math.max(...values));

export async function runSoak(options: SoakOptions, log: (line: string) => void = () => undefined): Promise<SoakResult> {
  const lab = createVethLab('tfsk');
  const tmp = tempDir('tapflow-soak-');
  const broker = await startMosquitto();
  const udp = await captureUdpExport();
  const health = await connectTestClient(broker.url, ['tapflow/soak/health']);
  let agent: ReturnType<typeof runTapflow> | null = null;
  const durationMs = options.minutes * 60_000;
  try {
    const config = join(tmp.dir, 'soak.json');
    writeFileSync(config, JSON.stringify({ mqtt: { url: broker.url, probeId: 'soak', jitterMs: 0, health: { cron: '*/10 * * * * *' } } }));
    agent = runTapflow(['run', '-i', lab.outside(0), '--config', config, '--collector', `ipfix+udp://127.0.0.1:${udp.port}`, '--summary-json', '--quiet'], {
      timeoutMs: durationMs + 180_000,
    });
    await sleep(3_000); // capture open, first health on its way
    const pid = agent.child.pid!;
    const startedAt = Date.now();
    const rss: { atMs: number; bytes: number }[] = [];
    const sampler = setInterval(() => {
      const bytes = rssBytes(pid);
      if (bytes !== null) rss.push({ atMs: Date.now() - startedAt, bytes });
    }, RSS_SAMPLE_MS);
    const loops = Math.max(1, Math.ceil((durationMs / 1000) * options.ratePps / DEMO_PACKETS));
    log(`soak: ${loops} loops of ${DEMO_PACKETS} packets at ${options.ratePps} pps (~${options.minutes} min)`);
    await lab.replay(DEMO, ['--pps', String(options.ratePps), '--loop', String(loops)]);
    clearInterval(sampler);
    await sleep(2_000);
    const elapsedMs = Date.now() - startedAt;
    agent.child.kill('SIGTERM');
    const run = await agent;
    agent = null;
    const summary = runSummaryOf(run.stdout, run.stderr);

    const beats = health.messages.filter((m) => m.receivedAt >= startedAt && (m.value.final as boolean | undefined) !== true);
    // node-cron fires on the wall clock's 10 s boundaries: each health's lateness past its boundary
    // (the first one also waits for systeminformation's first, slow sample, so it is left out).
    const lateness = beats.slice(1).map((beat) => beat.receivedAt % HEALTH_INTERVAL_MS);
    const maxDriftMs = lateness.length === 0 ? 0 : Math.max(...lateness);
    const finalDriftMs = lateness.length < 2 ? 0 : lateness[lateness.length - 1]! - lateness[0]!;
    const seqs = beats.map((b) => b.value.seq as number);
    const healthSeqGaps = seqs.slice(1).filter((seq, i) => seq !== seqs[i]! + 1).length;
    const heapAt = (fromMs: number, toMs: number): number[] =>
      beats.filter((b) => b.receivedAt - startedAt >= fromMs && b.receivedAt - startedAt < toMs).map((b) => (b.value.process as { heapUsedBytes: number }).heapUsedBytes);
    const rssAt = (fromMs: number, toMs: number): number[] => rss.filter((s) => s.atMs >= fromMs && s.atMs < toMs).map((s) => s.bytes);
    const lastMinute = Math.max(60_000, elapsedMs - 60_000);
    const sequence = accountSequence([udp.datagrams]);
    return {
      minutes: options.minutes,
      ratePps: options.ratePps,
      packetsSent: loops * DEMO_PACKETS,
      packetsMetered: summary.meter?.packets ?? 0,
      rssFirstMinuteMiB: maxOf(rssAt(0, 60_000)) / MIB,
      rssLastMinuteMiB: maxOf(rssAt(lastMinute, Number.POSITIVE_INFINITY)) / MIB,
      heapFirstMinuteMiB: maxOf(heapAt(0, 60_000)) / MIB,
      heapLastMinuteMiB: maxOf(heapAt(lastMinute, Number.POSITIVE_INFINITY)) / MIB,
      healthMessages: beats.length,
      maxDriftMs,
      finalDriftMs,
      healthSeqGaps,
      recordsReceived: sequence.records,
      recordsExported: (summary.meter?.export.records ?? 0) + (summary.meter?.export.optionsRecords ?? 0),
      sequenceGapRecords: sequence.gapRecords,
      error: run.status === 0 ? null : `exit ${run.status}: ${run.stderr.trim().split('\n').at(-1) ?? ''}`,
    };
  } finally {
    await killAgent(agent);
    await health.close();
    await udp.stop();
    await broker.close();
    lab.remove();
    tmp.remove();
  }
}

export function formatSoakTable(r: SoakResult): string {
  const mib = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
  return formatTable(
    ['measure', 'first minute', 'last minute', 'ratio'],
    [
      ['RSS max, MiB', mib(r.rssFirstMinuteMiB), mib(r.rssLastMinuteMiB), (r.rssLastMinuteMiB / r.rssFirstMinuteMiB).toFixed(2)],
      ['heap used max (health), MiB', mib(r.heapFirstMinuteMiB), mib(r.heapLastMinuteMiB), (r.heapLastMinuteMiB / r.heapFirstMinuteMiB).toFixed(2)],
    ],
  ) +
    `\npackets sent ${r.packetsSent.toLocaleString('en-US')}, metered ${r.packetsMetered.toLocaleString('en-US')}; ` +
    `health ${r.healthMessages} messages, seq gaps ${r.healthSeqGaps}, lateness max ${r.maxDriftMs} ms, drift over the run ${r.finalDriftMs} ms; ` +
    `IPFIX records received ${r.recordsReceived.toLocaleString('en-US')} of ${r.recordsExported.toLocaleString('en-US')} exported, sequence gaps ${r.sequenceGapRecords} records` +
    (r.error ? `\nFAILED: ${r.error}` : '');
}
