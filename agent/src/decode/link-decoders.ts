import { readI32, readI32Le, readU16 } from './byte-reads.js';
import { DecodeStatus } from './decode-status.js';
import { decodeEtherTypeChain } from './ether-type-chain.js';
import { type LinkDecoder, LinkResult } from './link-result.js';
import { MAC_DST, MAC_SRC, type PacketView } from './packet-view.js';

/** LINKTYPE_* values, https://www.tcpdump.org/linktypes.html */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_LEGACY_12: 12,
  RAW_LEGACY_14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const ETHERNET_HEADER_BYTES = 14;
const SLL_HEADER_BYTES = 16;
const SLL2_HEADER_BYTES = 20;
const NULL_HEADER_BYTES = 4;
const ARPHRD_ETHER = 1;
const MAC_BYTES = 6;

/** BSD address-family values for IPv6 differ per OS: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). */
const AF_INET = 2;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

/**
 * Ethernet II / 802.3: destination MAC, source MAC, EtherType or length. The 48-bit MACs are
 * composed right where they are stored (not in a helper) so the double never crosses a call, where
 * V8 would box it on the heap.
 */
function decodeEthernet(data: Uint8Array, offset: number, capEnd: number, view: PacketView): number {
  if (offset + ETHERNET_HEADER_BYTES > capEnd) return -DecodeStatus.TRUNCATED_LINK;
  view.macs[MAC_DST] = readU16(data, offset) * 0x1_0000_0000 + (readI32(data, offset + 2) >>> 0);
  view.macs[MAC_SRC] = readU16(data, offset + 6) * 0x1_0000_0000 + (readI32(data, offset + 8) >>> 0);
  return decodeEtherTypeChain(data, readU16(data, offset + 12), offset + ETHERNET_HEADER_BYTES, capEnd, view);
}

/**
 * Linux cooked capture v1 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html): packet type,
 * ARPHRD type, address length, 8 address bytes, protocol (an EtherType for the links we meter).
 * Only the sender's address is recorded, so only srcMac can be filled.
 */
function decodeLinuxSll(data: Uint8Array, offset: number, capEnd: number, view: PacketView): number {
  if (offset + SLL_HEADER_BYTES > capEnd) return -DecodeStatus.TRUNCATED_LINK;
  if (readU16(data, offset + 2) === ARPHRD_ETHER && readU16(data, offset + 4) === MAC_BYTES) {
    view.macs[MAC_SRC] = readU16(data, offset + 6) * 0x1_0000_0000 + (readI32(data, offset + 8) >>> 0);
  }
  return decodeEtherTypeChain(data, readU16(data, offset + 14), offset + SLL_HEADER_BYTES, capEnd, view);
}

/**
 * Linux cooked capture v2 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html): protocol,
 * reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes.
 */
function decodeLinuxSll2(data: Uint8Array, offset: number, capEnd: number, view: PacketView): number {
  if (offset + SLL2_HEADER_BYTES > capEnd) return -DecodeStatus.TRUNCATED_LINK;
  if (readU16(data, offset + 8) === ARPHRD_ETHER && data[offset + 11] === MAC_BYTES) {
    view.macs[MAC_SRC] = readU16(data, offset + 12) * 0x1_0000_0000 + (readI32(data, offset + 14) >>> 0);
  }
  return decodeEtherTypeChain(data, readU16(data, offset), offset + SLL2_HEADER_BYTES, capEnd, view);
}

function ipForAddressFamily(family: number, offset: number, view: PacketView): number {
  view.l3Offset = offset + NULL_HEADER_BYTES;
  if (family === AF_INET) return LinkResult.IPV4;
  if (family === AF_INET6_BSD || family === AF_INET6_FREEBSD || family === AF_INET6_DARWIN) return LinkResult.IPV6;
  return -DecodeStatus.NOT_IP;
}

/**
 * LINKTYPE_NULL: a 4-byte address family in the byte order of the machine that captured, which a
 * reader cannot know. Family values are small, so whichever reading fits in 16 bits is the right one.
 */
function decodeNull(data: Uint8Array, offset: number, capEnd: number, view: PacketView): number {
  if (offset + NULL_HEADER_BYTES > capEnd) return -DecodeStatus.TRUNCATED_LINK;
  const littleEndian = readI32Le(data, offset);
  const family = (littleEndian & ~0xffff) === 0 ? littleEndian : readI32(data, offset);
  return ipForAddressFamily(family, offset, view);
}

/** LINKTYPE_LOOP (OpenBSD loopback): the same family field, always in network byte order. */
function decodeLoop(data: Uint8Array, offset: number, capEnd: number, view: PacketView): number {
  if (offset + NULL_HEADER_BYTES > capEnd) return -DecodeStatus.TRUNCATED_LINK;
  return ipForAddressFamily(readI32(data, offset), offset, view);
}

function decodeRawIp(_data: Uint8Array, offset: number, _capEnd: number, view: PacketView): number {
  view.l3Offset = offset;
  return LinkResult.IP_BY_VERSION;
}

function decodeRawIpv4(_data: Uint8Array, offset: number, _capEnd: number, view: PacketView): number {
  view.l3Offset = offset;
  return LinkResult.IPV4;
}

function decodeRawIpv6(_data: Uint8Array, offset: number, _capEnd: number, view: PacketView): number {
  view.l3Offset = offset;
  return LinkResult.IPV6;
}

/**
 * The link decoder for a LINKTYPE_* value, or null when tapflow does not meter that link
 * (decodePacket then returns UNSUPPORTED_LINK). Callers that know the link type at start-up can
 * pick once and pass the result to decodeLinkedPacket.
 */
export function linkDecoderFor(linkType: number): LinkDecoder | null {
  switch (linkType) {
    case LinkType.ETHERNET:
      return decodeEthernet;
    case LinkType.LINUX_SLL:
      return decodeLinuxSll;
    case LinkType.LINUX_SLL2:
      return decodeLinuxSll2;
    case LinkType.NULL:
      return decodeNull;
    case LinkType.LOOP:
      return decodeLoop;
    case LinkType.RAW:
    case LinkType.RAW_LEGACY_12:
    case LinkType.RAW_LEGACY_14:
      return decodeRawIp;
    case LinkType.IPV4:
      return decodeRawIpv4;
    case LinkType.IPV6:
      return decodeRawIpv6;
    default:
      return null;
  }
}
