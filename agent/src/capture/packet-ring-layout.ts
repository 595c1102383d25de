/**
 * Where everything lives inside a PacketRing's SharedArrayBuffer. Computed once, from the three
 * numbers stored in the header, so a thread that only receives the buffer can rebuild the views.
 *
 *   [0, 128)              header: Int32 cells (below), producer cells and consumer cells on
 *                         separate 64-byte lines so the two threads do not bounce one line
 *   timestampsOffset      Float64 × slotCount: tsUs per slot
 *   slotFieldsOffset      Int32 × 4 × slotCount: capLen, wireLen, interfaceId, (reserved) per slot
 *   dataOffset            Uint8 × slotStrideBytes × slotCount: packet bytes, slot i at i × stride
 */
import { AgentError } from '../core/errors.js';

/** Header cells (Int32 indices). */
export const RingCell = {
  /** Packets accepted so far, mod 2^32. Written by the producer only. */
  HEAD: 0,
  /** Packets refused because the ring was full, mod 2^32. Written by the producer only. */
  DROPPED_FULL: 1,
  /** Packets handed to the consumer so far, mod 2^32. Written by the consumer only. */
  TAIL: 16,
  /** 1 while the consumer sleeps (or is about to) in waitForPackets; written by the consumer only. */
  CONSUMER_WAITING: 17,
  MAGIC: 24,
  SLOT_COUNT: 25,
  SLOT_BYTES: 26,
  LINK_TYPE: 27,
} as const

export const RING_HEADER_BYTES = 128;
/** "TFR1": tells attach() the buffer really is a ring of this layout version. */
export const RING_MAGIC = 0x54465231;
export const MAX_RING_SLOTS = 1 << 20;
export const MAX_RING_SLOT_BYTES = 65535;
/** Per-slot Int32 fields (slotFields[slot * SLOT_FIELD_STRIDE + k]). */
export const SLOT_FIELD_STRIDE = 4;
export const SLOT_FIELD_CAP_LEN = 0;
export const SLOT_FIELD_WIRE_LEN = 1;
export const SLOT_FIELD_INTERFACE_ID = 2;

export interface RingGeometry {
  slotCount: number;
  slotBytes: number;
  /** slotBytes rounded up to 8, so every slot starts aligned. */
  slotStrideBytes: number;
  timestampsOffset: number;
  slotFieldsOffset: number;
  dataOffset: number;
  totalBytes: number;
}

function invalid(what: string): AgentError {
  return new AgentError('TAPFLOW_E_CAPTURE_RING_GEOMETRY', `invalid packet ring: ${what}`);
}

export function ringGeometry(slotCount: number, slotBytes: number): RingGeometry {
  if (!Number.isInteger(slotCount) || slotCount < 2 || slotCount > MAX_RING_SLOTS || (slotCount & (slotCount - 1)) !== 0) {
    throw invalid(`slotCount ${slotCount} must be a power of two in 2..${MAX_RING_SLOTS}`);
  }
  if (!Number.isInteger(slotBytes) || slotBytes < 1 || slotBytes > MAX_RING_SLOT_BYTES) {
    throw invalid(`slotBytes ${slotBytes} must be an integer in 1..${MAX_RING_SLOT_BYTES}`);
  }
  const slotStrideBytes = (slotBytes + 7) & ~7;
  const timestampsOffset = RING_HEADER_BYTES;
  const slotFieldsOffset = timestampsOffset + slotCount * 8;
  const dataOffset = slotFieldsOffset + slotCount * SLOT_FIELD_STRIDE * 4;
  const totalBytes = dataOffset + slotCount * slotStrideBytes;
  return { slotCount, slotBytes, slotStrideBytes, timestampsOffset, slotFieldsOffset, dataOffset, totalBytes };
}

/** Geometry of an existing buffer, checked against its size, or an AgentError. */
export function attachedGeometry(buffer: SharedArrayBuffer): RingGeometry {
  if (buffer.byteLength < RING_HEADER_BYTES) throw invalid(`buffer of ${buffer.byteLength} bytes is smaller than the header`);
  const header = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
  if (Atomics.load(header, RingCell.MAGIC) !== RING_MAGIC) throw invalid('buffer does not start with the ring magic');
  const geometry = ringGeometry(Atomics.load(header, RingCell.SLOT_COUNT), Atomics.load(header, RingCell.SLOT_BYTES));
  if (geometry.totalBytes !== buffer.byteLength) throw invalid(`buffer is ${buffer.byteLength} bytes, layout needs ${geometry.totalBytes}`);
  return geometry;
}
