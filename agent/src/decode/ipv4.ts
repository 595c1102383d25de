import { readI32, readU16 } from './byte-reads.js';
import { DecodeStatus } from './decode-status.js';
import type { PacketView } from './packet-view.js';
import { decodeTransport } from './transport.js';

const IPV4_MIN_HEADER_BYTES = 20;
const MORE_FRAGMENTS_BIT = 0x2000;
const FRAGMENT_OFFSET_MASK = 0x1fff;

/**
 * RFC 791 header at `p` (version nibble already checked to be 4). `wireEnd` is where the frame
 * ended on the wire, which may be past `capEnd` when the snaplen cut it.
 *
 * Total length 0 is what TSO / Linux BIG TCP captures show for a super-frame larger than the field
 * can hold (or not yet filled in by the NIC); the frame's wire length is the best measure then.
 */
export function decodeIpv4(
  data: Uint8Array,
  p: number,
  capEnd: number,
  wireEnd: number,
  view: PacketView,
): DecodeStatus {
  const headerBytes = (data[p]! & 0x0f) * 4;
  if (headerBytes < IPV4_MIN_HEADER_BYTES) return DecodeStatus.BAD_IPV4_HEADER_LENGTH;
  if (p + headerBytes > capEnd) return DecodeStatus.TRUNCATED_IP;

  const wireBytes = wireEnd - p;
  let totalLength = readU16(data, p + 2);
  if (totalLength === 0 && wireBytes > headerBytes) totalLength = wireBytes;
  else if (totalLength < headerBytes || totalLength > wireBytes) return DecodeStatus.BAD_IP_LENGTH;

  view.ipVersion = 4;
  view.tos = data[p + 1]!;
  view.ttl = data[p + 8]!;
  view.protocol = data[p + 9]!;
  view.srcAddr[0] = readI32(data, p + 12);
  view.dstAddr[0] = readI32(data, p + 16);
  view.ipLength = totalLength;
  view.fragmentId = readU16(data, p + 4);

  const flagsAndOffset = readU16(data, p + 6);
  const fragmentOffset = flagsAndOffset & FRAGMENT_OFFSET_MASK;
  const moreFragments = (flagsAndOffset & MORE_FRAGMENTS_BIT) !== 0 ? 1 : 0;
  if (fragmentOffset !== 0 || moreFragments !== 0) {
    view.isFragment = 1;
    view.fragmentOffset = fragmentOffset;
    view.moreFragments = moreFragments;
    if (fragmentOffset !== 0) {
      // Not the first fragment: no transport header here; FragmentMap may attribute the ports.
      view.payloadLength = totalLength - headerBytes;
      return DecodeStatus.OK;
    }
  }
  return decodeTransport(data, p + headerBytes, p + totalLength, capEnd, moreFragments, view);
}
