import type { CaptureAnomalyCounters } from './capture-anomalies.js';
import type { CapturedPacket, PacketHandler } from './captured-packet.js';

/** libpcap's and Wireshark's largest accepted captured length (MAXIMUM_SNAPLEN). */
export const MAX_PACKET_BYTES = 262_144;

/** Largest pcapng block accepted (libpcap's cap); larger blocks are rejected as corrupt. */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

/** One interface as reported in CaptureReadResult. */
export interface CaptureInterface {
  linkType: number;
  name?: string;
}

/** At most this many interfaces are listed in the result (a file may hold millions of sections). */
export const MAX_LISTED_INTERFACES = 1024;

/** What a format parser needs from the reader; built once per file. */
export interface CaptureFormatContext {
  path: string;
  packet: CapturedPacket;
  onPacket: PacketHandler;
  anomalies: CaptureAnomalyCounters;
  interfaces: CaptureInterface[];
  /** Asked after each packet; true makes `parse` return early so the caller can drain (backpressure). */
  shouldPause: () => boolean;
  /** Set by `parse` when it returned early because of shouldPause (records may remain in the buffer). */
  paused: boolean;
}

/**
 * A file format's record loop. `parse` delivers every complete record in buf[start, end)
 * synchronously and returns where it stopped; it throws CaptureFileError on a fatal problem, after
 * the packets before it were delivered.
 */
export interface CaptureFormatParser {
  readonly format: 'pcap' | 'pcapng';
  /** Packets delivered so far. */
  readonly packets: number;
  /** Bytes the record at the returned position needs in total (known from its header, or a header size). */
  readonly neededBytes: number;
  parse(buf: Uint8Array, view: DataView, start: number, end: number, bufferFileOffset: number): number;
  /** Message for a file that ends `available` bytes into the record at `offset`. */
  describeTruncation(offset: number, available: number): string;
}
