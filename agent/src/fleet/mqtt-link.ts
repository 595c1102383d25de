import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Config } from '../config/schema.js';
import { ReconnectBackoff } from '../export/reconnect-backoff.js';
import type { Logger } from '../logging/logger.js';
import { describeMqttError } from './describe-mqtt-error.js';
import { BoundedOutbox, type OutboxMessage } from './bounded-outbox.js';

export interface LinkMessage {
  topic: string;
  payload: Buffer;
  /** MQTT 5 properties of the request (responseTopic, correlationData, contentType). */
  properties: NonNullable<IPublishPacket['properties']>;
}

export interface MqttLinkOptions {
  clientId: string;
  /** Content type every publication carries (MQTT 5). */
  contentType: string;
  /** The last will: published by the broker, retained, if the probe vanishes without a goodbye. */
  will: { topic: string; payload: Buffer };
  /** Topic filters subscribed on every connection (the session is clean). */
  subscriptions: string[];
  /** Runs on every connection before the outbox drains (publish presence). */
  onConnected: () => void;
  onMessage: (message: LinkMessage) => void;
  log: Logger;
}

/** How long a graceful stop waits for the broker to acknowledge the offline status. */
const GOODBYE_TIMEOUT_MS = 3_000;

/**
 * The probe's one connection to the broker, on mqtt.js. What it adds to mqtt.js:
 * - reconnection with exponential backoff and jitter (mqtt.js retries at one fixed period), so a
 *   fleet that lost its broker does not reconnect in lockstep;
 * - QoS 0 publications go through a BoundedOutbox and leave it only once written, so an outage
 *   costs the oldest messages (counted), never unbounded memory, and the rest arrive in order;
 * - one clear log line per distinct connection problem (TLS, refused, auth) rather than one per retry.
 */
export class MqttLink {
  readonly outbox: BoundedOutbox;
  private readonly client: MqttClient;
  private readonly options: MqttLinkOptions;
  private readonly backoff: ReconnectBackoff;
  private readonly protocolVersion: 4 | 5;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private draining = false;
  private closing = false;
  private lastProblem: string | null = null;
  /** Connections made, and the latest problem (for health and `tapflow run`'s summary). */
  connections = 0;

  constructor(config: Config['mqtt'], options: MqttLinkOptions) {
    this.options = options;
    this.protocolVersion = config.protocolVersion;
    this.outbox = new BoundedOutbox(config.outbox.maxMessages, config.outbox.maxBytes);
    this.backoff = new ReconnectBackoff(config.reconnectMinMs, config.reconnectMaxMs);
    this.client = mqtt.connect(config.url!, this.clientOptions(config));
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => this.onClose());
    const caHint = `mqtt.tls.caFile${config.tls.caFile ? ` (${config.tls.caFile})` : ''}`;
    this.client.on('error', (error) => this.report(`cannot connect to ${redactUrl(config.url!)}: ${describeMqttError(error, caHint)}`));
    this.client.on('message', (topic, payload, packet) => options.onMessage({ topic, payload, properties: packet.properties ?? {} }));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** The latest connection problem, null once connected. */
  get problem(): string | null {
    return this.lastProblem;
  }

