/**
 * Bounds the work one fuzz case may do, by what it did rather than by time (a slow machine must not
 * turn into a "hang"). Each round of the reader's loop delivers a packet, reads at least one more
 * byte of the file, or ends; so a file of N bytes allows at most N / 16 packets (16 bytes: the
 * smallest pcap record and pcapng packet block) and N + N / 16 + a few rounds. Breaking a bound
 * throws FuzzHang from inside the reader's callbacks, which ends the case. A loop that never calls
 * back is caught by the campaign's wall-clock watchdog instead (fuzz-worker-pool.ts).
 */
export class FuzzHang extends Error {
  override readonly name = 'FuzzHang';
}

const MIN_RECORD_BYTES = 16;
/** Rounds for the format probe, the final empty read and the end. */
const SPARE_ROUNDS = 8;

export class WorkWatchdog {
  private packets = 0;
  private chunks = 0;
  private readonly maxPackets: number;
  private readonly maxChunks: number;

  constructor(private readonly fileBytes: number) {
    this.maxPackets = Math.floor(fileBytes / MIN_RECORD_BYTES);
    this.maxChunks = fileBytes + this.maxPackets + SPARE_ROUNDS;
  }

  packet(): void {
    if (++this.packets > this.maxPackets) throw new FuzzHang(`${this.packets} packets delivered from a ${this.fileBytes}-byte file`);
  }

  /** After each round of the read loop. */
  chunk(): void {
    if (++this.chunks > this.maxChunks) throw new FuzzHang(`${this.chunks} read-loop rounds over a ${this.fileBytes}-byte file`);
  }
}
