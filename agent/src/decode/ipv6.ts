import { readI32, readU16 } from './byte-reads.js';
import { DecodeStatus } from './decode-status.js';
import type { PacketView } from './packet-view.js';
import { decodeTransport, IpProtocol } from './transport.js';

const IPV6_HEADER_BYTES = 40;
const FRAGMENT_HEADER_BYTES = 8;
/** Bounded walk: a chain longer than this is counted as TOO_MANY_IPV6_EXTENSIONS, not followed. */
export const MAX_IPV6_EXTENSION_HEADERS = 8;

const OPTION_PAD1 = 0x00;
const OPTION_JUMBO_PAYLOAD = 0xc2; // RFC 2675 §2
const JUMBO_OPTION_DATA_BYTES = 4;
/** RFC 2675 §3: a Jumbo Payload length must exceed what the 16-bit payload length can hold. */
const MIN_JUMBO_PAYLOAD_BYTES = 0x10000;
/** Marks "no Jumbo Payload option seen" (below MIN_JUMBO_PAYLOAD_BYTES, so it reads as invalid). */
const NO_JUMBO = -1;
/** Larger than any packet the 16-bit payload length can describe. */
const MAX_NON_JUMBO_PACKET_BYTES = IPV6_HEADER_BYTES + 0xffff;

/**
 * RFC 8200 header at `p` (version nibble already checked to be 6), then a bounded walk over the
 * extension headers to the first header that is not one: that is view.protocol.
 *
 * Walked: Hop-by-Hop (0), Routing (43), Fragment (44), Destination Options (60) and AH (51, whose
 * length is in 4-octet units, RFC 4302 §2.2). Everything else ends the walk: TCP, UDP, ICMPv6,
 * SCTP, ESP (50: encrypted, no ports), No Next Header (59), and Mobility (135), HIP (139) and Shim6
 * (140), which IANA lists as extension headers but which carry their own message and always say
 * "No Next Header" (RFC 6275 §6.1.1), so their own number is the more useful protocol.
 *
 * Payload length 0 means a Jumbo Payload option in the Hop-by-Hop header (RFC 2675); or, without
 * one, a Linux BIG TCP super-frame captured on the sender (newer kernels no longer insert the
 * option), whose length only the wire knows: accepted only when the frame is longer than the
 * 16-bit field could describe; or an empty packet (next header 59, nothing follows).
 */
