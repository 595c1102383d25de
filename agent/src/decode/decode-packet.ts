import { DecodeStatus } from './decode-status.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { linkDecoderFor } from './link-decoders.js';
import { type LinkDecoder, LinkResult } from './link-result.js';
import { MAC_DST, MAC_SRC, type PacketView } from './packet-view.js';

export { linkDecoderFor } from './link-decoders.js';

/**
 * Decodes one captured packet into `view` and returns a DecodeStatus; view fields are meaningful
 * only for OK. Never throws and allocates nothing: every read is checked against the captured
 * length first and values are composed from bytes with shifts.
 *
 * data[offset, offset + capLen) holds the captured bytes; wireLen is the frame's length on the wire
 * (IP lengths are checked against it, so a snaplen-truncated packet still decodes).
 */
export function decodePacket(
  data: Uint8Array,
  offset: number,
  capLen: number,
  wireLen: number,
  linkType: number,
  view: PacketView,
): DecodeStatus {
  const link = linkDecoderFor(linkType);
  if (link === null) {
    resetPacketView(view);
    return DecodeStatus.UNSUPPORTED_LINK;
  }
  return decodeLinkedPacket(link, data, offset, capLen, wireLen, view);
}

/** decodePacket with the link decoder picked once at start-up (see linkDecoderFor). */
export function decodeLinkedPacket(
  link: LinkDecoder,
  data: Uint8Array,
  offset: number,
  capLen: number,
  wireLen: number,
  view: PacketView,
): DecodeStatus {
  resetPacketView(view);
  let capEnd = offset + capLen;
  if (capEnd > data.length) capEnd = data.length; // a capLen larger than the buffer is a caller bug: read what exists
  if (!(offset >= 0 && capEnd > offset)) return DecodeStatus.TRUNCATED_LINK; // also rejects NaN
  const wireEnd = offset + (wireLen > capEnd - offset ? wireLen : capEnd - offset);

  const linkResult = link(data, offset, capEnd, view);
  if (linkResult < 0) return -linkResult as DecodeStatus;

  const p = view.l3Offset;
  // After MPLS nothing says IP follows, so a stack that fills the capture is a truncated link.
  if (p >= capEnd) return linkResult === LinkResult.IP_GUESS ? DecodeStatus.TRUNCATED_LINK : DecodeStatus.TRUNCATED_IP;
  const version = data[p]! >>> 4;
  switch (linkResult) {
    case LinkResult.IPV4:
      if (version !== 4) return DecodeStatus.BAD_IP_VERSION;
      break;
    case LinkResult.IPV6:
      if (version !== 6) return DecodeStatus.BAD_IP_VERSION;
      break;
    case LinkResult.IP_GUESS:
      if (version !== 4 && version !== 6) return DecodeStatus.NOT_IP;
      break;
    default: // IP_BY_VERSION
      if (version !== 4 && version !== 6) return DecodeStatus.BAD_IP_VERSION;
  }
  return version === 4 ? decodeIpv4(data, p, capEnd, wireEnd, view) : decodeIpv6(data, p, capEnd, wireEnd, view);
}

/** Clears every field decoding sets, so nothing leaks from the previous packet into this one. */
export function resetPacketView(view: PacketView): void {
  view.ipVersion = 0;
  const src = view.srcAddr;
  const dst = view.dstAddr;
  src[0] = src[1] = src[2] = src[3] = 0;
  dst[0] = dst[1] = dst[2] = dst[3] = 0;
  view.protocol = 0;
  view.srcPort = 0;
  view.dstPort = 0;
  view.icmpTypeCode = 0;
  view.tcpFlags = 0;
  view.tcpSeq = 0;
  view.tcpAck = 0;
  view.tcpWindow = 0;
  view.ipLength = 0;
  view.payloadLength = 0;
  view.ttl = 0;
  view.tos = 0;
  view.vlanId = 0;
  view.innerVlanId = 0;
  view.macs[MAC_SRC] = 0;
  view.macs[MAC_DST] = 0;
  view.isFragment = 0;
  view.fragmentOffset = 0;
  view.moreFragments = 0;
  view.fragmentId = 0;
  view.l4Offset = -1;
  view.l3Offset = 0;
}
