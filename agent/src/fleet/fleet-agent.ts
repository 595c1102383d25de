import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import { packageVersion } from '../cli/package-version.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { CommandDispatcher, type CommandHandler } from './fleet-commands.js';
import type { HealthPayload, ProbeCounters, StatusPayload, SummaryPayload } from './fleet-messages.js';
import { MqttLink } from './mqtt-link.js';
import { CONTENT_TYPES, encodePayload } from './payload-codec.js';
import { redactedConfig } from './redacted-config.js';
import { sampleSystemHealth } from './system-health-sampler.js';

/** What the fleet channel needs from the probe, whichever thread meters the packets. */
export interface ProbeSource {
  mode: 'run' | 'replay';
  interfaces: readonly string[];
  /** tapflow's cumulative counters; the rates (packetsPerSecond, bitsPerSecond) are filled in here. */
  counters(): Promise<ProbeCounters>;
  /** The traffic summary of the flow records exported since the previous call; resets it. */
  takeSummary(fromMs: number, toMs: number, final: boolean): Promise<Omit<SummaryPayload, 'schema' | 'probeId' | 'seq'>>;
  /** Exports every active flow now (forcedEnd); resolves with the flow records exported. */
  flush(): Promise<{ records: number }>;
  /** flows.query over the most recently exported records (throws CommandError on bad arguments). */
  queryFlows(args: Record<string, unknown>): Promise<unknown>;
}

/** The probe's name when the configuration gives none: the host name, reduced to topic-safe characters. */
export function defaultProbeId(): string {
  return hostname().replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64) || 'tapflow';
}

/** First 16 hex digits of the sha256 of the configuration (secrets redacted): tells a fleet which probes run the same one. */
export function configHash(config: Config): string {
  return createHash('sha256').update(JSON.stringify(redactedConfig(config))).digest('hex').slice(0, 16);
}

/**
 * tapflow on MQTT: presence (`status`, retained, with a last will), health and traffic summaries
 * on node-cron schedules, and commands (`cmd/<name>`) with replies. Publications never overlap:
 * each schedule skips a run while its previous one is still busy (noOverlap), and all of them go
 * through one chain, so the final health and summary of a stop come after any in flight.
 */
export class FleetAgent {
  readonly probeId: string;
  readonly topicRoot: string;
  private config: Config;
  /** Work to run once the reply to the command being handled is out (a reload replacing this agent). */
  private afterReplyTasks: (() => void)[] = [];
  private handlingCommands = 0;
  private readonly source: ProbeSource;
  private readonly log: Logger;
  private readonly link: MqttLink;
  private readonly dispatcher: CommandDispatcher;
  private readonly tasks: ScheduledTask[] = [];
  private readonly startedAt = Date.now();
  private readonly format: 'msgpack' | 'json';
  private chain: Promise<void> = Promise.resolve();
  private healthSeq = 0;
  private summarySeq = 0;
  private summaryFrom = this.startedAt;
  private previousTraffic: { at: number; packets: number; octets: number } = { at: this.startedAt, packets: 0, octets: 0 };
  private stopped = false;

  constructor(config: Config, source: ProbeSource, log: Logger, extraCommands: Record<string, CommandHandler> = {}) {
    const mqttConfig = config.mqtt;
    this.config = config;
    this.source = source;
    this.log = log;
    this.format = mqttConfig.payloadFormat;
    this.probeId = mqttConfig.probeId ?? defaultProbeId();
    this.topicRoot = mqttConfig.topicRoot ?? `tapflow/${this.probeId}/`;
    this.dispatcher = new CommandDispatcher(this.probeId, `${this.topicRoot}reply/`, {
      ping: () => ({ pong: true, at: Date.now(), uptimeS: this.uptimeS(), version: packageVersion() }),
      stats: async () => source.counters(),
      'config.get': () => ({ configHash: configHash(this.config), config: redactedConfig(this.config) }),
      flush: async () => source.flush(),
      'flows.query': async (args) => source.queryFlows(args),
      ...extraCommands,
    });
    this.link = new MqttLink(mqttConfig, {
      clientId: this.probeId,
      contentType: CONTENT_TYPES[this.format],
      will: { topic: `${this.topicRoot}status`, payload: this.encode(this.status('offline', 'connection lost')) },
      subscriptions: [`${this.topicRoot}cmd/+`],
      onConnected: () => this.announce(),
      onMessage: (message) =>
        void this.onCommand(message.topic, message.payload, message.properties).catch((error: unknown) =>
          this.log.error({ err: error instanceof Error ? error.message : String(error) }, 'fleet: command handling failed'),
        ),
      log,
    });
    const options = { noOverlap: true, maxRandomDelay: mqttConfig.jitterMs, unref: true };
    this.tasks.push(cron.schedule(mqttConfig.health.cron, () => this.serially(() => this.publishHealth(false)), { ...options, name: 'tapflow-health' }));
    this.tasks.push(cron.schedule(mqttConfig.summary.cron, () => this.serially(() => this.publishSummary(false)), { ...options, name: 'tapflow-summary' }));
  }

  /** The configuration now in force (a reload that kept the fleet channel as it was). */
  useConfig(config: Config): void {
    this.config = config;
  }

