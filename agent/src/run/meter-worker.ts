import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { PacketRing } from '../capture/packet-ring.js';
import { nowUs } from '../capture/capture-clock.js';
import { changedPaths, scopeOf } from '../config/config-changes.js';
import type { Config } from '../config/schema.js';
import { createExportPipeline } from '../export/create-export-pipeline.js';
import type { ExportPipeline } from '../export/export-pipeline.js';
import { mergeExportStats } from '../export/merged-export-stats.js';
import { SwappableSink } from '../flow/swappable-sink.js';
import { CommandError } from '../fleet/fleet-commands.js';
import { parseFlowQuery, runFlowQuery } from '../recent/flow-query.js';
import { RecentFlowRing, recentFlowsSink } from '../recent/recent-flow-ring.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../meter/flow-meter.js';
import { meteringStatisticsOf, snapshotMeter } from '../meter/meter-snapshot.js';
import { summarizingSink, TrafficSummary } from '../summary/traffic-summary.js';
import type { MeterWorkerData, MeterWorkerFlushed, MeterWorkerMessage, MeterWorkerQueried, MeterWorkerReconfigured, MeterWorkerReport, MeterWorkerSummary } from './meter-worker-protocol.js';

/**
 * The flow meter's thread: drains the packet ring (filled by capture on the main thread) into
 * decode → flow table → export, and advances the clock with wall time when no packet comes, so
 * idle flows expire on time. Capture never waits for it: a full ring drops and counts.
 */
const { config, ringBuffer } = workerData as MeterWorkerData;
const ring = PacketRing.attach(ringBuffer);
let pipeline = createExportPipeline(config, { exportTime: 'now' });
/** Pipelines a reload replaced: closed, but their counters still count. */
const retired: ExportPipeline[] = [];
// The fleet channel's summary sees every record on its way to the exporters (fixed memory, ~1 µs a
// record). Kept even while the fleet channel is off, so a reload can turn it on.
const summary = new TrafficSummary({ topN: config.mqtt.summary.topN, capacity: config.mqtt.summary.sketchCapacity });
// The last exported records stay on the probe for flows.query (fixed memory).
const recent = new RecentFlowRing(config.mqtt.recentFlows);
const exportSink = (p: ExportPipeline) => recentFlowsSink(recent, summarizingSink(summary, p.sink));
// The table keeps one sink for its life; a reload points it at a new pipeline.
const sink = new SwappableSink(exportSink(pipeline));
const meter = new FlowMeter({ ...flowMeterOptionsFromConfig(config), oneLink: config.capture.oneLink }, sink);
// Packets the ring dropped before the meter saw them count as ignored too (RFC 7011 §4.2).
const metering = meteringStatisticsOf(meter, () => ring.stats().droppedFullTotal);
pipeline.useMeteringStatistics(metering);
// Live capture does not wait for collectors (the ring would fill); failover re-chooses when they settle.
void pipeline.ready();
let currentConfig: Config = config;
/** Packets handled per turn of the event loop: big enough to amortise, small enough for sends and messages to run. */
const BATCH_PACKETS = 4096;
/**
 * When the ring is empty, sleep this long before looking again, instead of asking the capture
 * thread to wake us for the next packet: measured, a wake-up per packet cost ~10 µs of the meter's
 * time per packet at 50k pps (20× the metering itself); 1 ms of polling batches the packets.
 */
const IDLE_POLL_MS = 1;
let stopping = false;
/** `flush` and `reconfigure` requests wait for the metering loop, which owns the table between batches. */
const pendingFlushes: number[] = [];
const pendingReconfigures: { id: number; config: Config }[] = [];

parentPort!.on('message', (message: MeterWorkerMessage) => {
  if (message.type === 'stop') stopping = true;
  else if (message.type === 'report') parentPort!.postMessage(report(message.id, false));
  else if (message.type === 'flush') pendingFlushes.push(message.id);
  else if (message.type === 'reconfigure') pendingReconfigures.push(message);
  else if (message.type === 'query') parentPort!.postMessage(queryRecent(message.id, message.args));
  else if (message.type === 'summary') {
    const reply: MeterWorkerSummary = { type: 'summary', id: message.id, summary: summary.take(message.fromMs, message.toMs, false) };
    parentPort!.postMessage(reply);
  }
});

