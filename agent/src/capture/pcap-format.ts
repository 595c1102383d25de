import { CaptureAnomaly } from './capture-anomalies.js';
import { CaptureErrorCode, CaptureFileError } from './capture-file-error.js';
import { MAX_PACKET_BYTES, type CaptureFormatContext, type CaptureFormatParser } from './capture-format.js';

/**
 * Classic pcap (draft-ietf-opsawg-pcap): a 24-byte file header, then records of a 16-byte header
 * (seconds, usec or nsec, captured length, original length) and the packet bytes.
 * Behaviour on odd files follows libpcap's sf-pcap.c (read, not copied).
 */

export const PCAP_FILE_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;

/** First four bytes read big-endian. */
export const PCAP_MAGIC_USEC_BE = 0xa1b2c3d4;
export const PCAP_MAGIC_USEC_LE = 0xd4c3b2a1;
export const PCAP_MAGIC_NSEC_BE = 0xa1b23c4d;
export const PCAP_MAGIC_NSEC_LE = 0x4d3cb2a1;

export function isPcapMagic(magic: number): boolean {
  return magic === PCAP_MAGIC_USEC_BE || magic === PCAP_MAGIC_USEC_LE || magic === PCAP_MAGIC_NSEC_BE || magic === PCAP_MAGIC_NSEC_LE;
}

/** Link-type field layout: FCS length (4 bits, in 16-bit words) | F bit | reserved (10 bits) | LINKTYPE (16 bits). */
const LINKTYPE_MASK = 0x0000ffff;
const LINKTYPE_RESERVED_MASK = 0x03ff0000;
const LINKTYPE_FCS_PRESENT = 0x04000000;
const LINKTYPE_FCS_WORDS_SHIFT = 28;

/** Versions before 2.3 wrote caplen and len the other way round; 2.3 did so only sometimes. */
const Lengths = { IN_ORDER: 0, SWAPPED: 1, MAYBE_SWAPPED: 2 } as const;
type Lengths = (typeof Lengths)[keyof typeof Lengths];

export class PcapFormat implements CaptureFormatParser {
  readonly format = 'pcap';
  packets = 0;
  neededBytes = PCAP_FILE_HEADER_BYTES;

  private headerRead = false;
  private littleEndian = false;
  private fractionLimit = 1_000_000;
  /** Fraction units per microsecond: 1 (usec files) or 1000 (nsec files); divided, not multiplied, for exact rounding. */
  private fractionPerUs = 1;
  /** Effective snaplen (0 and oversized header values mean the 262144-byte maximum, as in libpcap). */
  private snapLenBytes = MAX_PACKET_BYTES;
  private linkType = 0;
  private fcsBytes = 0;
  private lengths: Lengths = Lengths.IN_ORDER;
  private lastTsUs = -Infinity;

  constructor(private readonly context: CaptureFormatContext) {}

