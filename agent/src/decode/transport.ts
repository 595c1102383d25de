import { readI32, readU16 } from './byte-reads.js';
import { DecodeStatus } from './decode-status.js';
import type { PacketView } from './packet-view.js';

export const IpProtocol = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  DCCP: 33,
  IPV6_IN_IP: 41,
  IPV6_ROUTING: 43,
  IPV6_FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  IPV6_DEST_OPTIONS: 60,
  SCTP: 132,
  UDP_LITE: 136,
} as const;

const TCP_MIN_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
const SCTP_COMMON_HEADER_BYTES = 12;
const DCCP_MIN_HEADER_BYTES = 12;
const ICMP_MIN_HEADER_BYTES = 4; // type, code, checksum (RFC 792, RFC 4443)
const PORT_BYTES = 4;
/** RFC 2675 §4: a UDP length of 0 is allowed only for a jumbogram's payload (> 65535 bytes). */
const MAX_NON_JUMBO_PAYLOAD_BYTES = 0xffff;

/**
 * Decodes the transport header at `l4` of a packet whose IP payload ends at `ipEnd`. Only bytes
 * before min(capEnd, ipEnd) are read: bytes past the IP length are link padding, not transport.
 *
 * view.protocol is set. `firstFragment` is 1 when this packet is the first fragment of a larger
 * datagram: its transport header may legitimately continue in the next fragment, so a short IP
 * payload is then not a bad header, just fields we cannot see.
 *
 * Tunnels (GRE 47, IP-in-IP 4, 6in4 41, VXLAN/Geneve/GTP-U over UDP, ESP 50) are metered as the
 * OUTER packet: protocol and ports of the outer header, nothing inside is decoded. The inner
 * traffic belongs to whoever terminates the tunnel, and decoding it would need one view per layer.
 */
export function decodeTransport(
  data: Uint8Array,
  l4: number,
  ipEnd: number,
  capEnd: number,
  firstFragment: number,
  view: PacketView,
): DecodeStatus {
  const payloadBytes = ipEnd - l4;
  const readEnd = capEnd < ipEnd ? capEnd : ipEnd;
  view.payloadLength = payloadBytes;
  switch (view.protocol) {
    case IpProtocol.TCP:
      return decodeTcp(data, l4, payloadBytes, readEnd, firstFragment, view);
    case IpProtocol.UDP:
    case IpProtocol.UDP_LITE:
      return decodeUdp(data, l4, payloadBytes, readEnd, firstFragment, view);
    case IpProtocol.SCTP:
      return decodePortsOnly(data, l4, payloadBytes, readEnd, firstFragment, SCTP_COMMON_HEADER_BYTES, view);
    case IpProtocol.DCCP:
      return decodePortsOnly(data, l4, payloadBytes, readEnd, firstFragment, DCCP_MIN_HEADER_BYTES, view);
    case IpProtocol.ICMP:
    case IpProtocol.ICMPV6:
      return decodeIcmp(data, l4, payloadBytes, readEnd, firstFragment, view);
    default:
      return DecodeStatus.OK; // a protocol without ports (GRE, ESP, OSPF, No Next Header, ...)
  }
}

/**
 * The checks every port-carrying header shares. Returns OK when the ports are readable; the IP
 * length is judged before the capture length, because a header the IP length has no room for is
 * broken whatever the snaplen.
 */
function checkHeaderRoom(
  l4: number,
  payloadBytes: number,
  readEnd: number,
  firstFragment: number,
  minHeaderBytes: number,
  neededBytes: number,
): DecodeStatus {
  if (firstFragment === 0 && payloadBytes < minHeaderBytes) return DecodeStatus.BAD_TRANSPORT_HEADER;
  if (l4 + neededBytes > readEnd) return DecodeStatus.TRUNCATED_TRANSPORT;
  return DecodeStatus.OK;
}

function readPorts(data: Uint8Array, l4: number, view: PacketView): void {
  view.l4Offset = l4;
  view.srcPort = readU16(data, l4);
  view.dstPort = readU16(data, l4 + 2);
}

/**
 * RFC 9293 §3.1. Fields beyond the ports are filled only when captured, so a snaplen that cuts the
 * header still meters the packet (flags then read as 0). The flags byte plus the AE bit (RFC 9768,
 * formerly NS, low bit of the data-offset byte) make the IPFIX tcpControlBits layout.
 */
