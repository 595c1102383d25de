import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * A small classic-pcap writer (little-endian, µs or ns timestamps) and pure packet builders for
 * tests and benchmarks. Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-03.html.
 *
 * The writer streams records through one reused 1 MiB buffer (fs.writeSync when it fills), so a
 * multi-gigabyte capture costs no more memory than a small one.
 *
 * Checksums: the IPv4 header checksum is always correct. TCP, UDP, ICMP and ICMPv6 checksums are
 * correct too, cheaply, because the builders zero-fill the payload: zero bytes add nothing to the
 * ones'-complement sum, so only the pseudo-header and the transport header are summed.
 */

export const LINKTYPE_ETHERNET = 1;
const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
const WRITE_BUFFER_BYTES = 1024 * 1024;
const DEFAULT_SNAPLEN_BYTES = 65_535;

export interface PcapWriterOptions {
  /** Timestamp resolution of the file: 'us' (magic a1b2c3d4, default) or 'ns' (a1b23c4d). */
  resolution?: 'us' | 'ns';
  snapLenBytes?: number;
  linkType?: number;
}

export class PcapWriter {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private readonly fractionPerUs: number;
  private readonly snapLenBytes: number;
  private used = 0;
  packetsWritten = 0;
  /** File bytes written so far, headers included (buffered bytes count). */
  bytesWritten = 0;

  constructor(path: string, options: PcapWriterOptions = {}) {
    const resolution = options.resolution ?? 'us';
    this.fractionPerUs = resolution === 'ns' ? 1000 : 1;
    this.snapLenBytes = options.snapLenBytes ?? DEFAULT_SNAPLEN_BYTES;
    this.fd = openSync(path, 'w');
    const b = this.buffer;
    b.writeUInt32LE(resolution === 'ns' ? MAGIC_NS : MAGIC_US, 0);
    b.writeUInt16LE(2, 4); // version 2.4
    b.writeUInt16LE(4, 6);
    b.writeUInt32LE(0, 8); // thiszone, sigfigs: always 0
    b.writeUInt32LE(0, 12);
    b.writeUInt32LE(this.snapLenBytes, 16);
    b.writeUInt32LE(options.linkType ?? LINKTYPE_ETHERNET, 20);
    this.used = FILE_HEADER_BYTES;
    this.bytesWritten = FILE_HEADER_BYTES;
  }

  /**
   * Appends frame[0, length) captured at tsUs (µs since the Unix epoch, integer for 'us' files; a
   * fraction becomes nanoseconds in 'ns' files). Frames longer than the snaplen are truncated and
   * keep their original length on the wire, like a capture with -s.
   */
  writePacket(frame: Uint8Array, length: number, tsUs: number): void {
    const capLen = length > this.snapLenBytes ? this.snapLenBytes : length;
    if (this.used + RECORD_HEADER_BYTES + capLen > WRITE_BUFFER_BYTES) this.flush();
    const seconds = Math.floor(tsUs / 1e6);
    const fraction = Math.round((tsUs - seconds * 1e6) * this.fractionPerUs);
    const b = this.buffer;
    let at = this.used;
    b.writeUInt32LE(seconds, at);
    b.writeUInt32LE(fraction, at + 4);
    b.writeUInt32LE(capLen, at + 8);
    b.writeUInt32LE(length, at + 12);
    at += RECORD_HEADER_BYTES;
    b.set(frame.subarray(0, capLen), at);
    this.used = at + capLen;
    this.bytesWritten += RECORD_HEADER_BYTES + capLen;
    this.packetsWritten++;
  }