export function decodeIpv6(
  data: Uint8Array,
  p: number,
  capEnd: number,
  wireEnd: number,
  view: PacketView,
): DecodeStatus {
  if (p + IPV6_HEADER_BYTES > capEnd) return DecodeStatus.TRUNCATED_IP;
  const wireBytes = wireEnd - p;
  const payloadLength = readU16(data, p + 4);
  if (IPV6_HEADER_BYTES + payloadLength > wireBytes) return DecodeStatus.BAD_IP_LENGTH;

  view.ipVersion = 6;
  view.tos = ((data[p]! & 0x0f) << 4) | (data[p + 1]! >>> 4);
  view.ttl = data[p + 7]!;
  for (let word = 0; word < 4; word++) {
    view.srcAddr[word] = readI32(data, p + 8 + word * 4);
    view.dstAddr[word] = readI32(data, p + 24 + word * 4);
  }

  let nextHeader = data[p + 6]!;
  let ipEnd = p + IPV6_HEADER_BYTES + payloadLength;
  if (payloadLength === 0) {
    // Only a first Hop-by-Hop header can hold a Jumbo Payload option; until it is read, the wire bounds the walk.
    ipEnd = nextHeader === IpProtocol.HOP_BY_HOP ? wireEnd : endWithoutJumbo(p, nextHeader, wireEnd);
    if (ipEnd < 0) return DecodeStatus.BAD_IP_LENGTH;
  }
  let q = p + IPV6_HEADER_BYTES;
  let headers = 0;
  let firstFragment = 0;

  for (;;) {
    if (!isWalkedExtension(nextHeader)) break;
    if (headers === MAX_IPV6_EXTENSION_HEADERS) return DecodeStatus.TOO_MANY_IPV6_EXTENSIONS;
    if (q + 2 > capEnd) return DecodeStatus.TRUNCATED_IPV6_EXTENSION;
    const headerBytes =
      nextHeader === IpProtocol.IPV6_FRAGMENT
        ? FRAGMENT_HEADER_BYTES
        : nextHeader === IpProtocol.AH
          ? (data[q + 1]! + 2) * 4
          : (data[q + 1]! + 1) * 8;
    if (q + headerBytes > capEnd) return DecodeStatus.TRUNCATED_IPV6_EXTENSION;

    if (nextHeader === IpProtocol.HOP_BY_HOP && headers === 0 && payloadLength === 0) {
      // RFC 2675 §3: payload length 0 with a Hop-by-Hop header but no (valid) Jumbo Payload is an error.
      const jumboBytes = findJumboPayloadLength(data, q + 2, q + headerBytes);
      if (jumboBytes < MIN_JUMBO_PAYLOAD_BYTES || IPV6_HEADER_BYTES + jumboBytes > wireBytes) {
        return DecodeStatus.BAD_IP_LENGTH;
      }
      ipEnd = p + IPV6_HEADER_BYTES + jumboBytes;
    }
    if (q + headerBytes > ipEnd) return DecodeStatus.TRUNCATED_IPV6_EXTENSION;

    if (nextHeader === IpProtocol.IPV6_FRAGMENT) {
      const offsetAndFlags = readU16(data, q + 2);
      const fragmentOffset = offsetAndFlags >>> 3;
      const moreFragments = offsetAndFlags & 0x01;
      // An atomic fragment (offset 0, M = 0, RFC 6946) is a whole packet: not a fragment for flows.
      if (fragmentOffset !== 0 || moreFragments !== 0) {
        view.isFragment = 1;
        view.fragmentOffset = fragmentOffset;
        view.moreFragments = moreFragments;
        view.fragmentId = readI32(data, q + 4) >>> 0;
        firstFragment = fragmentOffset === 0 ? 1 : 0;
        if (fragmentOffset !== 0) {
          // The rest of the chain is in the first fragment; FragmentMap may attribute the ports.
          view.protocol = data[q]!;
          view.ipLength = ipEnd - p;
          view.payloadLength = ipEnd - q - FRAGMENT_HEADER_BYTES;
          return DecodeStatus.OK;
        }
      }
    }
    nextHeader = data[q]!;
    q += headerBytes;
    headers++;
  }

  view.ipLength = ipEnd - p;
  view.protocol = nextHeader;
  return decodeTransport(data, q, ipEnd, capEnd, firstFragment, view);
}

/** Where a packet with payload length 0 and no Jumbo Payload option ends, or -1 if it cannot. */
function endWithoutJumbo(p: number, firstNextHeader: number, wireEnd: number): number {
  // A genuinely empty packet; anything after it on the wire is link padding.
  if (firstNextHeader === IpProtocol.NO_NEXT_HEADER) return p + IPV6_HEADER_BYTES;
  return wireEnd - p > MAX_NON_JUMBO_PACKET_BYTES ? wireEnd : -1;
}

function isWalkedExtension(nextHeader: number): boolean {
  return (
    nextHeader === IpProtocol.HOP_BY_HOP ||
    nextHeader === IpProtocol.IPV6_ROUTING ||
    nextHeader === IpProtocol.IPV6_FRAGMENT ||
    nextHeader === IpProtocol.IPV6_DEST_OPTIONS ||
    nextHeader === IpProtocol.AH
  );
}

/**
 * Scans Hop-by-Hop options in [start, end) (RFC 8200 §4.2 TLVs; Pad1 is a lone byte) for a Jumbo
 * Payload option. Every step advances at least one byte, so the scan is bounded by the header size.
 */
function findJumboPayloadLength(data: Uint8Array, start: number, end: number): number {
  let o = start;
  while (o < end) {
    const type = data[o]!;
    if (type === OPTION_PAD1) {
      o++;
      continue;
    }
    if (o + 2 > end) break;
    const length = data[o + 1]!;
    if (type === OPTION_JUMBO_PAYLOAD && length === JUMBO_OPTION_DATA_BYTES && o + 6 <= end) {
      return readI32(data, o + 2); // >= 2^31 reads negative: invalid like NO_JUMBO, and never boxed
    }
    o += 2 + length;
  }
  return NO_JUMBO;
}
