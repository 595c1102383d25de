/**
 * Result codes of decodePacket. The hot path returns one of these instead of throwing; the meter
 * counts each code in a Float64Array indexed by it (see DECODE_STATUS_NAMES).
 *
 * OK is the only status whose packet reaches the flow table. NOT_IP and UNSUPPORTED_LINK are
 * "ignored" (valid frames tapflow does not meter); every other status is "malformed".
 */
export const DecodeStatus = {
  OK: 0,
  /** A valid frame carrying something other than IPv4/IPv6 (ARP, LLDP, STP, ...). */
  NOT_IP: 1,
  /** A link type the decoder does not handle (e.g. 802.11, NFLOG). */
  UNSUPPORTED_LINK: 2,
  /** Frame too short for its link header, a VLAN tag or an MPLS label. */
  TRUNCATED_LINK: 3,
  /** Too many VLAN tags or MPLS labels (bounded walk). */
  TOO_MANY_LINK_LAYERS: 4,
  /** IP header not fully captured. */
  TRUNCATED_IP: 5,
  /** IP version nibble does not match the EtherType / link type. */
  BAD_IP_VERSION: 6,
  /** IPv4 IHL < 5. */
  BAD_IPV4_HEADER_LENGTH: 7,
  /** IP total/payload length smaller than the header or larger than the frame on the wire. */
  BAD_IP_LENGTH: 8,
  /** An IPv6 extension header runs past the captured data or past the payload length. */
  TRUNCATED_IPV6_EXTENSION: 9,
  /** More IPv6 extension headers than the bounded walk allows. */
  TOO_MANY_IPV6_EXTENSIONS: 10,
  /** The transport ports (or ICMP type/code) were not captured. */
  TRUNCATED_TRANSPORT: 11,
  /** TCP data offset < 5 or beyond the IP payload; UDP length < 8. */
  BAD_TRANSPORT_HEADER: 12,
} as const;

export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

/** snake_case names for counters and reports, indexed by status value. */
export const DECODE_STATUS_NAMES: readonly string[] = [
  'ok',
  'not_ip',
  'unsupported_link',
  'truncated_link',
  'too_many_link_layers',
  'truncated_ip',
  'bad_ip_version',
  'bad_ipv4_header_length',
  'bad_ip_length',
  'truncated_ipv6_extension',
  'too_many_ipv6_extensions',
  'truncated_transport',
  'bad_transport_header',
];

export const DECODE_STATUS_COUNT = DECODE_STATUS_NAMES.length;

/** True for statuses that mean the packet was broken (as opposed to valid but not metered). */
export function isMalformed(status: number): boolean {
  return status > DecodeStatus.UNSUPPORTED_LINK;
}
