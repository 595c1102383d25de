import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { CapturedPacket } from '../capture/captured-packet.js';
import { estimateDrops, readInterfaceCounters } from '../capture/interface-counters.js';
import { PacketRing } from '../capture/packet-ring.js';
import { brokerDestinations, captureFilter, collectorDestinations } from '../capture/self-exclusion-filter.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { CommandError } from '../fleet/fleet-commands.js';
import { readBrokerFiles } from '../fleet/mqtt-link.js';
import { ConfigReloader, ReloadError } from './config-reloader.js';
import { AgentError } from '../core/errors.js';
import { InterfaceCapture } from './interface-capture.js';
import type { MeterWorkerData, MeterWorkerReport } from './meter-worker-protocol.js';
import { MeterWorkerClient } from './meter-worker-client.js';
import { WorkerProbe } from './worker-probe.js';
import { FleetAgent } from '../fleet/fleet-agent.js';
import type { ProbeCounters } from '../fleet/fleet-messages.js';
import { createLogger } from '../logging/logger.js';
import { formatRunStatus, formatRunSummary, type RunSummary } from './run-summary.js';
import { parseCollectorSpec } from '../export/collector-spec.js';

export interface RunOptions {
  /** The configuration file (SIGHUP reloads it; config.set writes it); null when run from flags only. */
  configPath: string | null;
  /** The command line's settings, applied over the file again at every reload. */
  overrides: ConfigInput;
  /** A status line on stderr this often; 0 for none. */
  statusIntervalMs: number;
  summaryJson: boolean;
}

/** How long a stopping meter may take to export every flow before tapflow gives up on it. */
const STOP_TIMEOUT_MS = 60_000;
/** How often the ring's wrapping counters are read when nothing else reads them. */
const RING_STATS_INTERVAL_MS = 60_000;

/**
 * `tapflow run`: capture on the main thread (npm cap, one JS call per packet) into a bounded
 * SharedArrayBuffer ring; the flow meter and the exporters run in a worker thread, so export work
 * never stalls capture. A full ring drops and counts. SIGTERM/SIGINT: capture stops, the worker
 * meters what is queued and exports every active flow (forcedEnd), then the summary is printed.
 */
