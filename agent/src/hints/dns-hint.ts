import { readU16 } from '../decode/byte-reads.js';
import { AppHintKind, type AppHints, HintStatus } from './app-hints.js';
import { validRange } from './hint-bounds.js';

/**
 * DNS hint (RFC 1035 §4.1): the header's QR bit and RCODE, and the first question's name and
 * QTYPE. Reads only bytes in [offset, offset + length), never throws, allocates nothing.
 * The name is written dotted ("www.example.com"; the root name gives length 0) into hints.dnsName,
 * cut at its capacity (dnsNameTruncated = 1). Compression pointers are followed at most
 * limits.dnsMaxPointerHops times and at most limits.dnsMaxLabels labels are read, so a pointer
 * loop or a forged label chain costs a bounded walk and gives MALFORMED.
 *
 * Inspired by the label walk in Wireshark's epan/dissectors/packet-dns.c (get_dns_name); written
 * from the RFC.
 */

const DNS_HEADER_BYTES = 12;
const QR_BIT = 0x8000;
const RCODE_MASK = 0x000f;
const LABEL_KIND_MASK = 0xc0;
const LABEL_POINTER = 0xc0;
const DOT = 0x2e;
/** TCP carries each DNS message behind a 2-byte length (RFC 1035 §4.2.2, RFC 7766 §8). */
const TCP_LENGTH_PREFIX_BYTES = 2;

/** Reads a DNS message carried over TCP: the 2-byte length prefix, then the message. */
export function parseDnsOverTcp(bytes: Uint8Array, offset: number, length: number, hints: AppHints): HintStatus {
  hints.reset();
  if (!validRange(bytes, offset, length)) return HintStatus.NOT_MATCHED;
  if (length < TCP_LENGTH_PREFIX_BYTES) return HintStatus.NOT_MATCHED;
  const messageLength = readU16(bytes, offset);
  if (messageLength < DNS_HEADER_BYTES) return HintStatus.NOT_MATCHED;
  const available = length - TCP_LENGTH_PREFIX_BYTES;
  // A message longer than this segment is read as far as it goes: a cut question gives TRUNCATED.
  return parseDnsMessage(bytes, offset + TCP_LENGTH_PREFIX_BYTES, available < messageLength ? available : messageLength, hints);
}

/** Reads a DNS message that fills the payload (UDP). */
export function parseDns(bytes: Uint8Array, offset: number, length: number, hints: AppHints): HintStatus {
  hints.reset();
  if (!validRange(bytes, offset, length)) return HintStatus.NOT_MATCHED;
  return parseDnsMessage(bytes, offset, length, hints);
}

function parseDnsMessage(bytes: Uint8Array, start: number, length: number, hints: AppHints): HintStatus {
  if (length < DNS_HEADER_BYTES) return length > 0 ? HintStatus.TRUNCATED : HintStatus.NOT_MATCHED;
  const end = start + length;
  const flags = readU16(bytes, start + 2);
  hints.kind = AppHintKind.DNS;
  hints.dnsIsResponse = (flags & QR_BIT) !== 0 ? 1 : 0;
  hints.dnsRcode = flags & RCODE_MASK;
  const questions = readU16(bytes, start + 4);
  if (questions === 0) return HintStatus.OK;

  const limits = hints.limits;
  const name = hints.dnsName;
  const capacity = name.length;
  let written = 0;
  let truncated = 0;
  let at = start + DNS_HEADER_BYTES;
  let afterName = -1; // where the question continues once a pointer has been followed
  let hops = 0;
  let labels = 0;
  for (;;) {
    if (at >= end) return HintStatus.TRUNCATED;
    const labelLength = bytes[at]!;
    if (labelLength === 0) {
      if (afterName < 0) afterName = at + 1;
      break;
    }
    const kind = labelLength & LABEL_KIND_MASK;
    if (kind === LABEL_POINTER) {
      if (at + 1 >= end) return HintStatus.TRUNCATED;
      if (++hops > limits.dnsMaxPointerHops) return HintStatus.MALFORMED;
      if (afterName < 0) afterName = at + 2;
      const target = start + (((labelLength & 0x3f) << 8) | bytes[at + 1]!);
      if (target >= end) return HintStatus.MALFORMED;
      at = target;
      continue;
    }
    if (kind !== 0) return HintStatus.MALFORMED; // 0x40/0x80: extended label types (RFC 6891 §5), not used in questions
    if (++labels > limits.dnsMaxLabels) return HintStatus.MALFORMED;
    const labelEnd = at + 1 + labelLength;
    if (labelEnd > end) return HintStatus.TRUNCATED;
    if (labels > 1) {
      if (written < capacity) name[written++] = DOT;
      else truncated = 1;
    }
    for (let i = at + 1; i < labelEnd; i++) {
      if (written < capacity) name[written++] = bytes[i]!;
      else truncated = 1;
    }
    at = labelEnd;
  }
  hints.dnsNameLength = written;
  hints.dnsNameTruncated = truncated;
  if (afterName + 2 > end) return HintStatus.TRUNCATED; // name read, QTYPE cut
  hints.dnsHasQuestion = 1;
  hints.dnsQtype = readU16(bytes, afterName);
  return HintStatus.OK;
}