function report(id: number, final: boolean): MeterWorkerReport {
  const last = final ? summary.take(0, 0, true) : null;
  return { type: 'report', id, final, ...snapshotMeter(meter), export: mergeExportStats([...retired.map((p) => p.stats()), pipeline.stats()]), summary: last };
}

/**
 * Applies a reloaded configuration between two batches: new timeouts and sampling in the meter,
 * and, when export, IPFIX or sampling settings changed, a new export pipeline the records switch
 * to. The old pipeline is flushed and closed first (the loop waits, metering nothing meanwhile),
 * so the new one can continue the same IPFIX file: files are appended to, never truncated, on a
 * reload. No flow is touched. Returns the error, null when applied; on error nothing changed.
 */
async function reconfigure(next: Config): Promise<string | null> {
  const paths = changedPaths(currentConfig, next);
  try {
    if (paths.some((path) => scopeOf(path) === 'export')) {
      sink.flush(meter.nowMs);
      await pipeline.drain();
      const fresh = createExportPipeline(next, { exportTime: 'now', appendToFile: true });
      fresh.useMeteringStatistics(metering);
      await pipeline.close();
      retired.push(pipeline);
      sink.target = exportSink(fresh);
      pipeline = fresh;
      void pipeline.ready();
    }
    meter.reconfigure(flowMeterOptionsFromConfig(next));
    currentConfig = next;
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** flows.query over the recent records; a bad argument is answered as the command's error. */
function queryRecent(id: number, args: Record<string, unknown>): MeterWorkerQueried {
  try {
    return { type: 'queried', id, result: runFlowQuery(recent, parseFlowQuery(args)), error: null };
  } catch (error) {
    const code = error instanceof CommandError ? error.commandCode : 'command_failed';
    return { type: 'queried', id, result: null, error: { code, message: error instanceof Error ? error.message : String(error) } };
  }
}

/** Exports every active flow now (the fleet `flush` command); answers with the records that made. */
async function flushAll(id: number): Promise<void> {
  const before = meter.table.counters.recordsByEndReason.reduce((sum, n) => sum + n, 0);
  while (!meter.flushSome()) await pipeline.drain();
  const after = meter.table.counters.recordsByEndReason.reduce((sum, n) => sum + n, 0);
  const reply: MeterWorkerFlushed = { type: 'flushed', id, records: after - before };
  parentPort!.postMessage(reply);
}

async function run(): Promise<void> {
  while (!stopping) {
    while (pendingFlushes.length > 0) await flushAll(pendingFlushes.shift()!);
    while (pendingReconfigures.length > 0) {
      const request = pendingReconfigures.shift()!;
      const reply: MeterWorkerReconfigured = { type: 'reconfigured', id: request.id, error: await reconfigure(request.config) };
      parentPort!.postMessage(reply);
    }
    const delivered = ring.drain(meter.handlePacket, BATCH_PACKETS);
    if (delivered === 0) {
      meter.advanceClock(nowUs());
      await sleep(IDLE_POLL_MS);
    } else if (pipeline.backlogged()) {
      await pipeline.drain();
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  // Stop: meter what is still in the ring, then export every active flow (forcedEnd).
  while (ring.drain(meter.handlePacket, BATCH_PACKETS) > 0);
  meter.advanceClock(nowUs());
  while (!meter.flushSome()) await pipeline.drain();
  await Promise.all([pipeline.close(), ...retired.map((p) => p.close())]);
  parentPort!.postMessage(report(0, true));
  for (const request of pendingReconfigures) parentPort!.postMessage({ type: 'reconfigured', id: request.id, error: 'the meter is stopping' } satisfies MeterWorkerReconfigured);
  // Flushes asked for during the stop are answered: the stop exported everything.
  for (const id of pendingFlushes) parentPort!.postMessage({ type: 'flushed', id, records: 0 } satisfies MeterWorkerFlushed);
}

run().catch((error: unknown) => {
  parentPort!.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error), code: (error as { code?: string }).code ?? null });
});
