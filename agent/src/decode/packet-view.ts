/**
 * The single reused result of decoding one packet (see decode-packet.ts).
 *
 * Every field is a number or a preallocated typed array so that decoding allocates nothing.
 * Fields are only meaningful when decodePacket returned DecodeStatus.OK.
 */
export const MAC_SRC = 0;
export const MAC_DST = 1;

export class PacketView {
  /** 4 or 6. */
  ipVersion = 0;
  /** IPv4 address in [0] (host order number of the 4 bytes, big-endian read); IPv6 as four 32-bit words. */
  readonly srcAddr = new Uint32Array(4);
  readonly dstAddr = new Uint32Array(4);
  /** IP protocol number of the transport header (after IPv6 extension headers). */
  protocol = 0;
  /** Transport ports; for ICMP/ICMPv6 srcPort = 0 and dstPort = type << 8 | code. 0 when unknown (non-first fragment). */
  srcPort = 0;
  dstPort = 0;
  /** ICMP/ICMPv6 type << 8 | code; 0 for other protocols. */
  icmpTypeCode = 0;
  /** TCP flags: the low 8 bits of the flags byte plus the AE/NS bit as 0x100 (tcpControlBits layout). */
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 0;
  /** Octets of the IP packet counted for the flow: IPv4 total length / IPv6 40 + payload length. */
  ipLength = 0;
  /** Transport payload bytes by the IP lengths (not limited by capture length). */
  payloadLength = 0;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl = 0;
  /** IPv4 TOS / IPv6 traffic class byte. */
  tos = 0;
  /** Outermost 802.1Q/802.1ad VLAN id, 0 when untagged; innerVlanId is the second tag's. */
  vlanId = 0;
  innerVlanId = 0;
  /**
   * Ethernet addresses as 48-bit integers (exact in a float64), [MAC_SRC] and [MAC_DST]; 0 when the
   * link has none. A typed array, not two number fields: V8 boxed the 48-bit values stored in
   * plain fields (measured: 32 heap bytes per new flow), never typed-array elements.
   */
  readonly macs = new Float64Array(2);
  get srcMac(): number {
    return this.macs[MAC_SRC]!;
  }
  get dstMac(): number {
    return this.macs[MAC_DST]!;
  }
  /** Fragment state: isFragment is 1 for any fragment (first or not); fragmentOffset in 8-octet units. */
  isFragment = 0;
  fragmentOffset = 0;
  moreFragments = 0;
  /** IPv4 identification (16 bits) or IPv6 fragment identification (32 bits). */
  fragmentId = 0;
  /** Offset in the packet buffer of the transport header, -1 if not captured. */
  l4Offset = -1;
  /** Offset of the IP header in the packet buffer. */
  l3Offset = 0;
  /**
   * Capture time of the packet (µs since the epoch), set by the meter, not by decoding. It travels
   * in the view because a float64 passed as an argument to a call V8 does not inline is boxed on
   * the heap: one allocation per packet.
   */
  tsUs = 0;
}
