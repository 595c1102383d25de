/**
 * IPFIX over TCP (RFC 7011 §10.4) or TLS over TCP (§11.1) to one collector, with reconnects.
 *
 * send() copies each message into a preallocated PendingMessageRing (never grows; when it is full
 * the NEW message is dropped and counted with its records). Messages are written to the socket
 * straight from the ring and leave it only when socket.write's callback reports success, i.e.
 * when Node has handed the bytes to the kernel. On a disconnect every message still in the ring
 * (never written, or written without a successful callback) is written again on the next
 * connection. Limit: a successful callback only means "in the kernel's send buffer"; TCP cannot
 * tell whether the collector read it, so what sat in the send buffer when the connection broke is
 * lost silently (up to the socket send buffer, a few hundred KiB). A callback that succeeds after
 * the socket closed is ignored, so that message may arrive twice. close() counts whatever is
 * still in the ring as dropped, even messages that may have reached the kernel just before.
 * TLS 1.3: a server that rejects our client certificate says so one round trip after the client
 * considers the handshake done; messages written in between are lost the same silent way.
 *
 * Templates on every connection (RFC 7011 §8.1: templates are per transport session): the builder
 * puts no templates in TCP messages; right before the first message written on each connection,
 * the transport writes `preamble(seq)`, a templates-only message for that message's sequence
 * number (header bytes 8..11). Numbering stays continuous across reconnects, and messages dropped
 * in between show as a sequence gap equal to the records dropped.
 *
 * Reconnects: exponential backoff (ReconnectBackoff), reset after a connection that stayed up for
 * stableAfterMs. Errors are counted (one per failed attempt or broken connection) and kept in
 * `problem`; send() never throws. drain() resolves when the ring is empty or the transport is in
 * backoff (a replay must not hang on a dead collector; it then fills the ring and drops, counted);
 * while connecting it waits, at most connectTimeoutMs.
 * Inspiration: the tcp-exporter plan in /work/shared/style.md §8, MQTT.js reconnect handling.
 */
import { lookup } from 'node:dns/promises';
import type { Socket } from 'node:net';
import { formatCollectorAddress, parseCollectorAddress, type CollectorAddress } from './collector-address.js';
import { emptyTransportStats, type MessageTransport, type TransportStats } from './message-transport.js';
import { PendingMessageRing } from './pending-message-ring.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { describeSocketError, openStreamSocket, type StreamTlsOptions } from './stream-socket.js';
import * as D from '../config/defaults.js';

export type { StreamTlsOptions } from './stream-socket.js';

export const STREAM_CLOSE_TIMEOUT_MS = 5_000;
export const STREAM_STABLE_AFTER_MS = 5_000;
/** Pending message slots per pending byte: room for 128-byte messages on average. */
const BYTES_PER_MESSAGE_SLOT = 128;
const KEEPALIVE_DELAY_MS = 10_000;
/** How long close() gives a graceful end (FIN / TLS close_notify) before destroying the socket. */
const END_GRACE_MS = 1_000;
const IPFIX_HEADER_BYTES = 16;

export interface StreamTransportOptions {
  /** A templates-only IPFIX message carrying `sequenceNumber`, written first on every connection. */
  readonly preamble: (sequenceNumber: number) => Uint8Array;
  /** TLS with certificate verification (always on); null or absent: plain TCP. */
  readonly tls?: StreamTlsOptions | null;
  /** Size of the pending-message ring, allocated once (default 4 MiB). */
  readonly pendingBytes?: number;
  /** Most messages held at once (default pendingBytes / 128). */
  readonly pendingMessages?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Name resolution + TCP connect + TLS handshake (default 5000). */
  readonly connectTimeoutMs?: number;
  /** How long close() waits for the ring to empty (default 5000). */
  readonly closeTimeoutMs?: number;
  /** A connection that stayed up this long resets the backoff to reconnectMinMs (default 5000). */
  readonly stableAfterMs?: number;
  /** Jitter source in [0, 1) (tests). */
  readonly random?: () => number;
}

export interface StreamTransportStats extends TransportStats {
  /** Connections established (TLS: handshake done). */
  connections_total: number;
  /** Connections established after the first one. */
  reconnects_total: number;
  /** Messages written again on a new connection because the previous one broke before taking them. */
  resent_total: number;
}