  /** Runs `task` once the reply to the command being handled is published, or now if none is. */
  afterReply(task: () => void): void {
    if (this.handlingCommands > 0) this.afterReplyTasks.push(task);
    else task();
  }

  /** Resolves once the broker connection is up or its connect timeout passed (a replay waits for it, a capture does not). */
  async ready(): Promise<void> {
    await this.link.whenConnected(this.config.mqtt.connectTimeoutMs);
  }

  /**
   * Graceful stop: the schedules end, a final health and summary (final: true) are queued after
   * any publication in flight, then the offline status is published and the link closes. Call
   * after the meter exported its last flows, so the final summary holds them.
   */
  async stop(reason = 'stopped'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const task of this.tasks) await task.destroy();
    await this.serially(async () => {
      await this.publishSummary(true);
      await this.publishHealth(true);
    });
    await this.waitForOutbox(2_000);
    await this.link.close({ topic: `${this.topicRoot}status`, payload: this.encode(this.status('offline', reason)), retain: true });
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work).catch((error: unknown) => this.log.error({ err: error instanceof Error ? error.message : String(error) }, 'fleet: publication failed'));
    this.chain = run;
    return run;
  }

  private announce(): void {
    this.link.publishAcknowledged(`${this.topicRoot}status`, this.encode(this.status('online', null)), { retain: true }).catch((error: Error) => this.log.warn({ err: error.message }, 'mqtt: online status not acknowledged'));
  }

  private status(state: 'online' | 'offline', reason: string | null): StatusPayload {
    return {
      schema: 'tapflow.status/1',
      probeId: this.probeId,
      state,
      reason,
      version: packageVersion(),
      configHash: configHash(this.config),
      startedAt: this.startedAt,
      hostname: hostname(),
      pid: process.pid,
      mode: this.source.mode,
      interfaces: [...this.source.interfaces],
      at: Date.now(),
    };
  }

  private async publishHealth(final: boolean): Promise<void> {
    const [counters, system] = await Promise.all([this.source.counters(), sampleSystemHealth(this.source.interfaces, this.config.mqtt.health.sampleTimeoutMs)]);
    const at = Date.now();
    const previous = this.previousTraffic;
    const intervalS = Math.max((at - previous.at) / 1000, 0.001);
    counters.traffic.packetsPerSecond = Math.round((counters.traffic.packets - previous.packets) / intervalS);
    counters.traffic.bitsPerSecond = Math.round(((counters.traffic.octets - previous.octets) * 8) / intervalS);
    this.previousTraffic = { at, packets: counters.traffic.packets, octets: counters.traffic.octets };
    const memory = process.memoryUsage();
    const outbox = this.link.outbox;
    const health: HealthPayload = {
      schema: 'tapflow.health/1',
      probeId: this.probeId,
      seq: ++this.healthSeq,
      at,
      uptimeS: this.uptimeS(),
      intervalS: Math.round(intervalS * 1000) / 1000,
      ...counters,
      system,
      process: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      // The outbox as it is before this message joins it.
      outbox: { depth: outbox.depth, capacity: outbox.maxMessages, dropped: outbox.dropped },
      final,
    };
    this.link.publish(`${this.topicRoot}health`, this.encode(health), true);
  }

  private async publishSummary(final: boolean): Promise<void> {
    const to = Date.now();
    const body = await this.source.takeSummary(this.summaryFrom, to, final);
    this.summaryFrom = to;
    const summary: SummaryPayload = { schema: 'tapflow.summary/2', probeId: this.probeId, seq: ++this.summarySeq, ...body, final };
    this.link.publish(`${this.topicRoot}summary`, this.encode(summary), true);
  }

  private async onCommand(topic: string, payload: Buffer, properties: { contentType?: string; responseTopic?: string; correlationData?: Buffer }): Promise<void> {
    const name = topic.slice(`${this.topicRoot}cmd/`.length);
    this.handlingCommands++;
    try {
      await this.answer(name, payload, properties);
    } finally {
      if (--this.handlingCommands === 0) {
        const tasks = this.afterReplyTasks;
        this.afterReplyTasks = [];
        for (const task of tasks) task();
      }
    }
  }

  private async answer(name: string, payload: Buffer, properties: { contentType?: string; responseTopic?: string; correlationData?: Buffer }): Promise<void> {
    const { route, reply } = await this.dispatcher.handle({
      name,
      payload,
      contentType: properties.contentType,
      responseTopic: properties.responseTopic,
      correlationData: properties.correlationData,
    });
    if (!reply.ok) this.log.warn({ command: name, error: reply.error }, 'fleet: command refused');
    const format = route.json ? 'json' : this.format;
    const replyProperties = { contentType: CONTENT_TYPES[format], ...(route.correlationData ? { correlationData: route.correlationData } : {}) };
    await this.link
      .publishAcknowledged(route.topic, encodePayload(reply, format), { properties: replyProperties })
      .catch((error: Error) => this.log.warn({ command: name, err: error.message }, 'fleet: reply not delivered'));
  }

  private async waitForOutbox(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.link.outbox.depth > 0 && this.link.connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private uptimeS(): number {
    return Math.round((Date.now() - this.startedAt) / 1000);
  }

  private encode(value: unknown): Buffer {
    return encodePayload(value, this.format);
  }
}
