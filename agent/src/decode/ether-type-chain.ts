import { readU16 } from './byte-reads.js';
import { DecodeStatus } from './decode-status.js';
import { LinkResult } from './link-result.js';
import type { PacketView } from './packet-view.js';

/** Bounded walks: a frame with more tags or labels than this is counted, not followed. */
export const MAX_VLAN_TAGS = 8;
export const MAX_MPLS_LABELS = 16;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100; // IEEE 802.1Q C-tag
const ETHERTYPE_QINQ = 0x88a8; // IEEE 802.1ad S-tag
const ETHERTYPE_QINQ_LEGACY = 0x9100; // pre-standard Q-in-Q, still seen on some switches
const ETHERTYPE_MPLS_UNICAST = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const PPPOE_HEADER_BYTES = 6; // RFC 2516 §4: ver/type, code, session id, length

const VLAN_TAG_BYTES = 4;
const MPLS_LABEL_BYTES = 4;

/**
 * Follows an EtherType through VLAN tags, an MPLS label stack or a PPPoE session header to the IP
 * header. Shared by Ethernet, Linux SLL and SLL2, whose protocol fields are EtherTypes.
 *
 * `etherType` has been read already; `p` is the offset of the bytes it announces. Returns a
 * LinkResult with view.l3Offset set, or -status. Inspired by goflow2 producer/proto/producer_packet.go
 * (a loop over the EtherType with a bounded layer count); reimplemented from IEEE 802.1Q, RFC 3032
 * and RFC 2516.
 */
export function decodeEtherTypeChain(
  data: Uint8Array,
  etherType: number,
  p: number,
  capEnd: number,
  view: PacketView,
): number {
  let type = etherType;
  let tags = 0;
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_LEGACY) {
    if (tags === MAX_VLAN_TAGS) return -DecodeStatus.TOO_MANY_LINK_LAYERS;
    if (p + VLAN_TAG_BYTES > capEnd) return -DecodeStatus.TRUNCATED_LINK;
    const vlanId = readU16(data, p) & 0x0fff; // TCI: PCP (3 bits), DEI (1), VID (12)
    if (tags === 0) view.vlanId = vlanId;
    else if (tags === 1) view.innerVlanId = vlanId;
    type = readU16(data, p + 2);
    p += VLAN_TAG_BYTES;
    tags++;
  }

  switch (type) {
    case ETHERTYPE_IPV4:
      view.l3Offset = p;
      return LinkResult.IPV4;
    case ETHERTYPE_IPV6:
      view.l3Offset = p;
      return LinkResult.IPV6;
    case ETHERTYPE_MPLS_UNICAST:
    case ETHERTYPE_MPLS_MULTICAST:
      return skipMplsLabels(data, p, capEnd, view);
    case ETHERTYPE_PPPOE_SESSION:
      return decodePppoeSession(data, p, capEnd, view);
    default:
      // ARP, LLDP, PPPoE discovery, ... and 802.3 frames, whose field is a length (< ETHERTYPE_MIN)
      // followed by LLC (STP, CDP, ...): valid frames, not IP.
      return -DecodeStatus.NOT_IP;
  }
}

/** RFC 3032 §2.1: 20-bit label, 3-bit TC, bottom-of-stack bit (bit 8 of the third byte), TTL. */
function skipMplsLabels(data: Uint8Array, p: number, capEnd: number, view: PacketView): number {
  for (let labels = 0; labels < MAX_MPLS_LABELS; labels++) {
    if (p + MPLS_LABEL_BYTES > capEnd) return -DecodeStatus.TRUNCATED_LINK;
    const bottomOfStack = data[p + 2]! & 0x01;
    p += MPLS_LABEL_BYTES;
    if (bottomOfStack !== 0) {
      view.l3Offset = p;
      return LinkResult.IP_GUESS;
    }
  }
  return -DecodeStatus.TOO_MANY_LINK_LAYERS;
}

/**
 * RFC 2516 PPPoE session header, then the PPP protocol field (RFC 1661 §2), which may be
 * compressed to one byte when Protocol-Field-Compression was negotiated (an odd first byte).
 */
function decodePppoeSession(data: Uint8Array, p: number, capEnd: number, view: PacketView): number {
  const pppStart = p + PPPOE_HEADER_BYTES;
  if (pppStart + 1 > capEnd) return -DecodeStatus.TRUNCATED_LINK;
  let protocol: number;
  let l3 = pppStart;
  if ((data[pppStart]! & 0x01) !== 0) {
    protocol = data[pppStart]!;
    l3 += 1;
  } else {
    if (pppStart + 2 > capEnd) return -DecodeStatus.TRUNCATED_LINK;
    protocol = readU16(data, pppStart);
    l3 += 2;
  }
  view.l3Offset = l3;
  if (protocol === PPP_IPV4) return LinkResult.IPV4;
  if (protocol === PPP_IPV6) return LinkResult.IPV6;
  return -DecodeStatus.NOT_IP; // LCP, IPCP, CHAP, ...
}