  private flush(): void {
    let done = 0;
    while (done < this.used) done += writeSync(this.fd, this.buffer, done, this.used - done);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

// ---- Packet builders: pure writers (buf, offset, fields) → offset after what they wrote. ----

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

const ETHERNET_HEADER_BYTES = 14;
const VLAN_TAG_BYTES = 4;
export const IPV4_HEADER_BYTES = 20;
export const IPV6_HEADER_BYTES = 40;
export const TCP_HEADER_BYTES = 20;
export const UDP_HEADER_BYTES = 8;
/** ICMP echo and ICMPv6 echo: type, code, checksum, identifier, sequence. */
export const ICMP_HEADER_BYTES = 8;

/** Ethernet II header with an optional 802.1Q tag (vlanId 0 = untagged); MACs are 48-bit integers. */
export function writeEthernet(buf: Uint8Array, at: number, dstMac: number, srcMac: number, vlanId: number, etherType: number): number {
  at = writeMac(buf, at, dstMac);
  at = writeMac(buf, at, srcMac);
  if (vlanId !== 0) {
    at = writeU16(buf, at, ETHERTYPE_VLAN);
    at = writeU16(buf, at, vlanId & 0x0fff); // PCP 0, DEI 0
  }
  return writeU16(buf, at, etherType);
}

/** IPv4 header without options (DF set), with its checksum; src/dst: the first 4 bytes are used. */
export function writeIpv4(buf: Uint8Array, at: number, totalLengthBytes: number, id: number, ttl: number, protocol: number, src: Uint8Array, dst: Uint8Array): number {
  const start = at;
  buf[at] = 0x45; // version 4, IHL 5
  buf[at + 1] = 0; // DSCP/ECN
  writeU16(buf, at + 2, totalLengthBytes);
  writeU16(buf, at + 4, id & 0xffff);
  writeU16(buf, at + 6, 0x4000); // DF, offset 0
  buf[at + 8] = ttl;
  buf[at + 9] = protocol;
  writeU16(buf, at + 10, 0);
  for (let i = 0; i < 4; i++) {
    buf[at + 12 + i] = src[i]!;
    buf[at + 16 + i] = dst[i]!;
  }
  writeU16(buf, start + 10, finishChecksum(sumWords(buf, start, IPV4_HEADER_BYTES, 0)));
  return start + IPV4_HEADER_BYTES;
}

/** IPv6 fixed header (no extension headers); src/dst are 16 bytes. */
export function writeIpv6(buf: Uint8Array, at: number, payloadLengthBytes: number, hopLimit: number, nextHeader: number, src: Uint8Array, dst: Uint8Array): number {
  buf[at] = 0x60; // version 6, traffic class 0, flow label 0
  buf[at + 1] = 0;
  buf[at + 2] = 0;
  buf[at + 3] = 0;
  writeU16(buf, at + 4, payloadLengthBytes);
  buf[at + 6] = nextHeader;
  buf[at + 7] = hopLimit;
  for (let i = 0; i < 16; i++) {
    buf[at + 8 + i] = src[i]!;
    buf[at + 24 + i] = dst[i]!;
  }
  return at + IPV6_HEADER_BYTES;
}

/** TCP header (no options) followed by payloadBytes zero bytes; checksum over the pseudo-header of ipAt's header. */
export function writeTcp(buf: Uint8Array, ipAt: number, at: number, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, window: number, payloadBytes: number): number {
  writeU16(buf, at, srcPort);
  writeU16(buf, at + 2, dstPort);
  writeU32(buf, at + 4, seq);
  writeU32(buf, at + 8, ack);
  buf[at + 12] = (TCP_HEADER_BYTES / 4) << 4;
  buf[at + 13] = flags & 0xff;
  writeU16(buf, at + 14, window);
  writeU16(buf, at + 16, 0);
  writeU16(buf, at + 18, 0); // urgent pointer
  return finishTransport(buf, ipAt, at, TCP_HEADER_BYTES, 16, IPPROTO_TCP, payloadBytes);
}

/** UDP header followed by payloadBytes zero bytes, with its checksum. */
export function writeUdp(buf: Uint8Array, ipAt: number, at: number, srcPort: number, dstPort: number, payloadBytes: number): number {
  writeU16(buf, at, srcPort);
  writeU16(buf, at + 2, dstPort);
  writeU16(buf, at + 4, UDP_HEADER_BYTES + payloadBytes);
  writeU16(buf, at + 6, 0);
  const end = finishTransport(buf, ipAt, at, UDP_HEADER_BYTES, 6, IPPROTO_UDP, payloadBytes);
  if (buf[at + 6] === 0 && buf[at + 7] === 0) writeU16(buf, at + 6, 0xffff); // RFC 768: a computed 0 is sent as all ones
  return end;
}

/**
 * ICMP (IPv4) or ICMPv6 echo-style header (type, code, identifier, sequence) followed by zero
 * bytes; the ICMPv6 checksum covers the pseudo-header, the ICMPv4 one does not (RFC 792 / 4443).
 */
export function writeIcmp(buf: Uint8Array, ipAt: number, at: number, type: number, code: number, identifier: number, sequence: number, payloadBytes: number): number {
  buf[at] = type;
  buf[at + 1] = code;
  writeU16(buf, at + 2, 0);
  writeU16(buf, at + 4, identifier);
  writeU16(buf, at + 6, sequence);
  const v6 = buf[ipAt]! >>> 4 === 6;
  return finishTransport(buf, ipAt, at, ICMP_HEADER_BYTES, 2, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, payloadBytes);
}

/** Zero-fills the payload and stores the checksum of header + payload (+ pseudo-header unless ICMPv4). */
function finishTransport(buf: Uint8Array, ipAt: number, at: number, headerBytes: number, checksumAt: number, protocol: number, payloadBytes: number): number {
  const end = at + headerBytes + payloadBytes;
  buf.fill(0, at + headerBytes, end);
  const transportBytes = headerBytes + payloadBytes;
  let sum = sumWords(buf, at, headerBytes, 0); // the zero payload adds nothing
  if (protocol !== IPPROTO_ICMP) {
    const v6 = buf[ipAt]! >>> 4 === 6;
    sum = v6 ? sumWords(buf, ipAt + 8, 32, sum) : sumWords(buf, ipAt + 12, 8, sum);
    sum += protocol + (transportBytes & 0xffff) + (transportBytes >>> 16);
  }
  writeU16(buf, at + checksumAt, finishChecksum(sum));
  return end;
}

/** Ones'-complement sum of big-endian 16-bit words (RFC 1071), added to `sum`; byteCount is even. */
function sumWords(buf: Uint8Array, at: number, byteCount: number, sum: number): number {
  for (let i = 0; i < byteCount; i += 2) sum += (buf[at + i]! << 8) | buf[at + i + 1]!;
  return sum;
}

function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function writeMac(buf: Uint8Array, at: number, mac: number): number {
  const high = Math.floor(mac / 0x1_0000_0000);
  writeU16(buf, at, high & 0xffff);
  return writeU32(buf, at + 2, mac >>> 0);
}

function writeU16(buf: Uint8Array, at: number, value: number): number {
  buf[at] = value >>> 8;
  buf[at + 1] = value;
  return at + 2;
}

function writeU32(buf: Uint8Array, at: number, value: number): number {
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
  return at + 4;
}

// ---- One whole frame from a reusable spec ----

/** Everything one generated frame needs; scenarios keep one instance and refill it per packet. */
export class FrameSpec {
  srcMac = 0x02_00_00_00_00_01;
  dstMac = 0x02_00_00_00_00_02;
  /** 0 = untagged, else one 802.1Q tag. */
  vlanId = 0;
  ipVersion: 4 | 6 = 4;
  /** 4 bytes used for IPv4, 16 for IPv6. */
  readonly srcAddr = new Uint8Array(16);
  readonly dstAddr = new Uint8Array(16);
  protocol = IPPROTO_TCP;
  ttl = 64;
  ipId = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = TCP_ACK;
  tcpSeq = 0;
  tcpAck = 0;
  tcpWindow = 65_535;
  /** ICMP/ICMPv6 header fields (echo layout). */
  icmpType = 8;
  icmpCode = 0;
  icmpId = 0;
  icmpSeq = 0;
  /** Transport payload bytes (zero-filled). */
  payloadBytes = 0;
}

/** Transport header bytes for a protocol (0 for others). */
export function transportHeaderBytes(protocol: number): number {
  if (protocol === IPPROTO_TCP) return TCP_HEADER_BYTES;
  if (protocol === IPPROTO_UDP) return UDP_HEADER_BYTES;
  if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) return ICMP_HEADER_BYTES;
  return 0;
}

/** IP bytes of a frame described by `spec`: IPv4 total length, or 40 + IPv6 payload length. */
export function ipLengthBytes(spec: FrameSpec): number {
  return (spec.ipVersion === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES) + transportHeaderBytes(spec.protocol) + spec.payloadBytes;
}

/** Writes the frame `spec` describes into buf[0, …) and returns its length in bytes. */
export function writeFrame(buf: Uint8Array, spec: FrameSpec): number {
  const ipAt = writeEthernet(buf, 0, spec.dstMac, spec.srcMac, spec.vlanId, spec.ipVersion === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
  const ipBytes = ipLengthBytes(spec);
  const l4At =
    spec.ipVersion === 4
      ? writeIpv4(buf, ipAt, ipBytes, spec.ipId, spec.ttl, spec.protocol, spec.srcAddr, spec.dstAddr)
      : writeIpv6(buf, ipAt, ipBytes - IPV6_HEADER_BYTES, spec.ttl, spec.protocol, spec.srcAddr, spec.dstAddr);
  switch (spec.protocol) {
    case IPPROTO_TCP:
      return writeTcp(buf, ipAt, l4At, spec.srcPort, spec.dstPort, spec.tcpSeq, spec.tcpAck, spec.tcpFlags, spec.tcpWindow, spec.payloadBytes);
    case IPPROTO_UDP:
      return writeUdp(buf, ipAt, l4At, spec.srcPort, spec.dstPort, spec.payloadBytes);
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return writeIcmp(buf, ipAt, l4At, spec.icmpType, spec.icmpCode, spec.icmpId, spec.icmpSeq, spec.payloadBytes);
    default:
      buf.fill(0, l4At, l4At + spec.payloadBytes);
      return l4At + spec.payloadBytes;
  }
}

/** Largest frame writeFrame can produce for an IP packet of ipBytes (Ethernet + one VLAN tag). */
export function frameBytesFor(ipBytes: number): number {
  return ETHERNET_HEADER_BYTES + VLAN_TAG_BYTES + ipBytes;
}
