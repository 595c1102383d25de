import { fstat as fstatCallback, read as readCallback, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureErrorCode, CaptureFileError } from './capture-file-error.js';

const readFd = promisify(readCallback);
const fstatFd = promisify(fstatCallback);

/** Standard input is read when the path is '-'. */
export const STDIN_PATH = '-';
const STDIN_FD = 0;
/** A non-blocking stdin (set so by a parent process) answers EAGAIN while the pipe is empty: poll. */
const STDIN_RETRY_MS = 5;

/**
 * Sequential reads of a file or stdin into ONE buffer that grows only up to a hard limit, so memory
 * stays bounded whatever the input size. Unconsumed bytes are buffer[start, end); before each read
 * they are moved to the front (they are at most one partial record, so the copy is small).
 *
 * Idea from undici's wasm parser buffer (grown on demand) and mplex's capped decoder backlog.
 */
export class ByteSource {
  buffer: Uint8Array;
  /** DataView over `buffer`; replaced together with it. */
  view: DataView;
  start = 0;
  end = 0;
  /** File offset of buffer[0]. */
  bufferFileOffset = 0;
  eof = false;
  /** Size of a regular file, null for pipes and terminals. */
  readonly totalBytes: number | null;
  /** Largest capacity the buffer reached (equals the initial size unless a record needed more). */
  peakCapacityBytes: number;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle | null,
    totalBytes: number | null,
    initialBytes: number,
    private readonly maxBytes: number,
  ) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
    this.totalBytes = totalBytes;
    this.peakCapacityBytes = initialBytes;
  }

  static async open(path: string, initialBytes: number, maxBytes: number): Promise<ByteSource> {
    if (path === STDIN_PATH) {
      // `< file` makes stdin a regular file whose size is known; a pipe or terminal has none.
      const stats = await fstatFd(STDIN_FD).catch(() => null);
      return new ByteSource(path, null, stats?.isFile() === true ? stats.size : null, initialBytes, maxBytes);
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
    return new ByteSource(path, handle, stats.isFile() ? stats.size : null, initialBytes, maxBytes);
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
   * Makes room for `neededBytes` unconsumed bytes (growing the buffer up to the limit; callers
   * reject bigger records first), then reads once into the free space. Sets `eof` on end of input.
   */
  async readMore(neededBytes: number, packetsBefore: number): Promise<void> {
    if (neededBytes > this.buffer.length) this.grow(Math.min(this.maxBytes, Math.max(neededBytes, this.buffer.length * 2)));
    else if (this.start > 0) this.compact();
    const free = this.buffer.length - this.end;
    if (free === 0) return;
    let bytesRead: number;
    try {
      bytesRead = await this.readInto(this.end, free);
    } catch (error) {
      throw new CaptureFileError(
        CaptureErrorCode.READ,
        this.path,
        this.bufferFileOffset + this.end,
        `read failed at byte ${this.bufferFileOffset + this.end}: ${(error as Error).message}`,
        packetsBefore,
        { cause: error },
      );
    }
    if (bytesRead === 0) this.eof = true;
    this.end += bytesRead;
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }

  private async readInto(offset: number, length: number): Promise<number> {
    if (this.handle !== null) return (await this.handle.read(this.buffer, offset, length, null)).bytesRead;
    for (;;) {
      try {
        return (await readFd(STDIN_FD, this.buffer, offset, length, null)).bytesRead;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        await sleep(STDIN_RETRY_MS);
      }
    }
  }

  private compact(): void {
    this.buffer.copyWithin(0, this.start, this.end);
    this.bufferFileOffset += this.start;
    this.end -= this.start;
    this.start = 0;
  }

  private grow(capacityBytes: number): void {
    const next = new Uint8Array(capacityBytes);
    next.set(this.buffer.subarray(this.start, this.end));
    this.bufferFileOffset += this.start;
    this.end -= this.start;
    this.start = 0;
    this.buffer = next;
    this.view = new DataView(next.buffer);
    if (capacityBytes > this.peakCapacityBytes) this.peakCapacityBytes = capacityBytes;
  }
}
