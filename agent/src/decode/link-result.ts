import type { PacketView } from './packet-view.js';

/**
 * What a link-layer decoder found, as one small integer so the hot path returns no object.
 *
 * A positive value names the network layer the link announced (the decoder has stored its offset
 * in view.l3Offset); a negative value is a failure, -DecodeStatus (NOT_IP, TRUNCATED_LINK, ...).
 * OK (0) is never returned by a link decoder.
 */
export const LinkResult = {
  /** EtherType 0x0800, AF_INET, LINKTYPE_IPV4, PPP 0x0021: the version nibble must be 4. */
  IPV4: 1,
  /** EtherType 0x86DD, AF_INET6, LINKTYPE_IPV6, PPP 0x0057: the version nibble must be 6. */
  IPV6: 2,
  /** Raw IP link types (101, 12, 14): the version nibble decides; anything but 4 or 6 is BAD_IP_VERSION. */
  IP_BY_VERSION: 3,
  /**
   * After an MPLS bottom-of-stack label nothing says what follows (RFC 3032 §2.2 leaves it to the
   * label binding), so the version nibble is a guess: 4 or 6 is IP, anything else (a pseudowire
   * control word or Ethernet) is NOT_IP.
   */
  IP_GUESS: 4,
} as const;

/**
 * Decodes one link header at `offset`, reading nothing at or past `capEnd`. Sets view.l3Offset,
 * plus vlanId/innerVlanId/srcMac/dstMac where the link has them; returns a LinkResult or -status.
 */
export type LinkDecoder = (data: Uint8Array, offset: number, capEnd: number, view: PacketView) => number;