export async function runAgent(config: Config, options: RunOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  // 'on', not 'once': a second signal (timeout(1) signals the process and its group) must not kill a
  // stop that is still exporting the last flows.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const started = Date.now();
  let ring: PacketRing | null = null;
  let packetsBeforeStart = 0;
  // The capture handler must never throw (it runs inside cap's native callback).
  const toRing = (p: CapturedPacket): void => {
    if (ring !== null) ring.push(p.data, p.offset, p.capLen, p.wireLen, p.tsUs, p.interfaceId);
    else packetsBeforeStart++;
  };
  const opened: InterfaceCapture[] = [];
  let fleet: FleetAgent | null = null;
  try {
    const captureOptions = {
      filter: await captureFilterFor(config),
      bufferBytes: config.capture.bufferBytes,
      snapLenBytes: config.capture.snapLenBytes,
      onMissingInterface: config.capture.onMissingInterface,
      log: (line: string) => process.stderr.write(`${line}\n`),
    };
    for (const name of config.capture.interfaces) {
      const capture = new InterfaceCapture(name, toRing, captureOptions, stop.signal);
      if (!(await capture.start())) break; // stopped while waiting for the interface
      opened.push(capture);
    }
    if (stop.signal.aborted) return finish(config, options, opened, null, null, started, packetsBeforeStart);
    const linkType = opened[0]!.info!.linkType;
    const mixed = opened.find((o) => o.info!.linkType !== linkType);
    if (mixed) throw new AgentError('TAPFLOW_E_CAPTURE_LINK_TYPE', `all interfaces must have one link type: ${opened[0]!.name} has ${linkType}, ${mixed.name} has ${mixed.info!.linkType}`);
    ring = PacketRing.create({ slotCount: config.capture.ringSlots, slotBytes: config.capture.snapLenBytes, linkType });
    for (const o of opened) process.stderr.write(`tapflow: capturing on ${o.name} (ifIndex ${o.info!.interfaceId}, filter ${JSON.stringify(o.info!.filter)})\n`);

    const workerData: MeterWorkerData = { config, ringBuffer: ring.buffer };
    const worker = new Worker(new URL('./meter-worker.js', import.meta.url), { workerData });
    const meter = new MeterWorkerClient(worker);
    worker.on('error', (error) => meter.fail({ type: 'error', message: error.message, code: (error as { code?: string }).code ?? null }));
    meter.onFailure = (failure) => {
      process.stderr.write(`tapflow: meter failed: ${failure.message}; stopping\n`);
      stop.abort();
    };
    const captureCounters = (): ProbeCounters['capture'] => {
      const s = summarize(opened, ring, null, started, packetsBeforeStart);
      return { interfaces: s.interfaces.map((i) => ({ name: i.name, packetsSeen: i.packetsSeen, kernelDropped: i.kernelDropped, unseenEstimate: i.unseenEstimate, outages: i.outages })), ringDropped: s.ringDropped };
    };
    // The fleet channel runs on this thread: a few messages a minute, async I/O only.
    const log = createLogger('run');
    const probe = new WorkerProbe(config, meter, captureCounters);
    let replyingToConfigSet = false;
    const startFleet = (c: Config): FleetAgent | null =>
      c.mqtt.url === null
        ? null
        : new FleetAgent(c, probe, createLogger('fleet'), {
            'config.set': async (args) => {
              replyingToConfigSet = true;
              try {
                const result = await reloader.set(args.config);
                fleet?.useConfig(reloader.config);
                return result;
              } catch (error) {
                throw error instanceof ReloadError ? new CommandError(error.code, error.message) : error;
              } finally {
                replyingToConfigSet = false;
              }
            },
          });
    const reloader: ConfigReloader = new ConfigReloader(options.configPath, options.overrides, config, {
      reconfigureMeter: (c) => meter.reconfigure(c),
      refilterCapture: async (c) => refilterAll(opened, await captureFilterFor(c)),
      checkFleet: (c) => {
        if (c.mqtt.url !== null) readBrokerFiles(c.mqtt);
      },
      replaceFleet: (c) => {
        const swap = () => {
          const old = fleet;
          fleet = null;
          void (old ? old.stop('reloading') : Promise.resolve()).then(() => {
            if (!stop.signal.aborted) fleet = startFleet(c);
          });
        };
        if (replyingToConfigSet && fleet) fleet.afterReply(swap);
        else swap();
      },
    }, log);
    fleet = startFleet(config);
    // SIGHUP: the configuration file again (systemctl reload). Invalid: logged, nothing changes.
    const onHangup = () => {
      reloader.reloadFile().then(
        () => fleet?.useConfig(reloader.config),
        (error: Error) => log.error({ err: error.message }, 'reload: rejected'),
      );
    };
    process.on('SIGHUP', onHangup);
    stop.signal.addEventListener('abort', () => process.off('SIGHUP', onHangup), { once: true });
    // One report request at a time: a stalled worker must not collect unanswered requests.
    let reportPending = false;
    const statusTimer = options.statusIntervalMs > 0
      ? setInterval(() => {
          if (!reportPending) {
            reportPending = true;
            meter.report().catch(() => null).finally(() => (reportPending = false));
          }
          if (meter.latest) process.stderr.write(`${formatRunStatus(summarize(opened, ring!, meter.latest, started, packetsBeforeStart))}\n`);
        }, options.statusIntervalMs)
      : null;
    // The ring's counters are 32-bit and widened by stats(): read them well within 2^32 packets
    // even when no status line is printed (71 minutes at 1 Mpps).
    const widenTimer = setInterval(() => ring!.stats(), RING_STATS_INTERVAL_MS);
    if (!stop.signal.aborted) await once(stop.signal, 'abort');
    if (statusTimer) clearInterval(statusTimer);
    clearInterval(widenTimer);

    for (const o of opened) o.close();
    const exited = once(worker, 'exit');
    const giveUp = new AbortController();
    const final = await Promise.race([
      meter.stop(),
      exited.then(() => null),
      sleep(STOP_TIMEOUT_MS, null, { signal: giveUp.signal }).catch(() => null),
    ]);
    giveUp.abort(); // the timer must not hold the process open
    // Every flow is exported: the final summary and health hold them, then the offline status.
    await fleet?.stop();
    await worker.terminate();
    return finish(reloader.config, options, opened, ring, final ?? meter.latest, started, packetsBeforeStart, meter.failure !== null || final === null);
  } finally {
    for (const o of opened) o.close();
    await fleet?.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** The capture filter for a configuration: the user's filter minus tapflow's own export and fleet traffic. */
async function captureFilterFor(config: Config): Promise<string> {
  const own = config.capture.excludeOwnTraffic ? [...(await collectorDestinations(config.export.collectors)), ...(await brokerDestinations(config.mqtt.url))] : [];
  return captureFilter(config.capture.filter, own);
}

/** A new filter on every interface, or none: on a refusal the ones already changed go back. */
function refilterAll(captures: readonly InterfaceCapture[], filter: string): void {
  const previous = captures.map((c) => c.currentFilter);
  const done: number[] = [];
  try {
    for (let i = 0; i < captures.length; i++) {
      captures[i]!.refilter(filter);
      done.push(i);
    }
  } catch (error) {
    for (const i of done) captures[i]!.refilter(previous[i]!);
    throw error;
  }
}

function summarize(opened: InterfaceCapture[], ring: PacketRing | null, report: MeterWorkerReport | null, started: number, packetsBeforeStart: number): RunSummary {
  const ringStats = ring?.stats() ?? null;
  return {
    elapsedMs: Date.now() - started,
    interfaces: opened.map((o) => {
      const now = readInterfaceCounters(o.name);
      const drops = o.countersAtStart && now ? estimateDrops(o.countersAtStart, now, o.packetsSeen) : null;
      return {
        name: o.name,
        ifIndex: o.info?.interfaceId ?? 0,
        linkType: o.info?.linkType ?? 0,
        packetsSeen: o.packetsSeen,
        kernelDropped: drops?.kernelDroppedPackets ?? null,
        unseenEstimate: drops?.unseenPackets ?? null,
        outages: o.outages,
        outageMs: o.outageMs,
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
  opened: InterfaceCapture[],
  ring: PacketRing | null,
  report: MeterWorkerReport | null,
  started: number,
  packetsBeforeStart: number,
  failed = false,
): number {
  const summary = summarize(opened, ring, report, started, packetsBeforeStart);
  const destinations = [...config.export.collectors.map((c) => parseCollectorSpec(c).name), ...(config.export.file ? [config.export.file] : [])];
  if (options.summaryJson) process.stdout.write(`${JSON.stringify({ ...summary, destinations })}\n`);
  else process.stdout.write(formatRunSummary(summary, destinations));
  return failed ? 3 : 0;
}
