/**
 * Where the records and the length fields of a (possibly damaged) pcap or pcapng file are, so the
 * fuzzer can aim at them: cut or copy whole records, inflate a length, damage a packet's first
 * bytes. Written for the fuzzer from the format drafts (draft-ietf-opsawg-pcap, -pcapng), on
 * purpose independent of the product's reader: it trusts nothing and stops at the first record
 * it cannot size.
 */

/** A length field: `width` bytes at `pos`, in the file's byte order. */
export interface LengthField {
  pos: number;
  width: 2 | 4;
  littleEndian: boolean;
}

export interface CaptureLayout {
  format: 'pcap' | 'pcapng' | 'unknown';
  /** Bytes before the first record (the pcap file header; 0 for pcapng and unknown). */
  headerBytes: number;
  /** Start of each record/block that fits in the file, in order; ends[i] is where it ends. */
  starts: number[];
  ends: number[];
  /** Start of each record's packet bytes (-1 for blocks that carry none). */
  packetStarts: number[];
  /** Position of each record's captured-length field (SPB: its original length), -1 for blocks without packets. */
  capLenFields: number[];
  /** Byte order of each record. */
  littleEndian: boolean[];
  lengthFields: LengthField[];
}

const PCAP_MAGICS_LE = [0xd4c3b2a1, 0x4d3cb2a1];
const PCAP_MAGICS_BE = [0xa1b2c3d4, 0xa1b23c4d];
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_LE = 0x4d3c2b1a;
const PCAPNG_EPB = 6;
const PCAPNG_OPB = 2;
const PCAPNG_SPB = 3;
const PCAPNG_IDB = 1;

/** Stop walking after this many records: layouts feed mutations, not a full parse. */
const MAX_RECORDS = 100_000;

export function captureLayout(bytes: Uint8Array): CaptureLayout {
  const layout: CaptureLayout = { format: 'unknown', headerBytes: 0, starts: [], ends: [], packetStarts: [], capLenFields: [], littleEndian: [], lengthFields: [] };
  if (bytes.length < 4) return layout;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (PCAP_MAGICS_LE.includes(magic) || PCAP_MAGICS_BE.includes(magic)) walkPcap(view, PCAP_MAGICS_LE.includes(magic), layout);
  else if (magic === PCAPNG_SHB) walkPcapng(view, layout);
  return layout;
}

function walkPcap(view: DataView, le: boolean, layout: CaptureLayout): void {
  layout.format = 'pcap';
  layout.headerBytes = 24;
  if (view.byteLength >= 24) layout.lengthFields.push({ pos: 16, width: 4, littleEndian: le }); // snaplen
  let pos = 24;
  while (pos + 16 <= view.byteLength && layout.starts.length < MAX_RECORDS) {
    const capLen = view.getUint32(pos + 8, le);
    const end = pos + 16 + capLen;
    if (end > view.byteLength) break;
    layout.starts.push(pos);
    layout.ends.push(end);
    layout.packetStarts.push(pos + 16);
    layout.capLenFields.push(pos + 8);
    layout.littleEndian.push(le);
    layout.lengthFields.push({ pos: pos + 8, width: 4, littleEndian: le }, { pos: pos + 12, width: 4, littleEndian: le });
    pos = end;
  }
}

function walkPcapng(view: DataView, layout: CaptureLayout): void {
  layout.format = 'pcapng';
  let le = true;
  let pos = 0;
  while (pos + 12 <= view.byteLength && layout.starts.length < MAX_RECORDS) {
    const type = view.getUint32(pos, le);
    if (type === PCAPNG_SHB) le = view.getUint32(pos + 8, false) === PCAPNG_BYTE_ORDER_LE;
    const blockBytes = view.getUint32(pos + 4, le);
    if (blockBytes < 12 || blockBytes % 4 !== 0 || pos + blockBytes > view.byteLength) break;
    layout.starts.push(pos);
    layout.ends.push(pos + blockBytes);
    layout.lengthFields.push({ pos: pos + 4, width: 4, littleEndian: le }, { pos: pos + blockBytes - 4, width: 4, littleEndian: le });
    layout.littleEndian.push(le);
    if ((type === PCAPNG_EPB || type === PCAPNG_OPB) && blockBytes >= 32) {
      layout.packetStarts.push(pos + 28);
      layout.capLenFields.push(pos + 20);
      layout.lengthFields.push({ pos: pos + 20, width: 4, littleEndian: le }, { pos: pos + 24, width: 4, littleEndian: le });
    } else if (type === PCAPNG_SPB && blockBytes >= 16) {
      layout.packetStarts.push(pos + 12);
      layout.capLenFields.push(pos + 8);
      layout.lengthFields.push({ pos: pos + 8, width: 4, littleEndian: le });
    } else {
      layout.packetStarts.push(-1);
      layout.capLenFields.push(-1);
      addOptionLengths(view, type, pos, blockBytes, le, layout);
    }
    pos += blockBytes;
  }
}

/** Option length fields of SHB (options at +24) and IDB (at +16) blocks. */
function addOptionLengths(view: DataView, type: number, pos: number, blockBytes: number, le: boolean, layout: CaptureLayout): void {
  const first = type === PCAPNG_SHB ? 24 : type === PCAPNG_IDB ? 16 : -1;
  if (first < 0) return;
  const end = pos + blockBytes - 4;
  for (let option = pos + first; option + 4 <= end; ) {
    const valueBytes = view.getUint16(option + 2, le);
    layout.lengthFields.push({ pos: option + 2, width: 2, littleEndian: le });
    if (view.getUint16(option, le) === 0) break;
    option += 4 + ((valueBytes + 3) & ~3);
  }
}

/** The first records of a capture that fit in `budgetBytes` (whole file when it does), cut at a record end. */
export function capturePrefix(bytes: Uint8Array, budgetBytes: number): Uint8Array {
  if (bytes.length <= budgetBytes) return bytes;
  const layout = captureLayout(bytes);
  let cut = layout.headerBytes;
  for (const end of layout.ends) {
    if (end > budgetBytes) break;
    cut = end;
  }
  // A first record larger than the budget: keep it anyway (one whole record beats a truncated file).
  if (cut === layout.headerBytes && layout.ends.length > 0) cut = layout.ends[0]!;
  return bytes.subarray(0, cut > 0 ? cut : budgetBytes);
}
