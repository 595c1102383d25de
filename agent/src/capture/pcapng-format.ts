import { CaptureAnomaly } from './capture-anomalies.js';
import { CaptureErrorCode, CaptureFileError } from './capture-file-error.js';
import { MAX_BLOCK_BYTES, MAX_LISTED_INTERFACES, MAX_PACKET_BYTES, type CaptureFormatContext, type CaptureFormatParser } from './capture-format.js';
import { DEFAULT_TSRESOL, PcapngInterfaceTable } from './pcapng-interfaces.js';
import { IF_NAME, IF_TSOFFSET, IF_TSRESOL, walkOptions } from './pcapng-options.js';

/**
 * pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks {type u32, total length u32, body,
 * total length u32}. Each Section Header Block starts a section with its own byte order and its own
 * interface ids. Packets come in Enhanced (EPB), Simple (SPB) and obsolete Packet (OPB) blocks;
 * every other block is skipped. Checks mirror libpcap's sf-pcapng.c and Wireshark's pcapng.c
 * (read, not copied).
 */

export const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_OPB = 0x00000002;
const BLOCK_SPB = 0x00000003;
const BLOCK_NRB = 0x00000004;
const BLOCK_ISB = 0x00000005;
const BLOCK_EPB = 0x00000006;
const BLOCK_IRIG_TIMESTAMP = 0x00000007;
const BLOCK_ARINC_429 = 0x00000008;
const BLOCK_SYSTEMD_JOURNAL = 0x00000009;
const BLOCK_DECRYPTION_SECRETS = 0x0000000a;
const BLOCK_CUSTOM_COPY = 0x00000bad;
const BLOCK_CUSTOM_NO_COPY = 0x40000bad;

/** Byte-order magic of the SHB, read big-endian. */
const BYTE_ORDER_MAGIC_BE = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_LE = 0x4d3c2b1a;

/** Type + length + byte-order magic: enough to size any block, the SHB included. */
const BLOCK_PROBE_BYTES = 12;
const MIN_BLOCK_BYTES = 12;
const MIN_SHB_BYTES = 28;
const MIN_IDB_BYTES = 20;
/** EPB and OPB: 28 bytes of header fields + trailing length. */
const MIN_EPB_BYTES = 32;
const MIN_SPB_BYTES = 16;
const MAX_INTERFACE_NAME_BYTES = 256;

const textDecoder = new TextDecoder();

export class PcapngFormat implements CaptureFormatParser {
  readonly format = 'pcapng';
  packets = 0;
  neededBytes = BLOCK_PROBE_BYTES;

  private littleEndian = false;
  private readonly interfaces = new PcapngInterfaceTable();
  private lastTsUs = -Infinity;
  private sections = 0;

  constructor(private readonly context: CaptureFormatContext) {}

  parse(buf: Uint8Array, view: DataView, start: number, end: number, bufferFileOffset: number): number {
    const { packet, anomalies } = this.context;
    packet.data = buf;
    let pos = start;
    while (end - pos >= BLOCK_PROBE_BYTES) {
      const type = view.getUint32(pos, this.littleEndian);
      // The SHB type reads the same in both byte orders; its magic gives the section's order.
      const le = type === BLOCK_SHB ? this.sectionByteOrder(view, pos, bufferFileOffset) : this.littleEndian;
      const blockBytes = view.getUint32(pos + 4, le);
      if (blockBytes < MIN_BLOCK_BYTES || blockBytes % 4 !== 0 || blockBytes > MAX_BLOCK_BYTES) {
        this.fail(CaptureErrorCode.CORRUPT_RECORD, bufferFileOffset + pos, `corrupt block header at byte ${bufferFileOffset + pos}: block length ${blockBytes} is not a multiple of 4 from ${MIN_BLOCK_BYTES} to ${MAX_BLOCK_BYTES}`);
      }
      if (end - pos < blockBytes) {
        this.neededBytes = blockBytes;
        return pos;
      }
      const trailer = view.getUint32(pos + blockBytes - 4, le);
      if (trailer !== blockBytes) {
        this.fail(CaptureErrorCode.CORRUPT_RECORD, bufferFileOffset + pos, `corrupt block at byte ${bufferFileOffset + pos}: leading length ${blockBytes} and trailing length ${trailer} differ`);
      }
      switch (type) {
        case BLOCK_EPB:
        case BLOCK_OPB:
          this.readPacketBlock(view, pos, blockBytes, type === BLOCK_OPB, bufferFileOffset);
          break;
        case BLOCK_SPB:
          this.readSimplePacketBlock(view, pos, blockBytes, bufferFileOffset);
          break;
        case BLOCK_IDB:
          this.readInterfaceBlock(buf, view, pos, blockBytes, bufferFileOffset);
          break;
        case BLOCK_SHB:
          this.readSectionHeader(view, pos, blockBytes, le, bufferFileOffset);
          break;
        case BLOCK_NRB:
        case BLOCK_ISB:
        case BLOCK_IRIG_TIMESTAMP:
        case BLOCK_ARINC_429:
        case BLOCK_SYSTEMD_JOURNAL:
        case BLOCK_DECRYPTION_SECRETS:
        case BLOCK_CUSTOM_COPY:
        case BLOCK_CUSTOM_NO_COPY:
          break; // known, nothing tapflow needs
        default:
          anomalies.add(CaptureAnomaly.UNKNOWN_BLOCK);
      }
      pos += blockBytes;
      if (this.context.shouldPause()) {
        this.context.paused = true;
        break;
      }
    }
    this.neededBytes = BLOCK_PROBE_BYTES;
    return pos;
  }