/** 'backoff': disconnected, waiting to retry. */
export type StreamTransportState = 'connecting' | 'open' | 'backoff' | 'closed';


export class StreamTransport implements MessageTransport {
  readonly stats: StreamTransportStats = { ...emptyTransportStats(), connections_total: 0, reconnects_total: 0, resent_total: 0 };
  /** The collector as configured, for logs. */
  readonly collector: string;
  private readonly address: CollectorAddress;
  private readonly tls: StreamTlsOptions | null;
  private readonly preamble: (sequenceNumber: number) => Uint8Array;
  private readonly ring: PendingMessageRing;
  private readonly backoff: ReconnectBackoff;
  private readonly connectTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly stableAfterMs: number;
  private stateNow: StreamTransportState = 'connecting';
  private lastProblem: string | null = null;
  private socket: Socket | null = null;
  /** Bumped per connection attempt; a stale name lookup checks it. */
  private attempt = 0;
  private connectTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryAtMs = 0;
  private lastRetryDelayMs = 0;
  /** Per connection: */
  private tcpConnected = false;
  private connectedAtMs = 0;
  private connectionError: string | null = null;
  private preambleDue = false;
  /** A write callback failed: later successes on this socket are not trusted to match the oldest message. */
  private writeFailed = false;
  /** The socket reported an error or end (or a write failed): write nothing more on it. */
  private socketBroken = false;
  private socketNeedsDrain = false;
  /** Ring index of the next message to write on the current connection. */
  private nextWrite = 0;
  /** One past the highest ring index ever written (to count resends). */
  private writtenEnd = 0;
  private readonly onWrittenBound: (error?: Error | null) => void;
  private closing: Promise<void> | null = null;
  /** Resolved on any progress: ring emptied, state changed. */
  private progressWaiters: Array<() => void> = [];

  /** Parses the address now (throws TAPFLOW_E_EXPORT_COLLECTOR_ADDRESS); connects in the background. */
  constructor(collector: string | CollectorAddress, options: StreamTransportOptions) {
    this.address = typeof collector === 'string' ? parseCollectorAddress(collector) : collector;
    this.collector = typeof collector === 'string' ? collector : formatCollectorAddress(collector);
    this.tls = options.tls ?? null;
    this.preamble = options.preamble;
    const pendingBytes = Math.max(IPFIX_HEADER_BYTES, Math.floor(options.pendingBytes ?? D.STREAM_PENDING_BYTES));
    const pendingMessages = Math.max(2, Math.floor(options.pendingMessages ?? Math.max(64, pendingBytes / BYTES_PER_MESSAGE_SLOT)));
    this.ring = new PendingMessageRing(pendingBytes, pendingMessages);
    this.backoff = new ReconnectBackoff(options.reconnectMinMs ?? D.RECONNECT_MIN_MS, options.reconnectMaxMs ?? D.RECONNECT_MAX_MS, options.random);
    this.connectTimeoutMs = options.connectTimeoutMs ?? D.CONNECT_TIMEOUT_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? STREAM_CLOSE_TIMEOUT_MS;
    this.stableAfterMs = options.stableAfterMs ?? STREAM_STABLE_AFTER_MS;
    this.onWrittenBound = (error) => this.onWritten(error);
    void this.connect();
  }

  get state(): StreamTransportState {
    return this.stateNow;
  }

  /** The latest reason messages were or may be lost (connect/TLS error, full ring); null if none yet. */
  get problem(): string | null {
    return this.lastProblem;
  }

  /** Connected (TLS: handshake done); for failover. */
  get healthy(): boolean {
    return this.stateNow === 'open';
  }

  /** More than half the pending ring is taken. */
  get backlogged(): boolean {
    return this.ring.moreThanHalfFull;
  }

  /** Messages in the ring (not yet taken by the kernel). */
  get pendingMessages(): number {
    return this.ring.count;
  }

  /** The delay chosen before the latest reconnect attempt (0 before any). */
  get retryDelayMs(): number {
    return this.lastRetryDelayMs;
  }

