/**
 * Standard input read as a stream (an event-driven libuv pipe), holding at most one chunk: the
 * stream is paused while a chunk waits to be consumed, so memory stays bounded. A thread-pool
 * fs.read of fd 0 would be simpler, but a read blocked on an idle pipe cannot be cancelled, and
 * libuv joins its thread-pool threads at exit, so a SIGTERM could not stop the process.
 */
export class StdinReader {
  private chunk: Buffer | null = null;
  private chunkOffset = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly stream: NodeJS.ReadableStream & { destroy?: () => void } = process.stdin) {
    stream.on('data', (chunk: Buffer) => {
      this.chunk = chunk;
      this.chunkOffset = 0;
      stream.pause();
      this.notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('error', (error: Error) => {
      this.failure = error;
      this.notify();
    });
    stream.pause();
  }

  /** Copies up to `length` bytes into target[offset, …); 0 at end of input. */
  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    while (this.chunk === null) {
      if (this.failure !== null) throw this.failure;
      if (this.ended) return 0;
      const arrived = new Promise<void>((resolve) => (this.wake = resolve));
      this.stream.resume();
      await arrived;
    }
    const chunk = this.chunk;
    const bytes = Math.min(length, chunk.length - this.chunkOffset);
    target.set(chunk.subarray(this.chunkOffset, this.chunkOffset + bytes), offset);
    this.chunkOffset += bytes;
    if (this.chunkOffset === chunk.length) this.chunk = null;
    return bytes;
  }

  /** Stops reading and releases the pipe (a pending read stays pending). */
  close(): void {
    this.stream.pause();
    this.stream.destroy?.();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
