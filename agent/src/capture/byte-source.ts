import { fstat as fstatCallback, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CaptureErrorCode, CaptureFileError } from './capture-file-error.js';
import { StdinReader } from './stdin-reader.js';

const fstatFd = promisify(fstatCallback);

/** Standard input is read when the path is '-'. */
export const STDIN_PATH = '-';
const STDIN_FD = 0;

/**
 * Sequential reads of a file or stdin with bounded memory whatever the input size, overlapped with
 * parsing: two buffers of the same capacity take turns. While the parser works through one, the
 * next read lands in the other, behind a reserved front quarter; when the parser needs more, the
 * unconsumed tail (at most one partial record) is copied into that reserve just before the new
 * bytes, and the buffers swap. Without the overlap, a replay sat idle for every read (~15 % of its
 * time). A record longer than the reserve still works: the buffer grows to hold it, up to the limit.
 *
 * Idea from undici's wasm parser buffer (grown on demand) and mplex's capped decoder backlog.
 */
export class ByteSource {
  /** The buffer the parser reads: unconsumed bytes are buffer[start, end). */
  buffer: Uint8Array;
  /** DataView over `buffer`; replaced together with it. */
  view: DataView;
  start: number;
  end: number;
  /** File offset of buffer[0] (negative while the reserve at the front precedes the first byte). */
  bufferFileOffset: number;
  eof = false;
  /** Size of a regular file, null for pipes and terminals. */
  readonly totalBytes: number | null;
  /** Largest capacity one buffer reached (equals the initial size unless a record needed more). */
  peakCapacityBytes: number;
  /** The other buffer of the pair, where the read in flight lands. */
  private spare: Uint8Array;
  /** Bytes kept free at the front of each buffer for the tail carried over from the other one. */
  private readonly reserveBytes: number;
  /** File offset where the read in flight (or the next read) starts. */
  private readOffset = 0;
  /** The read in flight into spare[reserveBytes, …): resolves to its byte count. */
  private pending: Promise<number> | null = null;
  /** A signal stopped reading while a read was in flight; that read is left to finish (or not). */
  private abandoned = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle | null,
    private readonly stdin: StdinReader | null,
    totalBytes: number | null,
    initialBytes: number,
    private readonly maxBytes: number,
  ) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
    this.spare = new Uint8Array(initialBytes);
    this.reserveBytes = initialBytes >>> 2;
    this.start = this.end = this.reserveBytes;
    this.bufferFileOffset = -this.reserveBytes;
    this.totalBytes = totalBytes;
    this.peakCapacityBytes = initialBytes;
  }

  static async open(path: string, initialBytes: number, maxBytes: number): Promise<ByteSource> {
    if (path === STDIN_PATH) {
      // `< file` makes stdin a regular file whose size is known; a pipe or terminal has none.
      const stats = await fstatFd(STDIN_FD).catch(() => null);
      return new ByteSource(path, null, new StdinReader(), stats?.isFile() === true ? stats.size : null, initialBytes, maxBytes);
    }
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new CaptureFileError(CaptureErrorCode.READ, path, 0, `cannot open: ${(error as Error).message}`, 0, { cause: error });
    }
    let stats: Stats;
    try {
      stats = await handle.stat();
    } catch (error) {
      await handle.close();
      throw new CaptureFileError(CaptureErrorCode.READ, path, 0, `cannot stat: ${(error as Error).message}`, 0, { cause: error });
    }
    return new ByteSource(path, handle, null, stats.isFile() ? stats.size : null, initialBytes, maxBytes);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** File offset of the first unconsumed byte. */
  get consumedBytes(): number {
    return this.bufferFileOffset + this.start;
  }

  get capacityBytes(): number {
    return this.buffer.length;
  }

  /**
   * Waits for the read in flight (starting one if none is), appends its bytes after the unconsumed
   * ones, and starts the next read so it overlaps the parsing of these. Callers call again until
   * `available` covers what they need (callers reject records over the limit first). Sets `eof` at
   * the end of input.
   */
  async readMore(neededBytes: number, packetsBefore: number, signal?: AbortSignal): Promise<void> {
    if (this.eof || this.abandoned) return;
    if (this.pending === null) this.startRead();
    const readStart = this.readOffset;
    let bytesRead: number;
    try {
      bytesRead = signal === undefined ? await this.pending! : await untilAborted(this.pending!, signal);
      if (bytesRead < 0) {
        // Stopped while a read waits (an idle stdin pipe can wait forever): leave it behind.
        this.abandoned = true;
        return;
      }
    } catch (error) {
      throw new CaptureFileError(CaptureErrorCode.READ, this.path, readStart, `read failed at byte ${readStart}: ${(error as Error).message}`, packetsBefore, { cause: error });
    } finally {
      this.pending = null;
    }
    if (bytesRead === 0) {
      this.eof = true;
      return;
    }
    this.readOffset = readStart + bytesRead;
    const arrived = this.spare.subarray(this.reserveBytes, this.reserveBytes + bytesRead);
    const tail = this.available;
    if (tail <= this.reserveBytes && neededBytes <= this.spare.length - this.reserveBytes + tail) {
      // The usual case: carry the partial record over into the reserve and swap buffers.
      const next = this.spare;
      next.set(this.buffer.subarray(this.start, this.end), this.reserveBytes - tail);
      this.spare = this.buffer;
      this.setBuffer(next);
      this.start = this.reserveBytes - tail;
      this.end = this.reserveBytes + bytesRead;
      this.bufferFileOffset = readStart - this.reserveBytes;
    } else {
      // A record longer than the reserve: gather it in this buffer, grown if it must be.
      const required = Math.max(tail + bytesRead, neededBytes);
      this.bufferFileOffset += this.start;
      if (required > this.buffer.length) {
        const grown = new Uint8Array(Math.min(this.maxBytes, Math.max(required, this.buffer.length * 2)));
        grown.set(this.buffer.subarray(this.start, this.end));
        this.setBuffer(grown);
        if (grown.length > this.peakCapacityBytes) this.peakCapacityBytes = grown.length;
      } else {
        this.buffer.copyWithin(0, this.start, this.end);
      }
      this.buffer.set(arrived, tail);
      this.start = 0;
      this.end = tail + bytesRead;
    }
    this.startRead();
  }

  async close(): Promise<void> {
    this.stdin?.close();
    // A read ahead of an idle stdin pipe never settles once the pipe is closed: leave it behind
    // (waiting for it hung a replay stopped by SIGTERM between two chunks).
    if (!this.abandoned && this.stdin === null) await this.pending?.catch(() => undefined);
    this.pending = null;
    await this.handle?.close();
  }

  private setBuffer(buffer: Uint8Array): void {
    this.buffer = buffer;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  /** Starts the next read into the spare buffer, behind its reserve. */
  private startRead(): void {
    const pending = this.readInto(this.spare, this.reserveBytes, this.spare.length - this.reserveBytes);
    pending.catch(() => undefined); // awaited (and reported) by the next readMore, or dropped by close()
    this.pending = pending;
  }

  private async readInto(target: Uint8Array, offset: number, length: number): Promise<number> {
    if (this.handle !== null) return (await this.handle.read(target, offset, length, null)).bytesRead;
    return this.stdin!.read(target, offset, length);
  }
}

/** The read's byte count, or -1 as soon as `signal` aborts (the read itself goes on). */
function untilAborted(read: Promise<number>, signal: AbortSignal): Promise<number> {
  if (signal.aborted) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(-1);
    signal.addEventListener('abort', onAbort, { once: true });
    read.then(
      (bytes) => {
        signal.removeEventListener('abort', onAbort);
        resolve(bytes);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