  send(message: Uint8Array, length: number, records: number): void {
    if (this.stateNow === 'closed' || !this.ring.push(message, length, records)) {
      this.stats.dropped_total++;
      this.stats.dropped_records_total += records;
      if (this.stateNow === 'open') this.lastProblem = `pending buffer full (${this.ring.capacityBytes} bytes): collector ${this.collector} reads too slowly`;
      return;
    }
    this.stats.messages_total++;
    this.stats.octets_total += length;
    if (this.stateNow === 'open') this.writeMore();
  }

  /** Resolves once the current connection attempt has succeeded or failed (at most connectTimeoutMs). */
  async whenSettled(): Promise<void> {
    while (this.stateNow === 'connecting') await this.nextProgress(-1);
  }

  /** Resolves when the ring is empty, or the transport is disconnected (backoff) or closed. */
  async drain(): Promise<void> {
    while (this.ring.count > 0 && (this.stateNow === 'open' || this.stateNow === 'connecting')) await this.nextProgress(-1);
  }

  /**
   * Waits up to closeTimeoutMs for the ring to empty (reconnecting meanwhile if a retry is due
   * within that time), then releases the socket; what is left is counted as dropped.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const deadlineMs = Date.now() + this.closeTimeoutMs;
    while (this.ring.count > 0 && Date.now() < deadlineMs && this.canFlushBy(deadlineMs)) await this.nextProgress(deadlineMs - Date.now());
    const wasOpen = this.stateNow === 'open';
    this.stateNow = 'closed';
    this.clearTimers();
    this.stats.dropped_total += this.ring.count;
    this.stats.dropped_records_total += this.ring.recordsPending;
    const socket = this.socket;
    const graceful = this.ring.count === 0 && wasOpen && !this.writeFailed;
    this.ring.clear();
    this.notifyProgress();
    if (socket === null) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (graceful) {
      socket.end();
      const timer = setTimeout(() => socket.destroy(), Math.max(0, Math.min(END_GRACE_MS, deadlineMs - Date.now())));
      await closed;
      clearTimeout(timer);
    } else {
      socket.destroy();
      await closed;
    }
  }

  private canFlushBy(deadlineMs: number): boolean {
    return this.stateNow !== 'backoff' || this.retryAtMs < deadlineMs;
  }

  private async connect(): Promise<void> {
    const attempt = ++this.attempt;
    this.stateNow = 'connecting';
    this.tcpConnected = false;
    this.connectionError = null;
    this.notifyProgress();
    this.connectTimer = setTimeout(() => this.onConnectTimeout(attempt), this.connectTimeoutMs);
    let ip = this.address.host;
    let family = this.address.family;
    if (family === 0) {
      try {
        const resolved = await lookup(this.address.host);
        ip = resolved.address;
        family = resolved.family === 6 ? 6 : 4;
      } catch (cause) {
        if (attempt === this.attempt && this.stateNow === 'connecting') {
          this.connectionFailed(`cannot resolve collector ${this.collector}: ${(cause as Error).message}`);
        }
        return;
      }
      if (attempt !== this.attempt || this.stateNow !== 'connecting') return;
    }
    const tls = this.tls;
    const socket = openStreamSocket(ip, family, this.address.port, this.address.family === 0 ? this.address.host : null, tls);
    this.socket = socket;
    socket.once('connect', () => {
      if (socket === this.socket) this.tcpConnected = true;
    });
    socket.once(tls === null ? 'connect' : 'secureConnect', () => this.onOpen(socket));
    socket.on('error', (error: Error) => {
      if (socket !== this.socket) return;
      this.socketBroken = true;
      if (this.connectionError === null) this.connectionError = describeSocketError(error, tls !== null, this.tcpConnected, this.stateNow === 'open');
    });
    socket.on('end', () => {
      if (socket === this.socket) {
        this.socketBroken = true;
        if (this.connectionError === null) this.connectionError = `collector ${this.collector} closed the connection`;
      }
      socket.destroy();
    });
    socket.on('close', () => this.onClose(socket));
    socket.on('drain', () => {
      this.socketNeedsDrain = false;
      this.writeMore();
    });
    // A collector sends nothing; discard whatever arrives so the receive buffer never fills.
    socket.resume();
  }

  private onConnectTimeout(attempt: number): void {
    this.connectTimer = null;
    if (attempt !== this.attempt || this.stateNow !== 'connecting') return;
    const reason = `connect to ${this.collector} timed out after ${this.connectTimeoutMs} ms`;
    if (this.socket === null) {
      this.connectionFailed(reason); // still resolving the name
    } else {
      this.connectionError = reason;
      this.socket.destroy();
    }
  }

  private onOpen(socket: Socket): void {
    if (socket !== this.socket || this.stateNow !== 'connecting') return;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.stateNow = 'open';
    this.tcpConnected = true;
    this.connectedAtMs = Date.now();
    this.stats.connections_total++;
    if (this.stats.connections_total > 1) this.stats.reconnects_total++;
    this.preambleDue = true;
    this.writeFailed = false;
    this.socketBroken = false;
    this.socketNeedsDrain = false;
    this.nextWrite = this.ring.first; // everything not yet taken by the kernel, oldest first
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    this.notifyProgress();
    this.writeMore();
  }

  /** Write the preamble (once per connection) and every unwritten message the socket will take. */
  private writeMore(): void {
    const socket = this.socket;
    if (socket === null || this.stateNow !== 'open' || this.socketBroken) return;
    while (this.nextWrite < this.ring.end && !this.socketNeedsDrain) {
      const index = this.nextWrite;
      if (this.preambleDue && !this.writePreamble(socket, index)) return;
      if (index < this.writtenEnd) this.stats.resent_total++;
      this.nextWrite = index + 1;
      if (this.nextWrite > this.writtenEnd) this.writtenEnd = this.nextWrite;
      if (!socket.write(this.ring.view(index), this.onWrittenBound)) this.socketNeedsDrain = true;
    }
  }

