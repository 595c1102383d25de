/**
 * An IPFIX File (RFC 5655): the messages, back to back, nothing else. Messages are gathered in one
 * fixed 64 KiB buffer and written with fs.writeSync when it is full and at close, so a replay
 * makes few system calls and the file is complete when close() returns. The file is created or
 * truncated at open.
 *
 * A failed write (a full disk, an I/O error) never throws into the export path: the other
 * destinations and the meter must go on. The buffered messages are dropped and counted
 * (errors_total once per failure, dropped_total / dropped_records_total per message), `problem`
 * says why, and the file is cut back to its last whole message, so it stays a valid IPFIX file
 * that later writes (once there is room again) extend. Missing messages are therefore visible in
 * the counters, and `replay` exits 3 when any were lost.
 */
import { closeSync, ftruncateSync, fstatSync, openSync, writeSync } from 'node:fs';
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
  /** The latest write failure ("cannot write IPFIX file …: ENOSPC …"), until a write succeeds; null if none. */
  problem: string | null = null;
  readonly path: string;
  private fd: number;
  private readonly buffer = new Uint8Array(FILE_BUFFER_BYTES);
  private used = 0;
  /** Messages and their records in `buffer`, lost together if its write fails. */
  private bufferedMessages = 0;
  private bufferedRecords = 0;
  /** File length after the last successful write: where a failed write is cut back to. */
  private goodLength = 0;
  /** A FIFO or a device (/dev/full) has no positions and cannot be cut back. */
  private readonly regularFile: boolean = true;

  /**
   * Create or truncate `path` (or, with `append`, add to it: a reloaded configuration's new
   * pipeline continues the file; IPFIX files are a sequence of whole messages, and the first new
   * one carries its templates). Throws TAPFLOW_E_EXPORT_FILE when it cannot be opened.
   */
  constructor(path: string, append = false) {
    this.path = path;
    try {
      this.fd = openSync(path, append ? 'a' : 'w');
      const stat = fstatSync(this.fd);
      this.regularFile = stat.isFile();
      this.goodLength = append && this.regularFile ? stat.size : 0;
    } catch (cause) {
      throw fileError(path, 'create', cause);
    }
  }

  send(message: Uint8Array, length: number, records: number): void {
    if (this.fd < 0) throw new AgentError('TAPFLOW_E_EXPORT_FILE', `IPFIX file ${this.path} is already closed`);
    if (this.used + length > this.buffer.length) this.writeBuffered();
    this.stats.messages_total++;
    this.stats.octets_total += length;
    if (length > this.buffer.length) {
      this.writeOrDrop(message, length, 1, records);
    } else {
      this.buffer.set(length === message.length ? message : message.subarray(0, length), this.used);
      this.used += length;
      this.bufferedMessages++;
      this.bufferedRecords += records;
    }
  }

  whenSettled(): Promise<void> {
    return Promise.resolve();
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Write what is buffered and close the file; idempotent. A failed last write is counted like
   * any other (see the class comment); rejects with TAPFLOW_E_EXPORT_FILE only if close fails.
   */
  close(): Promise<void> {
    if (this.fd < 0) return Promise.resolve();
    this.writeBuffered();
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
    } catch (cause) {
      this.stats.errors_total++;
      return Promise.reject(fileError(this.path, 'close', cause));
    }
    return Promise.resolve();
  }

  private writeBuffered(): void {
    if (this.used === 0) return;
    const used = this.used;
    const messages = this.bufferedMessages;
    const records = this.bufferedRecords;
    this.used = 0;
    this.bufferedMessages = 0;
    this.bufferedRecords = 0;
    this.writeOrDrop(this.buffer, used, messages, records);
  }

  /** Writes bytes[0, length) whole, or drops and counts those messages and cuts the file back. */
  private writeOrDrop(bytes: Uint8Array, length: number, messages: number, records: number): void {
    let written = 0;
    try {
      // Explicit positions: after a cut-back the descriptor's own offset would leave a hole.
      while (written < length) written += writeSync(this.fd, bytes, written, length - written, this.regularFile ? this.goodLength + written : null);
      this.goodLength += length;
      this.problem = null;
    } catch (cause) {
      this.stats.errors_total++;
      this.stats.dropped_total += messages;
      this.stats.dropped_records_total += records;
      this.problem = fileError(this.path, 'write', cause).message;
      this.cutBack();
    }
  }

  /** Removes a partly written message, so the file stays whole messages. */
  private cutBack(): void {
    if (!this.regularFile) return;
    try {
      ftruncateSync(this.fd, this.goodLength);
    } catch {
      // Counted already; the next successful write starts at goodLength anyway.
    }
  }
}
