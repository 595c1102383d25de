/**
 * A tiny, deliberately naive writer of pcap and pcapng bytes for tests: it knows exactly what it
 * wrote, so it is the ground truth for hand-made files (and tshark reads them too).
 * Layouts from draft-ietf-opsawg-pcap and draft-ietf-opsawg-pcapng.
 */

export interface PcapRecord {
  tsSec: number;
  /** usec or nsec, as the file's magic says; may be out of range on purpose. */
  fraction: number;
  capLen: number;
  wireLen: number;
  /** Fill byte of the packet data (so packets differ). */
  fill?: number;
  /** Write the two length fields the other way round (what pcap 2.3 writers sometimes did; always before 2.3). */
  swapLengthFields?: boolean;
}

export interface PcapHeaderOptions {
  littleEndian: boolean;
  nanoseconds: boolean;
  linkTypeField?: number;
  snapLen?: number;
  major?: number;
  minor?: number;
}

class ByteWriter {
  private readonly chunks: Buffer[] = [];
  constructor(private readonly littleEndian: boolean) {}
  u8(value: number): this {
    this.chunks.push(Buffer.from([value & 0xff]));
    return this;
  }
  u16(value: number): this {
    const b = Buffer.alloc(2);
    if (this.littleEndian) b.writeUInt16LE(value);
    else b.writeUInt16BE(value);
    this.chunks.push(b);
    return this;
  }
  u32(value: number): this {
    const b = Buffer.alloc(4);
    if (this.littleEndian) b.writeUInt32LE(value >>> 0);
    else b.writeUInt32BE(value >>> 0);
    this.chunks.push(b);
    return this;
  }
  i64(value: bigint): this {
    const b = Buffer.alloc(8);
    if (this.littleEndian) b.writeBigInt64LE(value);
    else b.writeBigInt64BE(value);
    this.chunks.push(b);
    return this;
  }
  bytes(data: Uint8Array): this {
    this.chunks.push(Buffer.from(data));
    return this;
  }
  pad4(): this {
    const length = this.length;
    if (length % 4 !== 0) this.chunks.push(Buffer.alloc(4 - (length % 4)));
    return this;
  }
  get length(): number {
    return this.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  }
  build(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export function packetData(length: number, fill = 0xab): Buffer {
  return Buffer.alloc(length, fill);
}

export function pcapFile(header: PcapHeaderOptions, records: readonly PcapRecord[]): Buffer {
  const w = new ByteWriter(header.littleEndian);
  w.u32(header.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(header.major ?? 2)
    .u16(header.minor ?? 4)
    .u32(0)
    .u32(0)
    .u32(header.snapLen ?? 65535)
    .u32(header.linkTypeField ?? 1);
  const alwaysSwapped = (header.minor ?? 4) < 3;
  for (const record of records) {
    const swap = alwaysSwapped || record.swapLengthFields === true;
    w.u32(record.tsSec).u32(record.fraction);
    if (swap) w.u32(record.wireLen).u32(record.capLen);
    else w.u32(record.capLen).u32(record.wireLen);
    w.bytes(packetData(record.capLen, record.fill));
  }
  return w.build();
}

/** Offsets where each pcap record starts, and the file length (test oracle for cut points). */
export function pcapRecordStarts(records: readonly PcapRecord[]): number[] {
  const starts: number[] = [];
  let pos = 24;
  for (const record of records) {
    starts.push(pos);
    pos += 16 + record.capLen;
  }
  starts.push(pos);
  return starts;
}

// ---- pcapng ----

export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

function block(littleEndian: boolean, type: number, body: (w: ByteWriter) => void, options: readonly PcapngOption[] = []): Buffer {
  const inner = new ByteWriter(littleEndian);
  body(inner);
  inner.pad4();
  if (options.length > 0) {
    for (const option of options) inner.u16(option.code).u16(option.value.length).bytes(option.value).pad4();
    inner.u16(0).u16(0);
  }
  const bodyBytes = inner.build();
  const total = 12 + bodyBytes.length;
  return new ByteWriter(littleEndian).u32(type).u32(total).bytes(bodyBytes).u32(total).build();
}

export function shb(littleEndian: boolean, major = 1, minor = 0, options: readonly PcapngOption[] = []): Buffer {
  return block(littleEndian, 0x0a0d0d0a, (w) => w.u32(0x1a2b3c4d).u16(major).u16(minor).i64(-1n), options);
}

export interface IdbOptions {
  name?: string;
  /** if_tsresol byte. */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffsetSec?: bigint;
}

export function idb(littleEndian: boolean, linkType: number, snapLen: number, opts: IdbOptions = {}): Buffer {
  const options: PcapngOption[] = [];
  if (opts.name !== undefined) options.push({ code: 2, value: Buffer.from(opts.name) });
  if (opts.tsresol !== undefined) options.push({ code: 9, value: Buffer.from([opts.tsresol]) });
  if (opts.tsoffsetSec !== undefined) options.push({ code: 14, value: new ByteWriter(littleEndian).i64(opts.tsoffsetSec).build() });
  return block(littleEndian, 1, (w) => w.u16(linkType).u16(0).u32(snapLen), options);
}

/** Enhanced Packet Block; `units` is the timestamp in the interface's resolution. */
export function epb(littleEndian: boolean, interfaceId: number, units: bigint, capLen: number, wireLen: number, fill = 0xcd): Buffer {
  return block(littleEndian, 6, (w) =>
    w.u32(interfaceId).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn)).u32(capLen).u32(wireLen).bytes(packetData(capLen, fill)),
  );
}

/** Obsolete Packet Block (type 2). */
export function opb(littleEndian: boolean, interfaceId: number, units: bigint, capLen: number, wireLen: number, fill = 0xce): Buffer {
  return block(littleEndian, 2, (w) =>
    w.u16(interfaceId).u16(0).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn)).u32(capLen).u32(wireLen).bytes(packetData(capLen, fill)),
  );
}

/** Simple Packet Block: data is min(wireLen, snapLen) bytes. */
export function spb(littleEndian: boolean, wireLen: number, dataBytes: number, fill = 0xef): Buffer {
  return block(littleEndian, 3, (w) => w.u32(wireLen).bytes(packetData(dataBytes, fill)));
}

/** Any block type with an opaque body (NRB 4, ISB 5, custom 0xBAD, unknown ...). */
export function opaqueBlock(littleEndian: boolean, type: number, bodyBytes: number, fill = 0x11): Buffer {
  return block(littleEndian, type, (w) => w.bytes(Buffer.alloc(bodyBytes, fill)));
}
