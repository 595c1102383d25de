import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { CapturedPacket } from '../capture/captured-packet.js';
import { estimateDrops, readInterfaceCounters, type InterfaceCounterReading } from '../capture/interface-counters.js';
import { CAPTURE_NO_INTERFACE } from '../capture/live-capture-errors.js';
import { LiveCapture, type LiveCaptureInfo } from '../capture/live-capture.js';
import { PacketRing } from '../capture/packet-ring.js';
import { captureFilter, collectorDestinations } from '../capture/self-exclusion-filter.js';
import type { Config } from '../config/schema.js';
import { INTERFACE_RETRY_MAX_MS, INTERFACE_RETRY_MIN_MS } from '../config/defaults.js';
import { AgentError } from '../core/errors.js';
import type { MeterWorkerData, MeterWorkerError, MeterWorkerReport } from './meter-worker-protocol.js';
import { formatRunStatus, formatRunSummary, type RunSummary } from './run-summary.js';

export interface RunOptions {
  /** A status line on stderr this often; 0 for none. */
  statusIntervalMs: number;
  summaryJson: boolean;
}

/** How long a stopping meter may take to export every flow before tapflow gives up on it. */
const STOP_TIMEOUT_MS = 60_000;

interface OpenInterface {
  capture: LiveCapture;
  info: LiveCaptureInfo;
  countersAtStart: InterfaceCounterReading | null;
}

/**
 * `tapflow run`: capture on the main thread (npm cap, one JS call per packet) into a bounded
 * SharedArrayBuffer ring; the flow meter and the exporters run in a worker thread, so export work
 * never stalls capture. A full ring drops and counts. SIGTERM/SIGINT: capture stops, the worker
 * meters what is queued and exports every active flow (forcedEnd), then the summary is printed.
 */
