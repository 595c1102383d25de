import { readU16 } from '../decode/byte-reads.js';
import { IpProtocol } from '../decode/transport.js';
import type { PacketView } from '../decode/packet-view.js';

/**
 * Bounds shared by the hint parsers: the range check every parser makes first, and where a
 * decoded packet's transport payload lies (hint parsers take (bytes, offset, length) of it).
 */

/** Rejects offsets and lengths outside the buffer (also NaN and fractions), so no read can leave it. */
export function validRange(bytes: Uint8Array, offset: number, length: number): boolean {
  return offset >= 0 && length >= 0 && offset + length <= bytes.length && (offset | 0) === offset && (length | 0) === length;
}

const UDP_HEADER_BYTES = 8;
const TCP_MIN_HEADER_BYTES = 20;

/**
 * Offset of the TCP/UDP payload of a packet decodePacket returned OK for, or -1 (other protocol,
 * non-first fragment, header not captured). `capEnd` is the end of the captured bytes in `data`.
 */
export function l4PayloadOffset(data: Uint8Array, capEnd: number, view: PacketView): number {
  const l4 = view.l4Offset;
  if (l4 < 0 || view.fragmentOffset !== 0) return -1;
  if (view.protocol === IpProtocol.UDP) return l4 + UDP_HEADER_BYTES <= capEnd ? l4 + UDP_HEADER_BYTES : -1;
  if (view.protocol !== IpProtocol.TCP || l4 + TCP_MIN_HEADER_BYTES > capEnd) return -1;
  const headerBytes = (data[l4 + 12]! >>> 4) * 4;
  return headerBytes >= TCP_MIN_HEADER_BYTES && l4 + headerBytes <= capEnd ? l4 + headerBytes : -1;
}

/**
 * Captured payload bytes from `payloadOffset` (l4PayloadOffset's answer): the IP lengths say how
 * many the packet has, the capture end how many are here; link padding is never payload.
 */
export function l4PayloadLength(data: Uint8Array, capEnd: number, view: PacketView, payloadOffset: number): number {
  if (payloadOffset < 0) return 0;
  const l4 = view.l4Offset;
  let byIp = view.payloadLength; // decodeTransport sets it past the TCP/UDP header
  if (view.protocol === IpProtocol.UDP && l4 + 6 <= capEnd) {
    const udpLength = readU16(data, l4 + 4) - UDP_HEADER_BYTES; // the UDP length may be below the IP's
    if (udpLength >= 0 && udpLength < byIp) byIp = udpLength;
  }
  const captured = capEnd - payloadOffset;
  const length = byIp < captured ? byIp : captured;
  return length > 0 ? length : 0;
}