  describeTruncation(offset: number, available: number): string {
    if (available < BLOCK_PROBE_BYTES) return `truncated block header at byte ${offset}: ${available} of ${BLOCK_PROBE_BYTES} bytes present`;
    return `truncated block at byte ${offset}: ${available} of its ${this.neededBytes} bytes present`;
  }

  /** EPB: interface u32 | ts high | ts low | caplen | len | data. OPB: interface u16 | drops u16 | same. */
  private readPacketBlock(view: DataView, pos: number, blockBytes: number, obsolete: boolean, bufferFileOffset: number): void {
    const le = this.littleEndian;
    if (blockBytes < MIN_EPB_BYTES) this.tooShort(bufferFileOffset + pos, blockBytes, MIN_EPB_BYTES);
    const interfaceId = obsolete ? view.getUint16(pos + 8, le) : view.getUint32(pos + 8, le);
    const capLen = view.getUint32(pos + 20, le);
    this.checkCapLen(capLen, blockBytes - MIN_EPB_BYTES, bufferFileOffset + pos);
    if (interfaceId >= this.interfaces.count) {
      this.context.anomalies.add(CaptureAnomaly.PACKET_ON_UNKNOWN_INTERFACE);
      return;
    }
    const tsUs = this.interfaces.tsUs(interfaceId, view.getUint32(pos + 12, le), view.getUint32(pos + 16, le));
    this.deliver(interfaceId, pos + 28, capLen, view.getUint32(pos + 24, le), tsUs);
  }

  /**
   * SPB: original length | data. It has no interface id (always interface 0) and no timestamp:
   * it gets the previous packet's timestamp (0 before any), so time never runs backwards.
   */
  private readSimplePacketBlock(view: DataView, pos: number, blockBytes: number, bufferFileOffset: number): void {
    if (blockBytes < MIN_SPB_BYTES) this.tooShort(bufferFileOffset + pos, blockBytes, MIN_SPB_BYTES);
    const wireLen = view.getUint32(pos + 8, this.littleEndian);
    if (this.interfaces.count === 0) {
      this.context.anomalies.add(CaptureAnomaly.PACKET_ON_UNKNOWN_INTERFACE);
      return;
    }
    const snapLen = this.interfaces.snapLenBytes[0]!;
    const capLen = snapLen !== 0 && wireLen > snapLen ? snapLen : wireLen;
    this.checkCapLen(capLen, blockBytes - MIN_SPB_BYTES, bufferFileOffset + pos);
    this.context.anomalies.add(CaptureAnomaly.SPB_TIMESTAMP_INHERITED);
    this.deliver(0, pos + 12, capLen, wireLen, this.lastTsUs === -Infinity ? 0 : this.lastTsUs);
  }

  private deliver(interfaceId: number, dataPos: number, capLen: number, wireLen: number, tsUs: number): void {
    const { packet, anomalies, onPacket } = this.context;
    const snapLen = this.interfaces.snapLenBytes[interfaceId]!;
    if (snapLen !== 0 && capLen > snapLen) anomalies.add(CaptureAnomaly.CAPLEN_OVER_SNAPLEN);
    if (capLen > wireLen) {
      anomalies.add(CaptureAnomaly.CAPLEN_OVER_WIRELEN);
      wireLen = capLen;
    }
    if (tsUs < this.lastTsUs) anomalies.add(CaptureAnomaly.TIMESTAMP_BACKWARDS);
    this.lastTsUs = tsUs;
    packet.offset = dataPos;
    packet.capLen = capLen;
    packet.wireLen = wireLen;
    packet.tsUs = tsUs;
    packet.linkType = this.interfaces.linkType[interfaceId]!;
    packet.interfaceId = interfaceId;
    this.packets++;
    onPacket(packet);
  }

  private checkCapLen(capLen: number, roomBytes: number, offset: number): void {
    if (capLen > MAX_PACKET_BYTES) {
      this.fail(CaptureErrorCode.CORRUPT_RECORD, offset, `corrupt packet block at byte ${offset}: caplen ${capLen} exceeds the ${MAX_PACKET_BYTES}-byte limit`);
    }
    if (capLen > roomBytes) {
      this.fail(CaptureErrorCode.CORRUPT_RECORD, offset, `corrupt packet block at byte ${offset}: caplen ${capLen} does not fit in the block's ${roomBytes} data bytes`);
    }
  }

