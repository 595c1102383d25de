import { type CaptureLayout, captureLayout } from './capture-layout.js';

/**
 * The fuzzer's mutation strategies over a capture file's bytes. Each takes the bytes and a seeded
 * random source and returns new bytes (inputs are never modified). Byte-level damage is aimed, half
 * the time, at what the reader and the decoder actually interpret: record headers, length fields
 * and the first bytes of a packet (link, IP, transport headers and the start of the payload).
 * Ideas from AFL's havoc stage (bit flips, "interesting" values, block copy/delete, splice).
 */

export const MUTATIONS = [
  'bit-flip',
  'interesting-byte',
  'interesting-word',
  'truncate',
  'cut-packet',
  'inflate-length',
  'duplicate-chunk',
  'remove-chunk',
  'splice',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

export type Random = () => number;

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80];
const INTERESTING_WORDS = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
/** How far into a packet "aimed" byte damage goes: link + IP + transport headers + some payload. */
const PACKET_HEAD_BYTES = 96;

export function pick<T>(items: readonly T[], random: Random): T {
  return items[Math.floor(random() * items.length)]!;
}

function below(limit: number, random: Random): number {
  return Math.floor(random() * limit);
}

/**
 * Applies one mutation. `other` is a second capture for splicing; `layout` of `bytes` (computed when
 * absent) lets the structural mutations cut at record boundaries.
 */
export function mutate(mutation: Mutation, bytes: Uint8Array, random: Random, other: Uint8Array, layout: CaptureLayout = captureLayout(bytes)): Uint8Array {
  switch (mutation) {
    case 'bit-flip':
      return damage(bytes, layout, random, 1 + below(8, random), (out, pos) => (out[pos]! ^= 1 << below(8, random)));
    case 'interesting-byte':
      return damage(bytes, layout, random, 1 + below(4, random), (out, pos) => (out[pos] = pick(INTERESTING_BYTES, random)));
    case 'interesting-word':
      return damage(bytes, layout, random, 1, (out, pos) => writeWord(out, pos, random() < 0.5 ? 2 : 4, pick(INTERESTING_WORDS, random), random() < 0.5));
    case 'truncate':
      return bytes.slice(0, below(bytes.length + 1, random));
    case 'cut-packet':
      return cutPacket(bytes, layout, random);
    case 'inflate-length':
      return inflateLength(bytes, layout, random);
    case 'duplicate-chunk': {
      const [from, to] = chunk(bytes, layout, random);
      const at = insertionPoint(bytes, layout, random);
      return concat(bytes.subarray(0, at), bytes.subarray(from, to), bytes.subarray(at));
    }
    case 'remove-chunk': {
      const [from, to] = chunk(bytes, layout, random);
      return concat(bytes.subarray(0, from), bytes.subarray(to));
    }
    case 'splice': {
      const otherLayout = captureLayout(other);
      return concat(bytes.subarray(0, insertionPoint(bytes, layout, random)), other.subarray(insertionPoint(other, otherLayout, random)));
    }
  }
}

/** Copies `bytes` and applies `change` at `count` positions: aimed at headers half the time, anywhere otherwise. */
function damage(bytes: Uint8Array, layout: CaptureLayout, random: Random, count: number, change: (out: Uint8Array, pos: number) => void): Uint8Array {
  const out = bytes.slice();
  if (out.length === 0) return out;
  for (let i = 0; i < count; i++) change(out, aimedPosition(out, layout, random));
  return out;
}

function aimedPosition(bytes: Uint8Array, layout: CaptureLayout, random: Random): number {
  const choice = random();
  if (choice < 0.2 && layout.lengthFields.length > 0) return clampPos(bytes, pick(layout.lengthFields, random).pos + below(4, random));
  if (choice < 0.35 && layout.starts.length > 0) return clampPos(bytes, pick(layout.starts, random) + below(28, random));
  if (choice < 0.65) {
    const packetStart = layout.packetStarts.length > 0 ? pick(layout.packetStarts, random) : -1;
    if (packetStart >= 0) return clampPos(bytes, packetStart + below(PACKET_HEAD_BYTES, random));
  }
  return below(bytes.length, random);
}

function clampPos(bytes: Uint8Array, pos: number): number {
  return pos < bytes.length ? pos : bytes.length - 1;
}

function writeWord(out: Uint8Array, pos: number, width: 2 | 4, value: number, littleEndian: boolean): void {
  if (pos + width > out.length) return;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (width === 2) view.setUint16(pos, value & 0xffff, littleEndian);
  else view.setUint32(pos, value >>> 0, littleEndian);
}

/** Makes one length field larger: by a little (off by a few), doubled, to a limit's edge, or to all ones. */
function inflateLength(bytes: Uint8Array, layout: CaptureLayout, random: Random): Uint8Array {
  const out = bytes.slice();
  if (layout.lengthFields.length === 0) {
    writeWord(out, below(Math.max(1, out.length - 3), random), 4, pick(INTERESTING_WORDS, random), random() < 0.5);
    return out;
  }
  const field = pick(layout.lengthFields, random);
  if (field.pos + field.width > out.length) return out;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const current = field.width === 2 ? view.getUint16(field.pos, field.littleEndian) : view.getUint32(field.pos, field.littleEndian);
  const max = field.width === 2 ? 0xffff : 0xffffffff;
  const candidates = [current + 1 + below(8, random), current + 4, current * 2 + 1, 262_144, 262_145, 16 * 1024 * 1024, 16 * 1024 * 1024 + 4, max];
  writeWord(out, field.pos, field.width, Math.min(max, pick(candidates, random)), field.littleEndian);
  return out;
}

/**
 * Snaplen-style truncation inside the headers: one packet keeps only its first 0-96 bytes (its
 * captured length says so; the original length is left alone). pcap records lose the bytes;
 * pcapng blocks keep their size (the reader ignores what follows the captured bytes).
 */
function cutPacket(bytes: Uint8Array, layout: CaptureLayout, random: Random): Uint8Array {
  const records: number[] = [];
  for (let i = 0; i < layout.capLenFields.length; i++) if (layout.capLenFields[i]! >= 0) records.push(i);
  if (records.length === 0) return bytes.slice(0, below(bytes.length + 1, random));
  const i = pick(records, random);
  const field = layout.capLenFields[i]!;
  const le = layout.littleEndian[i]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const capLen = view.getUint32(field, le);
  const kept = below(Math.min(capLen, PACKET_HEAD_BYTES) + 1, random);
  const packetStart = layout.packetStarts[i]!;
  const out = layout.format === 'pcap' ? concat(bytes.subarray(0, packetStart + kept), bytes.subarray(layout.ends[i]!)) : bytes.slice();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(field, kept, le);
  return out;
}

/** A whole record (most of the time) or any byte range. */
function chunk(bytes: Uint8Array, layout: CaptureLayout, random: Random): [number, number] {
  if (layout.starts.length > 0 && random() < 0.7) {
    const i = below(layout.starts.length, random);
    const last = Math.min(layout.starts.length - 1, i + below(3, random));
    return [layout.starts[i]!, layout.ends[last]!];
  }
  const from = below(bytes.length + 1, random);
  return [from, Math.min(bytes.length, from + 1 + below(256, random))];
}

/** A record boundary (most of the time) or any offset. */
function insertionPoint(bytes: Uint8Array, layout: CaptureLayout, random: Random): number {
  if (layout.starts.length > 0 && random() < 0.7) return random() < 0.5 ? pick(layout.starts, random) : pick(layout.ends, random);
  return below(bytes.length + 1, random);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