  /** Resolves true once connected, false after timeoutMs without a connection (the link keeps trying). */
  whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.client.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.client.off('connect', onConnect);
        resolve(false);
      }, timeoutMs);
      const onConnect = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.client.once('connect', onConnect);
    });
  }

  /** Publishes at QoS 0 through the outbox: now if connected and nothing older waits, else later, in order. */
  publish(topic: string, payload: Buffer, retain: boolean): void {
    this.outbox.push({ topic, payload, retain });
    this.drain();
  }

  /**
   * Publishes at QoS 1 now (presence, command replies); resolves when the broker acknowledged it,
   * rejects when not connected or on error. Never queued offline.
   */
  async publishAcknowledged(topic: string, payload: Buffer, options: { retain?: boolean; properties?: IPublishPacket['properties'] } = {}): Promise<void> {
    if (!this.client.connected) throw new Error('not connected to the broker');
    await this.client.publishAsync(topic, payload, this.publishOptions(1, options.retain ?? false, options.properties));
  }

  /**
   * Graceful stop: publishes `goodbye` (the offline status) retained and acknowledged, bounded by
   * a timeout, then disconnects normally, so the broker does not publish the last will.
   */
  async close(goodbye: OutboxMessage | null): Promise<void> {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (goodbye && this.client.connected) {
      const acknowledged = this.publishAcknowledged(goodbye.topic, goodbye.payload, { retain: goodbye.retain });
      const timeout = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('no acknowledgement')), GOODBYE_TIMEOUT_MS).unref());
      await Promise.race([acknowledged, timeout]).catch((error: Error) => this.options.log.warn({ err: error.message }, 'mqtt: offline status not acknowledged'));
    }
    await this.client.endAsync(!this.client.connected).catch(() => undefined);
  }

  private clientOptions(config: Config['mqtt']): IClientOptions {
    const { options } = this;
    const files = readBrokerFiles(config);
    const tls = config.tls;
    const willProperties = this.protocolVersion === 5 ? { properties: { contentType: options.contentType } } : {};
    return {
      clientId: options.clientId,
      protocolVersion: config.protocolVersion,
      clean: true,
      keepalive: config.keepaliveS,
      connectTimeout: config.connectTimeoutMs,
      // Reconnection is ours (backoff with jitter); QoS 0 never waits in mqtt.js's offline array.
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: options.will.topic, payload: options.will.payload, qos: 1, retain: true, ...willProperties },
      ...(config.username !== null ? { username: config.username } : {}),
      ...(files.password !== null ? { password: files.password } : {}),
      ...(files.ca !== null ? { ca: files.ca } : {}),
      ...(files.cert !== null ? { cert: files.cert } : {}),
      ...(files.key !== null ? { key: files.key } : {}),
      ...(tls.serverName !== null ? { servername: tls.serverName } : {}),
      rejectUnauthorized: true,
      log: () => undefined,
    };
  }

  private publishOptions(qos: 0 | 1, retain: boolean, properties?: IPublishPacket['properties']): IClientPublishOptions {
    if (this.protocolVersion !== 5) return { qos, retain };
    return { qos, retain, properties: { contentType: this.options.contentType, ...properties } };
  }

  private onConnect(): void {
    this.connections++;
    this.backoff.reset();
    if (this.lastProblem !== null || this.connections > 1) this.options.log.info({ connections: this.connections }, 'mqtt: connected');
    this.lastProblem = null;
    for (const filter of this.options.subscriptions) {
      this.client.subscribe(filter, { qos: 1 }, (error) => {
        if (error) this.options.log.error({ err: error.message, filter }, 'mqtt: subscription refused');
      });
    }
    this.options.onConnected();
    this.drain();
  }

  private onClose(): void {
    if (this.closing || this.reconnectTimer !== null) return;
    const delayMs = this.backoff.nextDelayMs();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closing) this.client.reconnect();
    }, delayMs);
    this.reconnectTimer.unref();
  }

  /** Sends the outbox oldest first, one write at a time; a message leaves only once written. */
  private drain(): void {
    if (this.draining || !this.client.connected) return;
    const next = this.outbox.peek();
    if (next === undefined) return;
    this.draining = true;
    this.client.publish(next.topic, next.payload, this.publishOptions(0, next.retain), (error) => {
      this.draining = false;
      if (error) return; // disconnected meanwhile: it stays first in line for the next connection
      if (this.outbox.peek() === next) this.outbox.shift();
      this.drain();
    });
  }

  private report(problem: string): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    this.options.log.error({ problem }, `mqtt: ${problem}`);
  }
}

/**
 * The broker password (first line of passwordFile, else the password) and the TLS files, read now;
 * throws naming the file that cannot be read (a reload checks them before replacing the link).
 */
export function readBrokerFiles(config: Config['mqtt']): { password: string | null; ca: Buffer | null; cert: Buffer | null; key: Buffer | null } {
  const read = (path: string | null, what: string): Buffer | null => {
    if (path === null) return null;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
    }
  };
  const passwordFile = read(config.passwordFile, 'MQTT password file');
  return {
    password: passwordFile !== null ? (passwordFile.toString('utf8').split('\n')[0] ?? '') : config.password,
    ca: read(config.tls.caFile, 'MQTT CA file'),
    cert: read(config.tls.certFile, 'MQTT client certificate'),
    key: read(config.tls.keyFile, 'MQTT client key'),
  };
}

/** The URL without user:password, for logs. */
function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}
