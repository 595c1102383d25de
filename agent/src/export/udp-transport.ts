/**
 * IPFIX over UDP (RFC 7011 §10.3): one message per datagram to one collector.
 *
 * The builder's buffer is reused for the next message as soon as send() returns, but node:dgram
 * reads the bytes later, so each message is copied into a buffer from a bounded pool and the buffer
 * is released in the send callback (callbacks are preallocated, one per pool slot). When no buffer
 * is free the message is dropped and counted; replays call drain() between chunks to get
 * backpressure instead. Errors (ECONNREFUSED after an ICMP port unreachable, ...) are counted, never
 * thrown. Pooled buffers: goflow2 `utils/udp.go`.
 *
 * The socket is connected (so ICMP errors are reported and counted). Resolving and connecting
 * happen in the background; messages sent meanwhile wait in their pool buffers and go out once
 * connected (or are counted as errors if that fails). openUdpTransport() waits for it and throws.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { AgentError } from '../core/errors.js';
import { formatCollectorAddress, parseCollectorAddress, type CollectorAddress } from './collector-address.js';
import { emptyTransportStats, type MessageTransport, type TransportStats } from './message-transport.js';

export const UDP_BUFFER_POOL_SIZE = 256;
/** A UDP collector counts as unhealthy (failover) for this long after a send error. */
export const UDP_UNHEALTHY_AFTER_ERROR_MS = 10_000;
/** Largest IPFIX message: the IPFIX length field is 16 bits. */
const MAX_MESSAGE_BYTES = 65_535;

export interface UdpTransportOptions {
  /** Messages that may be in flight at once (default 256). */
  readonly bufferPoolSize?: number;
  /** Size of each pool buffer: the builder's mtuBytes (default 1400). */
  readonly maxMessageBytes?: number;
  /** SO_SNDBUF in bytes; the OS default when absent. */
  readonly socketSendBufferBytes?: number;
}

export type UdpTransportState = 'connecting' | 'open' | 'failed' | 'closed';

export class UdpTransport implements MessageTransport {
  readonly stats: TransportStats = emptyTransportStats();
  /** The collector as configured, for logs. */
  readonly collector: string;
  private stateNow: UdpTransportState = 'connecting';
  private failure: AgentError | null = null;
  private socket: Socket | null = null;
  private readonly ready: Promise<void>;
  private readonly pool: Buffer[];
  private readonly sentCallbacks: Array<(error: Error | null) => void>;
  private readonly freeSlots: Int32Array;
  private freeCount: number;
  /** Slots filled while connecting, in order, with their lengths. */
  private readonly waitingSlots: Int32Array;
  private readonly waitingLengths: Int32Array;
  private waitingCount = 0;
  private inFlight = 0;
  private lastSendError: string | null = null;
  private lastSendErrorAtMs = Number.NEGATIVE_INFINITY;
  private drainWaiters: Array<() => void> = [];

  /** Parses the address now (throws TAPFLOW_E_EXPORT_COLLECTOR_ADDRESS); connects in the background. */
  constructor(collector: string | CollectorAddress, options: UdpTransportOptions = {}) {
    const address = typeof collector === 'string' ? parseCollectorAddress(collector) : collector;
    const poolSize = options.bufferPoolSize ?? UDP_BUFFER_POOL_SIZE;
    const bufferBytes = Math.min(options.maxMessageBytes ?? 1_400, MAX_MESSAGE_BYTES);
    this.collector = typeof collector === 'string' ? collector : formatCollectorAddress(address);
    this.pool = Array.from({ length: poolSize }, () => Buffer.alloc(bufferBytes));
    this.freeSlots = Int32Array.from({ length: poolSize }, (_, slot) => slot);
    this.freeCount = poolSize;
    this.waitingSlots = new Int32Array(poolSize);
    this.waitingLengths = new Int32Array(poolSize);
    this.sentCallbacks = this.pool.map((_, slot) => (error: Error | null) => this.onSent(slot, error));
    this.ready = this.connect(address.host, address.port, address.family, options.socketSendBufferBytes);
  }

  /** The latest reason messages were lost (failure to resolve or open, or a send error). */
  get problem(): string | null {
    if (this.failure !== null) return this.failure.cause instanceof Error ? `${this.failure.message}: ${this.failure.cause.message}` : this.failure.message;
    return this.lastSendError;
  }