export async function runAgent(config: Config, options: RunOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const started = Date.now();
  let ring: PacketRing | null = null;
  let packetsBeforeStart = 0;
  // The capture handler must never throw (it runs inside cap's native callback).
  const toRing = (p: CapturedPacket): void => {
    if (ring !== null) ring.push(p.data, p.offset, p.capLen, p.wireLen, p.tsUs, p.interfaceId);
    else packetsBeforeStart++;
  };
  const opened: OpenInterface[] = [];
  try {
    const own = config.capture.excludeOwnTraffic ? await collectorDestinations(config.export.collectors) : [];
    const filter = captureFilter(config.capture.filter, own);
    for (const name of config.capture.interfaces) {
      const open = await openWithRetry(name, filter, config, toRing, stop.signal);
      if (open === null) break; // stopped while waiting for the interface
      opened.push(open);
    }
    if (stop.signal.aborted) return finish(config, options, opened, null, null, started, packetsBeforeStart);
    const linkType = opened[0]!.info.linkType;
    const mixed = opened.find((o) => o.info.linkType !== linkType);
    if (mixed) throw new AgentError('TAPFLOW_E_CAPTURE_LINK_TYPE', `all interfaces must have one link type: ${opened[0]!.info.interfaceName} has ${linkType}, ${mixed.info.interfaceName} has ${mixed.info.linkType}`);
    ring = PacketRing.create({ slotCount: config.capture.ringSlots, slotBytes: config.capture.snapLenBytes, linkType });
    for (const o of opened) process.stderr.write(`tapflow: capturing on ${o.info.interfaceName} (ifIndex ${o.info.interfaceId}, filter ${JSON.stringify(o.info.filter)})\n`);

    const workerData: MeterWorkerData = { config, ringBuffer: ring.buffer };
    const worker = new Worker(new URL('./meter-worker.js', import.meta.url), { workerData });
    let latest: MeterWorkerReport | null = null;
    let failure: MeterWorkerError | null = null;
    worker.on('message', (message: MeterWorkerReport | MeterWorkerError) => {
      if (message.type === 'report') latest = message;
      else failure = message;
    });
    worker.on('error', (error) => {
      failure = { type: 'error', message: error.message, code: (error as { code?: string }).code ?? null };
      stop.abort();
    });
    const statusTimer = options.statusIntervalMs > 0
      ? setInterval(() => {
          worker.postMessage({ type: 'report' });
          if (latest) process.stderr.write(`${formatRunStatus(summarize(opened, ring!, latest, started, packetsBeforeStart))}\n`);
        }, options.statusIntervalMs)
      : null;
    if (!stop.signal.aborted) await once(stop.signal, 'abort');
    if (statusTimer) clearInterval(statusTimer);

    for (const o of opened) o.capture.close();
    const exited = once(worker, 'exit');
    worker.postMessage({ type: 'stop' });
    const giveUp = new AbortController();
    const final = await Promise.race([
      new Promise<MeterWorkerReport | null>((resolve) => worker.on('message', (m: MeterWorkerReport | MeterWorkerError) => {
        if (m.type === 'report' && m.final) resolve(m);
        if (m.type === 'error') resolve(null);
      })),
      exited.then(() => null),
      sleep(STOP_TIMEOUT_MS, null, { signal: giveUp.signal }).catch(() => null),
    ]);
    giveUp.abort(); // the timer must not hold the process open
    await worker.terminate();
    if (failure !== null) process.stderr.write(`tapflow: meter failed: ${(failure as MeterWorkerError).message}\n`);
    return finish(config, options, opened, ring, final ?? latest, started, packetsBeforeStart, failure !== null || final === null);
  } finally {
    for (const o of opened) o.capture.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/**
 * Opens one interface; when it is absent and the configuration says 'retry', waits 1 s, 2 s, …
 * up to 30 s between attempts (one line on stderr each) until it appears or a signal stops us.
 */
async function openWithRetry(
  name: string,
  filter: string,
  config: Config,
  handler: (p: CapturedPacket) => void,
  signal: AbortSignal,
): Promise<OpenInterface | null> {
  let waitMs = INTERFACE_RETRY_MIN_MS;
  for (;;) {
    const capture = new LiveCapture(handler);
    try {
      const info = capture.open(name, { filter, bufferBytes: config.capture.bufferBytes, snapLenBytes: config.capture.snapLenBytes });
      return { capture, info, countersAtStart: readInterfaceCounters(name) };
    } catch (error) {
      if (!(error instanceof AgentError) || error.code !== CAPTURE_NO_INTERFACE || config.capture.onMissingInterface === 'fail') throw error;
      process.stderr.write(`tapflow: ${error.message}; retrying in ${waitMs / 1000} s\n`);
    }
    try {
      await sleep(waitMs, undefined, { signal });
    } catch {
      return null;
    }
    waitMs = Math.min(waitMs * 2, INTERFACE_RETRY_MAX_MS);
  }
}

function summarize(opened: OpenInterface[], ring: PacketRing | null, report: MeterWorkerReport | null, started: number, packetsBeforeStart: number): RunSummary {
  const ringStats = ring?.stats() ?? null;
  return {
    elapsedMs: Date.now() - started,
    interfaces: opened.map((o) => {
      const now = readInterfaceCounters(o.info.interfaceName);
      const drops = o.countersAtStart && now ? estimateDrops(o.countersAtStart, now, o.capture.packetsSeenTotal) : null;
      return {
        name: o.info.interfaceName,
        ifIndex: o.info.interfaceId,
        linkType: o.info.linkType,
        packetsSeen: o.capture.packetsSeenTotal,
        kernelDropped: drops?.kernelDroppedPackets ?? null,
        unseenEstimate: drops?.unseenPackets ?? null,
      };
    }),
    packetsBeforeStart,
    ringDropped: ringStats?.droppedFullTotal ?? 0,
    ringQueued: ringStats?.queued ?? 0,
    meter: report,
  };
}

function finish(
  config: Config,
  options: RunOptions,
  opened: OpenInterface[],
  ring: PacketRing | null,
  report: MeterWorkerReport | null,
  started: number,
  packetsBeforeStart: number,
  failed = false,
): number {
  const summary = summarize(opened, ring, report, started, packetsBeforeStart);
  const destinations = [...config.export.collectors.map((c) => `udp://${c}`), ...(config.export.file ? [config.export.file] : [])];
  if (options.summaryJson) process.stdout.write(`${JSON.stringify({ ...summary, destinations })}\n`);
  else process.stdout.write(formatRunSummary(summary, destinations));
  return failed ? 3 : 0;
}
