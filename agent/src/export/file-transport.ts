/**
 * An IPFIX File (RFC 5655): the messages, back to back, nothing else. Messages are gathered in one
 * fixed 64 KiB buffer and written with fs.writeSync when it is full and at close, so a replay
 * makes few system calls and the file is complete when close() returns. The file is created or
 * truncated at open. Write failures are thrown as AgentError TAPFLOW_E_EXPORT_FILE: a file that
 * silently misses messages would be worse than a failed run.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { AgentError } from '../core/errors.js';
import { emptyTransportStats, type MessageTransport, type TransportStats } from './message-transport.js';

export const FILE_BUFFER_BYTES = 64 * 1024;

function fileError(path: string, what: string, cause: unknown): AgentError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AgentError('TAPFLOW_E_EXPORT_FILE', `cannot ${what} IPFIX file ${path}: ${reason}`, { cause });
}

export class FileTransport implements MessageTransport {
  readonly stats: TransportStats = emptyTransportStats();
  /** Writes are synchronous: nothing is ever in flight. */
  readonly backlogged = false;
  readonly healthy = true;
  /** A write failure throws instead (TAPFLOW_E_EXPORT_FILE). */
  readonly problem = null;
  readonly path: string;
  private fd: number;
  private readonly buffer = new Uint8Array(FILE_BUFFER_BYTES);
  private used = 0;

  /**
   * Create or truncate `path` (or, with `append`, add to it: a reloaded configuration's new
   * pipeline continues the file; IPFIX files are a sequence of whole messages, and the first new
   * one carries its templates). Throws TAPFLOW_E_EXPORT_FILE when it cannot be opened.
   */
  constructor(path: string, append = false) {
    this.path = path;
    try {
      this.fd = openSync(path, append ? 'a' : 'w');
    } catch (cause) {
      throw fileError(path, 'create', cause);
    }
  }

  send(message: Uint8Array, length: number, _records: number): void {
    if (this.fd < 0) throw new AgentError('TAPFLOW_E_EXPORT_FILE', `IPFIX file ${this.path} is already closed`);
    if (this.used + length > this.buffer.length) this.writeBuffered();
    if (length > this.buffer.length) {
      this.writeAll(message, length);
    } else {
      this.buffer.set(length === message.length ? message : message.subarray(0, length), this.used);
      this.used += length;
    }
    this.stats.messages_total++;
    this.stats.octets_total += length;
  }

  whenSettled(): Promise<void> {
    return Promise.resolve();
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  /** Write what is buffered and close the file; idempotent. Rejects with TAPFLOW_E_EXPORT_FILE. */
  close(): Promise<void> {
    if (this.fd < 0) return Promise.resolve();
    let failure: unknown = null;
    try {
      this.writeBuffered();
    } catch (error) {
      failure = error;
    }
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } catch (cause) {
      this.stats.errors_total++;
      failure ??= fileError(this.path, 'close', cause);
    }
    return failure === null ? Promise.resolve() : Promise.reject(failure);
  }

  private writeBuffered(): void {
    if (this.used === 0) return;
    const used = this.used;
    this.used = 0;
    this.writeAll(this.buffer, used);
  }

  private writeAll(bytes: Uint8Array, length: number): void {
    let written = 0;
    try {
      while (written < length) written += writeSync(this.fd, bytes, written, length - written);
    } catch (cause) {
      this.stats.errors_total++;
      throw fileError(this.path, 'write', cause);
    }
  }
}