  /**
   * Open and no send error for a while. UDP only learns of a dead collector through ICMP port
   * unreachable (reported as ECONNREFUSED on a later send); a silent black hole looks healthy.
   */
  get healthy(): boolean {
    return this.stateNow === 'open' && Date.now() - this.lastSendErrorAtMs > UDP_UNHEALTHY_AFTER_ERROR_MS;
  }

  get backlogged(): boolean {
    return this.inFlight * 2 > this.pool.length;
  }

  get state(): UdpTransportState {
    return this.stateNow;
  }

  /** Resolves once connected; rejects with the typed error if resolving or connecting failed. */
  whenReady(): Promise<void> {
    return this.ready.then(() => {
      if (this.failure !== null) throw this.failure;
    });
  }

  send(message: Uint8Array, length: number, records: number): void {
    if (this.stateNow === 'failed' || this.stateNow === 'closed' || this.freeCount === 0 || length > (this.pool[0]?.length ?? 0)) {
      this.stats.dropped_total++;
      this.stats.dropped_records_total += records;
      return;
    }
    const slot = this.freeSlots[--this.freeCount] ?? 0;
    (this.pool[slot] as Buffer).set(length === message.length ? message : message.subarray(0, length));
    this.inFlight++;
    this.stats.messages_total++;
    this.stats.octets_total += length;
    if (this.stateNow === 'connecting') {
      this.waitingSlots[this.waitingCount] = slot;
      this.waitingLengths[this.waitingCount++] = length;
    } else {
      this.transmit(slot, length);
    }
  }

  whenSettled(): Promise<void> {
    return this.ready;
  }

  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.stateNow === 'closed') return;
    await this.ready;
    await this.drain();
    this.stateNow = 'closed';
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private transmit(slot: number, length: number): void {
    try {
      this.socket?.send(this.pool[slot] as Buffer, 0, length, this.sentCallbacks[slot]);
    } catch (error) {
      // Synchronous failure (socket closed underneath us): release the slot, count, move on.
      this.onSent(slot, error as Error);
    }
  }

  private onSent(slot: number, error: Error | null | undefined): void {
    if (error !== null && error !== undefined) {
      this.stats.errors_total++;
      this.lastSendError = error.message;
      this.lastSendErrorAtMs = Date.now();
    }
    this.freeSlots[this.freeCount++] = slot;
    this.inFlight--;
    if (this.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async connect(host: string, port: number, family: 0 | 4 | 6, sendBufferBytes: number | undefined): Promise<void> {
    let ip = host;
    let ipFamily = family;
    try {
      if (ipFamily === 0) {
        const resolved = await lookup(host);
        ip = resolved.address;
        ipFamily = resolved.family === 6 ? 6 : 4;
      }
    } catch (cause) {
      return this.fail(new AgentError('TAPFLOW_E_EXPORT_COLLECTOR_RESOLVE', `cannot resolve collector ${this.collector}`, { cause }));
    }
    const socket = createSocket(ipFamily === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, ip, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      if (sendBufferBytes !== undefined) socket.setSendBufferSize(sendBufferBytes);
    } catch (cause) {
      socket.close();
      return this.fail(new AgentError('TAPFLOW_E_EXPORT_UDP_OPEN', `cannot open UDP socket to collector ${this.collector}`, { cause }));
    }
    // Asynchronous socket errors (ICMP unreachable on some platforms) arrive here: count, never crash.
    socket.on('error', (error) => {
      this.stats.errors_total++;
      this.lastSendError = error.message;
      this.lastSendErrorAtMs = Date.now();
    });
    this.socket = socket;
    if (this.stateNow === 'connecting') this.stateNow = 'open';
    this.releaseWaiting();
  }

  private fail(error: AgentError): void {
    this.failure = error;
    this.stateNow = 'failed';
    this.releaseWaiting();
  }

  /** Send (or, after a failure, count as errors) the messages that waited for the connection. */
  private releaseWaiting(): void {
    const count = this.waitingCount;
    this.waitingCount = 0;
    for (let i = 0; i < count; i++) {
      const slot = this.waitingSlots[i] ?? 0;
      if (this.socket !== null) this.transmit(slot, this.waitingLengths[i] ?? 0);
      else this.onSent(slot, this.failure);
    }
  }
}

/** Create, wait until connected; throws TAPFLOW_E_EXPORT_COLLECTOR_* / TAPFLOW_E_EXPORT_UDP_OPEN. */
export async function openUdpTransport(collector: string, options: UdpTransportOptions = {}): Promise<UdpTransport> {
  const transport = new UdpTransport(collector, options);
  await transport.whenReady();
  return transport;
}
