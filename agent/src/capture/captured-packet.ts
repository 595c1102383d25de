/**
 * The one record a packet source fills for every packet it delivers.
 *
 * Sources reuse a single instance and a single backing buffer, so a consumer must finish with
 * the packet before returning from its handler and must never keep `data` or a view of it.
 */
export class CapturedPacket {
  /** Backing bytes; the packet occupies data[offset, offset + capLen). Borrowed, reused. */
  data: Uint8Array = new Uint8Array(0);
  offset = 0;
  /** Bytes captured (what is in `data`). */
  capLen = 0;
  /** Bytes on the wire (capLen or more, when the capture truncated the frame). */
  wireLen = 0;
  /** Capture time in microseconds since the Unix epoch (float64; may carry a fraction). */
  tsUs = 0;
  /** LINKTYPE_* value (https://www.tcpdump.org/linktypes.html), low 16 bits only. */
  linkType = 0;
  /** pcapng interface id within its section, or the live interface's index; 0 for classic pcap. */
  interfaceId = 0;
}

/** Called once per packet, synchronously; see CapturedPacket for the borrowing rule. */
export type PacketHandler = (packet: CapturedPacket) => void;