  private writePreamble(socket: Socket, index: number): boolean {
    this.preambleDue = false;
    const offset = this.ring.offsetOf(index);
    const sequenceNumber = this.ring.lengthOf(index) >= IPFIX_HEADER_BYTES ? this.ring.bytes.readUInt32BE(offset + 8) : 0;
    let templates: Uint8Array;
    try {
      templates = this.preamble(sequenceNumber);
    } catch (error) {
      this.connectionError = `cannot build the template preamble: ${(error as Error).message}`;
      socket.destroy();
      return false;
    }
    // Copied: the builder may reuse its buffer before the socket reads it.
    if (!socket.write(Buffer.from(templates))) this.socketNeedsDrain = true;
    return true;
  }

  /** socket.write callback: one per message, in order, on the current socket only. */
  private onWritten(error: Error | null | undefined): void {
    if (error !== null && error !== undefined) {
      this.writeFailed = true;
      this.socketBroken = true; // this message and later ones stay in the ring for the next connection
      return;
    }
    // Callbacks run before the socket's 'close', so the oldest message is the one just taken.
    if (this.writeFailed || this.socket === null || this.nextWrite <= this.ring.first) return;
    this.ring.shift();
    if (this.ring.count === 0) this.notifyProgress();
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.stateNow === 'closed') {
      this.notifyProgress();
      return;
    }
    const wasOpen = this.stateNow === 'open';
    if (wasOpen && Date.now() - this.connectedAtMs >= this.stableAfterMs) this.backoff.reset();
    const reason = this.connectionError ?? (wasOpen ? `connection to ${this.collector} closed` : `connection to ${this.collector} closed before it opened`);
    this.connectionFailed(reason);
  }

  private connectionFailed(reason: string): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.stats.errors_total++;
    this.lastProblem = reason;
    this.stateNow = 'backoff';
    const delayMs = this.backoff.nextDelayMs();
    this.lastRetryDelayMs = delayMs;
    this.retryAtMs = Date.now() + delayMs;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delayMs);
    this.notifyProgress();
  }

  private clearTimers(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.connectTimer = null;
    this.retryTimer = null;
  }

  /** Resolves on the next progress notification, or after timeoutMs (negative: no timeout). */
  private nextProgress(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (timeoutMs < 0) {
        this.progressWaiters.push(resolve);
        return;
      }
      const timer = setTimeout(resolve, timeoutMs);
      this.progressWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private notifyProgress(): void {
    if (this.progressWaiters.length === 0) return;
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
