/**
 * Big-endian (network order) reads straight from a packet buffer, composed with shifts so that no
 * DataView or subarray is created per packet. Callers bounds-check first: an index past the end
 * reads `undefined`, which the shifts turn into 0 rather than throwing.
 *
 * 32-bit reads return the bits as a SIGNED int32 on purpose. V8 keeps int32 values unboxed, but a
 * value of 2^31 or more returned from a call that was not inlined becomes a heap-allocated number.
 * Callers convert where the value is stored: a Uint32Array store wraps it, and `>>> 0` into a
 * number field stays inside the (optimised) caller.
 */

export function readU16(data: Uint8Array, index: number): number {
  return (data[index]! << 8) | data[index + 1]!;
}

/** The 32 bits at `index` as an int32; `>>> 0` gives the unsigned value. */
export function readI32(data: Uint8Array, index: number): number {
  return (data[index]! << 24) | (data[index + 1]! << 16) | (data[index + 2]! << 8) | data[index + 3]!;
}

/** Little-endian int32 (BSD loopback headers written by a little-endian host). */
export function readI32Le(data: Uint8Array, index: number): number {
  return (data[index + 3]! << 24) | (data[index + 2]! << 16) | (data[index + 1]! << 8) | data[index]!;
}