  parse(buf: Uint8Array, view: DataView, start: number, end: number, bufferFileOffset: number): number {
    let pos = start;
    if (!this.headerRead) {
      if (end - pos < PCAP_FILE_HEADER_BYTES) return pos;
      this.readFileHeader(view, pos);
      pos += PCAP_FILE_HEADER_BYTES;
      this.neededBytes = PCAP_RECORD_HEADER_BYTES;
    }
    const { packet, onPacket, anomalies } = this.context;
    const le = this.littleEndian;
    packet.data = buf;
    while (end - pos >= PCAP_RECORD_HEADER_BYTES) {
      let capLen = view.getUint32(pos + 8, le);
      let wireLen = view.getUint32(pos + 12, le);
      if (this.lengths !== Lengths.IN_ORDER && (this.lengths === Lengths.SWAPPED || capLen > wireLen)) {
        const swapped = capLen;
        capLen = wireLen;
        wireLen = swapped;
      }
      if (capLen > MAX_PACKET_BYTES) {
        const offset = bufferFileOffset + pos;
        throw new CaptureFileError(
          CaptureErrorCode.CORRUPT_RECORD,
          this.context.path,
          offset,
          `corrupt record header at byte ${offset}: caplen ${capLen} exceeds the ${MAX_PACKET_BYTES}-byte limit`,
          this.packets,
        );
      }
      const recordBytes = PCAP_RECORD_HEADER_BYTES + capLen;
      if (end - pos < recordBytes) {
        this.neededBytes = recordBytes;
        return pos;
      }
      const fraction = view.getUint32(pos + 4, le);
      if (fraction >= this.fractionLimit) anomalies.add(CaptureAnomaly.INVALID_FRACTION);
      const tsUs = view.getUint32(pos, le) * 1_000_000 + fraction / this.fractionPerUs;
      if (tsUs < this.lastTsUs) anomalies.add(CaptureAnomaly.TIMESTAMP_BACKWARDS);
      this.lastTsUs = tsUs;
      if (capLen > this.snapLenBytes) anomalies.add(CaptureAnomaly.CAPLEN_OVER_SNAPLEN);
      if (capLen > wireLen) {
        anomalies.add(CaptureAnomaly.CAPLEN_OVER_WIRELEN);
        wireLen = capLen;
      }
      if (this.fcsBytes > 0) {
        // The FCS ends the frame on the wire; a truncated capture may hold none or part of it.
        wireLen = wireLen > this.fcsBytes ? wireLen - this.fcsBytes : 0;
        if (capLen > wireLen) capLen = wireLen;
        anomalies.add(CaptureAnomaly.FCS_STRIPPED);
      }
      packet.linkType = this.linkType;
      packet.interfaceId = 0;
      packet.offset = pos + PCAP_RECORD_HEADER_BYTES;
      packet.capLen = capLen;
      packet.wireLen = wireLen;
      packet.tsUs = tsUs;
      this.packets++;
      onPacket(packet);
      pos += recordBytes;
      if (this.context.shouldPause()) {
        this.context.paused = true;
        break;
      }
    }
    this.neededBytes = PCAP_RECORD_HEADER_BYTES;
    return pos;
  }

  describeTruncation(offset: number, available: number): string {
    if (!this.headerRead) {
      return `truncated file header at byte ${offset}: ${available} of the ${PCAP_FILE_HEADER_BYTES} header bytes present`;
    }
    if (available < PCAP_RECORD_HEADER_BYTES) {
      return `truncated record header at byte ${offset}: ${available} of ${PCAP_RECORD_HEADER_BYTES} bytes present`;
    }
    return `truncated record at byte ${offset}: ${available} of its ${this.neededBytes} bytes present`;
  }

  private readFileHeader(view: DataView, pos: number): void {
    const { path } = this.context;
    const magic = view.getUint32(pos, false);
    const le = magic === PCAP_MAGIC_USEC_LE || magic === PCAP_MAGIC_NSEC_LE;
    const nanoseconds = magic === PCAP_MAGIC_NSEC_BE || magic === PCAP_MAGIC_NSEC_LE;
    const major = view.getUint16(pos + 4, le);
    const minor = view.getUint16(pos + 6, le);
    if (major !== 2) {
      throw new CaptureFileError(CaptureErrorCode.BAD_VERSION, path, 4, `unsupported pcap version ${major}.${minor} at byte 4: only major version 2 exists`, 0);
    }
    const linkTypeField = view.getUint32(pos + 20, le);
    if ((linkTypeField & LINKTYPE_RESERVED_MASK) !== 0) {
      const hex = `0x${(linkTypeField >>> 0).toString(16).padStart(8, '0')}`;
      throw new CaptureFileError(CaptureErrorCode.UNSUPPORTED, path, 20, `pcap link-type field at byte 20 has reserved bits set (${hex})`, 0);
    }
    this.littleEndian = le;
    this.fractionLimit = nanoseconds ? 1_000_000_000 : 1_000_000;
    this.fractionPerUs = nanoseconds ? 1000 : 1;
    const snapLen = view.getUint32(pos + 16, le);
    this.snapLenBytes = snapLen === 0 || snapLen > MAX_PACKET_BYTES ? MAX_PACKET_BYTES : snapLen;
    this.linkType = linkTypeField & LINKTYPE_MASK;
    this.fcsBytes = (linkTypeField & LINKTYPE_FCS_PRESENT) !== 0 ? (linkTypeField >>> LINKTYPE_FCS_WORDS_SHIFT) * 2 : 0;
    this.lengths = minor < 3 ? Lengths.SWAPPED : minor === 3 ? Lengths.MAYBE_SWAPPED : Lengths.IN_ORDER;
    this.headerRead = true;
    this.context.interfaces.push({ linkType: this.linkType });
  }
}
