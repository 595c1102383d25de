import { ByteSource } from './byte-source.js';
import { CaptureAnomalyCounters } from './capture-anomalies.js';
import { CaptureErrorCode, CaptureFileError } from './capture-file-error.js';
import { MAX_BLOCK_BYTES, type CaptureFormatContext, type CaptureFormatParser, type CaptureInterface } from './capture-format.js';
import { CapturedPacket, type PacketHandler } from './captured-packet.js';
import { PcapFormat, isPcapMagic } from './pcap-format.js';
import { BLOCK_SHB, PcapngFormat } from './pcapng-format.js';

export { CaptureErrorCode, CaptureFileError } from './capture-file-error.js';
export type { CaptureInterface } from './capture-format.js';

/** Initial read buffer: holds thousands of typical packets, so one read feeds one chunk. */
export const DEFAULT_READ_BUFFER_BYTES = 1024 * 1024;
const MIN_READ_BUFFER_BYTES = 64;
const MAGIC_BYTES = 4;

export interface CaptureReadOptions {
  /** awaited after each chunk's packets are delivered (backpressure and ticks for the caller) */
  afterChunk?: () => void | Promise<void>;
  /** called with the bytes consumed so far, at most once per chunk */
  onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  /** stop early, cleanly: the result comes back with `aborted: true` */
  signal?: AbortSignal;
  /**
   * Asked after each packet: true pauses delivery until `afterChunk` has resolved, so a consumer
   * whose output backs up (a burst of flow exports) can drain before more packets arrive.
   */
  shouldPause?: () => boolean;
  /** Initial read-buffer size in bytes (default 1 MiB). It grows only when one record does not fit, never past 16 MiB. */
  readBufferBytes?: number;
}

export interface CaptureReadResult {
  format: 'pcap' | 'pcapng';
  packets: number;
  bytesRead: number;
  /** anomalies that did not stop reading, by snake_case name (see capture-anomalies.ts) */
  anomalies: Record<string, number>;
  /** pcapng IDBs seen (all sections, at most 1024 listed); pcap: one */
  interfaces: CaptureInterface[];
  /** Largest size the read buffer reached: the reader's memory bound for this file. */
  readBufferBytes: number;
  /** True when `signal` stopped reading before the end of the file. */
  aborted: boolean;
}

/**
 * Reads a pcap or pcapng file (or stdin for '-') as a stream with bounded memory, calling
 * `onPacket` synchronously for each packet with ONE reused CapturedPacket whose `data` is the read
 * buffer itself. Throws CaptureFileError (code TAPFLOW_E_CAPTURE_*) on an unreadable, truncated or
 * corrupt file, after every packet before the fault was delivered (`packetsBefore`).
 */
export async function readCaptureFile(path: string, onPacket: PacketHandler, options: CaptureReadOptions = {}): Promise<CaptureReadResult> {
  const initialBytes = options.readBufferBytes ?? DEFAULT_READ_BUFFER_BYTES;
  if (!Number.isInteger(initialBytes) || initialBytes < MIN_READ_BUFFER_BYTES || initialBytes > MAX_BLOCK_BYTES) {
    throw new RangeError(`readBufferBytes must be an integer from ${MIN_READ_BUFFER_BYTES} to ${MAX_BLOCK_BYTES}, got ${initialBytes}`);
  }
  const source = await ByteSource.open(path, initialBytes, MAX_BLOCK_BYTES);
  try {
    const anomalies = new CaptureAnomalyCounters();
    const context: CaptureFormatContext = {
      path, packet: new CapturedPacket(), onPacket, anomalies, interfaces: [], shouldPause: options.shouldPause ?? never, paused: false,
    };
    const parser = await detectFormat(source, context);
    const aborted = await runRecordLoop(source, parser, context, options);
    return {
      format: parser.format,
      packets: parser.packets,
      bytesRead: source.consumedBytes,
      anomalies: anomalies.toRecord(),
      interfaces: context.interfaces,
      readBufferBytes: source.peakCapacityBytes,
      aborted,
    };
  } finally {
    await source.close();
  }
}

const never = (): boolean => false;

/**
 * One chunk per read: parse every complete record (or up to a pause), yield to the caller, read
 * more. Returns true if aborted.
 */
async function runRecordLoop(source: ByteSource, parser: CaptureFormatParser, context: CaptureFormatContext, options: CaptureReadOptions): Promise<boolean> {
  const { afterChunk, onProgress, signal } = options;
  for (;;) {
    context.paused = false;
    source.start = parser.parse(source.buffer, source.view, source.start, source.end, source.bufferFileOffset);
    if (afterChunk) await afterChunk();
    onProgress?.(source.consumedBytes, source.totalBytes);
    if (signal?.aborted) return true;
    if (context.paused) continue; // complete records may remain in the buffer: deliver them first
    if (source.eof) {
      if (source.available === 0) return false;
      const offset = source.consumedBytes;
      throw new CaptureFileError(CaptureErrorCode.TRUNCATED, source.path, offset, parser.describeTruncation(offset, source.available), parser.packets);
    }
    await source.readMore(parser.neededBytes, parser.packets, signal);
    if (signal?.aborted) return true;
  }
}

async function detectFormat(source: ByteSource, context: CaptureFormatContext): Promise<CaptureFormatParser> {
  while (source.available < MAGIC_BYTES && !source.eof) await source.readMore(MAGIC_BYTES, 0);
  const { path } = context;
  if (source.available === 0) throw new CaptureFileError(CaptureErrorCode.NOT_A_CAPTURE, path, 0, 'not a capture file: the file is empty (0 bytes)', 0);
  if (source.available < MAGIC_BYTES) {
    throw new CaptureFileError(CaptureErrorCode.NOT_A_CAPTURE, path, 0, `not a capture file: only ${source.available} bytes, too short for a pcap or pcapng header`, 0);
  }
  const magic = source.view.getUint32(source.start, false);
  if (isPcapMagic(magic)) return new PcapFormat(context);
  if (magic === BLOCK_SHB) return new PcapngFormat(context);
  const hex = magic.toString(16).padStart(8, '0');
  throw new CaptureFileError(CaptureErrorCode.NOT_A_CAPTURE, path, 0, `not a capture file: first 4 bytes ${hex} are neither a pcap nor a pcapng magic`, 0);
}