function decodeTcp(
  data: Uint8Array,
  l4: number,
  payloadBytes: number,
  readEnd: number,
  firstFragment: number,
  view: PacketView,
): DecodeStatus {
  const room = checkHeaderRoom(l4, payloadBytes, readEnd, firstFragment, TCP_MIN_HEADER_BYTES, PORT_BYTES);
  if (room !== DecodeStatus.OK) return room;
  readPorts(data, l4, view);
  let headerBytes = TCP_MIN_HEADER_BYTES; // assumed when the data offset was not captured
  if (l4 + 14 <= readEnd) {
    headerBytes = (data[l4 + 12]! >>> 4) * 4;
    if (headerBytes < TCP_MIN_HEADER_BYTES) return DecodeStatus.BAD_TRANSPORT_HEADER;
    if (firstFragment === 0 && headerBytes > payloadBytes) return DecodeStatus.BAD_TRANSPORT_HEADER;
    view.tcpFlags = data[l4 + 13]! | ((data[l4 + 12]! & 0x01) << 8);
  }
  if (l4 + 8 <= readEnd) view.tcpSeq = readI32(data, l4 + 4) >>> 0;
  if (l4 + 12 <= readEnd) view.tcpAck = readI32(data, l4 + 8) >>> 0;
  if (l4 + 16 <= readEnd) view.tcpWindow = readU16(data, l4 + 14);
  view.payloadLength = payloadBytes > headerBytes ? payloadBytes - headerBytes : 0;
  return DecodeStatus.OK;
}

/** RFC 768 (and UDP-Lite, RFC 3828, whose second word is a checksum coverage, also >= 8 or 0). */
function decodeUdp(
  data: Uint8Array,
  l4: number,
  payloadBytes: number,
  readEnd: number,
  firstFragment: number,
  view: PacketView,
): DecodeStatus {
  const room = checkHeaderRoom(l4, payloadBytes, readEnd, firstFragment, UDP_HEADER_BYTES, PORT_BYTES);
  if (room !== DecodeStatus.OK) return room;
  if (l4 + 6 <= readEnd) {
    const udpLength = readU16(data, l4 + 4);
    const jumboOrLite = udpLength === 0 && (payloadBytes > MAX_NON_JUMBO_PAYLOAD_BYTES || view.protocol === IpProtocol.UDP_LITE);
    if (udpLength < UDP_HEADER_BYTES && !jumboOrLite) return DecodeStatus.BAD_TRANSPORT_HEADER;
  }
  readPorts(data, l4, view);
  view.payloadLength = payloadBytes > UDP_HEADER_BYTES ? payloadBytes - UDP_HEADER_BYTES : 0;
  return DecodeStatus.OK;
}

/** SCTP (RFC 9260 §3.1) and DCCP (RFC 4340 §5.1) start with the two ports like TCP and UDP. */
function decodePortsOnly(
  data: Uint8Array,
  l4: number,
  payloadBytes: number,
  readEnd: number,
  firstFragment: number,
  minHeaderBytes: number,
  view: PacketView,
): DecodeStatus {
  const room = checkHeaderRoom(l4, payloadBytes, readEnd, firstFragment, minHeaderBytes, PORT_BYTES);
  if (room !== DecodeStatus.OK) return room;
  readPorts(data, l4, view);
  view.payloadLength = payloadBytes > minHeaderBytes ? payloadBytes - minHeaderBytes : 0;
  return DecodeStatus.OK;
}

/**
 * ICMP and ICMPv6 have no ports; following IPFIX practice (icmpTypeCodeIPv4, IE 32) the flow key
 * uses type << 8 | code as the destination port and 0 as the source port, so echo requests and
 * replies, or different errors, are separate flows.
 */
function decodeIcmp(
  data: Uint8Array,
  l4: number,
  payloadBytes: number,
  readEnd: number,
  firstFragment: number,
  view: PacketView,
): DecodeStatus {
  const room = checkHeaderRoom(l4, payloadBytes, readEnd, firstFragment, ICMP_MIN_HEADER_BYTES, 2);
  if (room !== DecodeStatus.OK) return room;
  const typeCode = readU16(data, l4);
  view.l4Offset = l4;
  view.icmpTypeCode = typeCode;
  view.srcPort = 0;
  view.dstPort = typeCode;
  view.payloadLength = payloadBytes > ICMP_MIN_HEADER_BYTES ? payloadBytes - ICMP_MIN_HEADER_BYTES : 0;
  return DecodeStatus.OK;
}