  /** IDB: link type u16 | reserved u16 | snaplen u32 | options. */
  private readInterfaceBlock(buf: Uint8Array, view: DataView, pos: number, blockBytes: number, bufferFileOffset: number): void {
    const le = this.littleEndian;
    const { anomalies, interfaces: listed } = this.context;
    if (blockBytes < MIN_IDB_BYTES) this.tooShort(bufferFileOffset + pos, blockBytes, MIN_IDB_BYTES);
    const linkType = view.getUint16(pos + 8, le);
    const snapLen = view.getUint32(pos + 12, le);
    let tsresol = DEFAULT_TSRESOL;
    let offsetSeconds = 0;
    let name: string | undefined;
    const badOption = walkOptions(view, pos + 16, pos + blockBytes - 4, le, (code, valuePos, valueBytes) => {
      if (code === IF_TSRESOL && valueBytes >= 1) tsresol = view.getUint8(valuePos);
      else if (code === IF_TSOFFSET && valueBytes >= 8) offsetSeconds = view.getInt32(valuePos + (le ? 4 : 0), le) * 4_294_967_296 + view.getUint32(valuePos + (le ? 0 : 4), le);
      else if (code === IF_NAME) name = decodeName(buf, valuePos, valueBytes);
    });
    if (badOption >= 0) this.badOption(view, badOption, pos, bufferFileOffset, 'interface description');
    if (!this.interfaces.add(linkType, snapLen, tsresol, offsetSeconds)) anomalies.add(CaptureAnomaly.INTERFACE_LIMIT_EXCEEDED);
    if (listed.length >= MAX_LISTED_INTERFACES) anomalies.add(CaptureAnomaly.INTERFACES_NOT_LISTED);
    else listed.push(name === undefined ? { linkType } : { linkType, name });
  }

  /** SHB: byte-order magic | major u16 | minor u16 | section length i64 | options. */
  private readSectionHeader(view: DataView, pos: number, blockBytes: number, le: boolean, bufferFileOffset: number): void {
    const offset = bufferFileOffset + pos;
    if (blockBytes < MIN_SHB_BYTES) this.tooShort(offset, blockBytes, MIN_SHB_BYTES);
    const major = view.getUint16(pos + 12, le);
    const minor = view.getUint16(pos + 14, le);
    if (major !== 1) this.fail(CaptureErrorCode.BAD_VERSION, offset, `unsupported pcapng section version ${major}.${minor} at byte ${offset}: only major version 1 exists`);
    this.littleEndian = le;
    const badOption = walkOptions(view, pos + 24, pos + blockBytes - 4, le);
    if (badOption >= 0) this.badOption(view, badOption, pos, bufferFileOffset, 'section header');
    this.interfaces.clear();
    this.sections++;
  }

  private sectionByteOrder(view: DataView, pos: number, bufferFileOffset: number): boolean {
    const magic = view.getUint32(pos + 8, false);
    if (magic === BYTE_ORDER_MAGIC_LE) return true;
    if (magic === BYTE_ORDER_MAGIC_BE) return false;
    const offset = bufferFileOffset + pos;
    const hex = `0x${magic.toString(16).padStart(8, '0')}`;
    if (this.sections === 0) this.fail(CaptureErrorCode.NOT_A_CAPTURE, offset, `not a capture file: pcapng block type at byte 0 but byte-order magic ${hex} at byte 8`);
    return this.fail(CaptureErrorCode.CORRUPT_RECORD, offset, `corrupt section header at byte ${offset}: byte-order magic ${hex}`);
  }

  private badOption(view: DataView, optionPos: number, blockPos: number, bufferFileOffset: number, blockName: string): never {
    const length = view.getUint16(optionPos + 2, this.littleEndian);
    const offset = bufferFileOffset + blockPos;
    return this.fail(CaptureErrorCode.CORRUPT_RECORD, offset, `corrupt ${blockName} block at byte ${offset}: option at byte ${bufferFileOffset + optionPos} of length ${length} runs past the block end`);
  }

  private tooShort(offset: number, blockBytes: number, minBytes: number): never {
    return this.fail(CaptureErrorCode.CORRUPT_RECORD, offset, `corrupt block at byte ${offset}: ${blockBytes} bytes, this block type needs at least ${minBytes}`);
  }

  private fail(code: (typeof CaptureErrorCode)[keyof typeof CaptureErrorCode], offset: number, what: string): never {
    throw new CaptureFileError(code, this.context.path, offset, what, this.packets);
  }
}

function decodeName(buf: Uint8Array, pos: number, length: number): string {
  let end = pos + Math.min(length, MAX_INTERFACE_NAME_BYTES);
  while (end > pos && buf[end - 1] === 0) end--;
  return textDecoder.decode(buf.subarray(pos, end));
}
