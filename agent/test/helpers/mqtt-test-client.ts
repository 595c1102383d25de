/**
 * The operator's side of the fleet channel in tests: an mqtt.js client that records every message
 * it receives and decodes payloads with @msgpack/msgpack — an independent MessagePack decoder, so a
 * payload only msgpackr could read fails the test.
 */
import { decode } from '@msgpack/msgpack';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  /** The decoded payload (MessagePack or JSON by content type / first byte). */
  value: Record<string, unknown>;
  retain: boolean;
  properties: NonNullable<IPublishPacket['properties']>;
  receivedAt: number;
}

export interface MqttTestClient {
  client: MqttClient;
  messages: ReceivedMessage[];
  /** Resolves with the first message (already received or arriving) that matches, or rejects after timeoutMs. */
  waitFor(match: (message: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  close(): Promise<void>;
}

export function decodeFleetPayload(payload: Buffer, contentType?: string): Record<string, unknown> {
  const json = contentType ? contentType.includes('json') : payload[0] === 0x7b;
  return (json ? JSON.parse(payload.toString('utf8')) : decode(payload)) as Record<string, unknown>;
}

export async function connectTestClient(url: string, topics: string[], options: IClientOptions = {}): Promise<MqttTestClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 200, connectTimeout: 5_000, ...options });
  const messages: ReceivedMessage[] = [];
  const waiters: { match: (m: ReceivedMessage) => boolean; resolve: (m: ReceivedMessage) => void }[] = [];
  client.on('message', (topic, payload, packet) => {
    let value: Record<string, unknown>;
    try {
      value = decodeFleetPayload(payload, packet.properties?.contentType);
    } catch (error) {
      value = { undecodable: (error as Error).message };
    }
    const message: ReceivedMessage = { topic, payload, value, retain: packet.retain, properties: packet.properties ?? {}, receivedAt: Date.now() };
    messages.push(message);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.match(message)) waiters.splice(i, 1)[0]!.resolve(message);
    }
  });
  // Resubscribe after every (re)connection: tests restart the broker under it.
  const subscribe = () => (topics.length > 0 ? client.subscribeAsync(topics, { qos: 1 }) : Promise.resolve([]));
  client.on('connect', (packet) => {
    if (!packet.sessionPresent) void subscribe().catch(() => undefined);
  });
  await subscribe();
  return {
    client,
    messages,
    waitFor(match, timeoutMs = 15_000) {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (m: ReceivedMessage) => (clearTimeout(timer), resolve(m)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching MQTT message within ${timeoutMs} ms; got ${messages.map((m) => m.topic).join(', ') || 'none'}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close: async () => {
      await client.endAsync(true);
    },
  };
}
