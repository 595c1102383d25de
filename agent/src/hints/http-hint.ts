import { AppHintKind, type AppHints, HintStatus, HttpMethod } from './app-hints.js';
import { validRange } from './hint-bounds.js';

/**
 * HTTP/1.x hint (RFC 9112): a request line's method and the Host header (RFC 9110 §7.2), or a
 * status line's code. Only this packet's bytes are read (no reassembly): a request whose header
 * block continues in the next segment gives TRUNCATED with the method set and the Host set only
 * if it came before the cut. The Host scan stops at limits.httpMaxScanBytes. Never throws,
 * allocates nothing, reads only [offset, offset + length).
 *
 * Inspired by the request/response sniffing of Wireshark's packet-http.c
 * (is_http_request_or_reply); written from RFC 9112 §3 and §4.
 */

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const STATUS_LINE_MIN_BYTES = 12; // "HTTP/1.1 200"
const LOWER_CASE_BIT = 0x20;

/** "HTTP/1." as bytes. */
const VERSION_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e] as const;
/** "host" in lower case. */
const HOST_NAME = [0x68, 0x6f, 0x73, 0x74] as const;

export function parseHttp(bytes: Uint8Array, offset: number, length: number, hints: AppHints): HintStatus {
  hints.reset();
  if (!validRange(bytes, offset, length) || length === 0) return HintStatus.NOT_MATCHED;
  if (startsWithVersion(bytes, offset, length)) return parseStatusLine(bytes, offset, length, hints);
  return parseRequest(bytes, offset, length, hints);
}

function startsWithVersion(bytes: Uint8Array, at: number, length: number): boolean {
  if (length < VERSION_PREFIX.length) return false;
  for (let i = 0; i < VERSION_PREFIX.length; i++) if (bytes[at + i] !== VERSION_PREFIX[i]) return false;
  return true;
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

/** "HTTP/1.x SP 3DIGIT": only the code is kept. */
function parseStatusLine(bytes: Uint8Array, at: number, length: number, hints: AppHints): HintStatus {
  if (length < STATUS_LINE_MIN_BYTES) return HintStatus.NOT_MATCHED;
  if (!isDigit(bytes[at + 7]!) || bytes[at + 8] !== SP) return HintStatus.NOT_MATCHED;
  const d0 = bytes[at + 9]!;
  const d1 = bytes[at + 10]!;
  const d2 = bytes[at + 11]!;
  if (!isDigit(d0) || !isDigit(d1) || !isDigit(d2)) return HintStatus.NOT_MATCHED;
  hints.kind = AppHintKind.HTTP;
  hints.httpStatusCode = (d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30);
  return HintStatus.OK;
}

function parseRequest(bytes: Uint8Array, start: number, length: number, hints: AppHints): HintStatus {
  const end = start + length;
  const scanEnd = length > hints.limits.httpMaxScanBytes ? start + hints.limits.httpMaxScanBytes : end;
  const token = hints.httpMethodToken;
  // Method: upper-case letters, '-' or '_' (registered methods are all of this form), then SP.
  let at = start;
  while (at < scanEnd && at - start < token.length) {
    const byte = bytes[at]!;
    if (!((byte >= 0x41 && byte <= 0x5a) || byte === 0x2d || byte === 0x5f)) break;
    token[at - start] = byte;
    at++;
  }
  const tokenLength = at - start;
  if (tokenLength === 0 || at >= scanEnd) return HintStatus.NOT_MATCHED;
  if (bytes[at] === CR || bytes[at] === LF) {
    // A registered method alone on its line ("OPTIONS"): malformed, but servers and tshark take it.
    setMethod(hints, tokenLength);
    if (hints.httpMethod === HttpMethod.OTHER) {
      hints.reset();
      return HintStatus.NOT_MATCHED;
    }
    hints.kind = AppHintKind.HTTP;
    return findHost(bytes, nextLine(bytes, at), scanEnd, hints);
  }
  if (bytes[at] !== SP) return HintStatus.NOT_MATCHED;
  const lineEnd = findLineEnd(bytes, at + 1, scanEnd);
  if (lineEnd < 0) {
    if (scanEnd < end) return HintStatus.NOT_MATCHED; // a request line longer than the scan: not worth a guess
    hints.kind = AppHintKind.HTTP; // "GET /very-long..." cut by the segment
    setMethod(hints, tokenLength);
    return HintStatus.TRUNCATED;
  }
  setMethod(hints, tokenLength);
  // A registered method is trusted as it is (servers answer even "GET /HTTP/1.1" with a status, and
  // so does tshark's sniffing); any other token must end its line with " HTTP/1.x".
  const versionAt = lineEnd - 8;
  if (
    hints.httpMethod === HttpMethod.OTHER &&
    (versionAt < at + 2 || bytes[versionAt - 1] !== SP || !startsWithVersion(bytes, versionAt, 8) || !isDigit(bytes[versionAt + 7]!))
  ) {
    hints.reset();
    return HintStatus.NOT_MATCHED;
  }
  hints.kind = AppHintKind.HTTP;
  return findHost(bytes, nextLine(bytes, lineEnd), scanEnd, hints);
}

/** Index of the CR of a CR LF, or of a bare LF, ending the line that starts at `at`; -1 if none before `end`. */
function findLineEnd(bytes: Uint8Array, at: number, end: number): number {
  for (let i = at; i < end; i++) {
    const byte = bytes[i]!;
    if (byte === LF) return i > at && bytes[i - 1] === CR ? i - 1 : i;
  }
  return -1;
}

/** The start of the line after the one ending at `lineEnd` (findLineEnd's answer). */
function nextLine(bytes: Uint8Array, lineEnd: number): number {
  return bytes[lineEnd] === CR ? lineEnd + 2 : lineEnd + 1;
}

function setMethod(hints: AppHints, tokenLength: number): void {
  hints.httpMethodTokenLength = tokenLength;
  hints.httpMethod = methodOf(hints.httpMethodToken, tokenLength);
}

/** Header lines until the empty line; the first "Host:" (any case) wins. */
function findHost(bytes: Uint8Array, at: number, end: number, hints: AppHints): HintStatus {
  for (;;) {
    if (at >= end) return HintStatus.TRUNCATED;
    const lineEnd = findLineEnd(bytes, at, end);
    if (lineEnd < 0) return HintStatus.TRUNCATED; // header line cut by the segment (or the scan cap)
    if (lineEnd === at) return HintStatus.OK; // end of the header block: no Host
    if (lineEnd - at > HOST_NAME.length && isHostName(bytes, at)) {
      let valueStart = at + HOST_NAME.length + 1;
      while (valueStart < lineEnd && (bytes[valueStart] === SP || bytes[valueStart] === HTAB)) valueStart++;
      let valueEnd = lineEnd;
      while (valueEnd > valueStart && (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB)) valueEnd--;
      const host = hints.httpHost;
      const kept = valueEnd - valueStart < host.length ? valueEnd - valueStart : host.length;
      for (let i = 0; i < kept; i++) host[i] = bytes[valueStart + i]!;
      hints.httpHostLength = kept;
      hints.httpHostTruncated = kept < valueEnd - valueStart ? 1 : 0;
      return HintStatus.OK;
    }
    at = nextLine(bytes, lineEnd);
  }
}

function isHostName(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < HOST_NAME.length; i++) if ((bytes[at + i]! | LOWER_CASE_BIT) !== HOST_NAME[i]) return false;
  return bytes[at + HOST_NAME.length] === COLON;
}

function methodOf(token: Uint8Array, length: number): HttpMethod {
  // Compare by length and first bytes: no string is made per packet.
  const c0 = token[0]!;
  const c1 = token[1]!;
  switch (length) {
    case 3:
      if (c0 === 0x47 && c1 === 0x45 && token[2] === 0x54) return HttpMethod.GET;
      if (c0 === 0x50 && c1 === 0x55 && token[2] === 0x54) return HttpMethod.PUT;
      break;
    case 4:
      if (matches(token, METHOD_HEAD)) return HttpMethod.HEAD;
      if (matches(token, METHOD_POST)) return HttpMethod.POST;
      break;
    case 5:
      if (matches(token, METHOD_TRACE)) return HttpMethod.TRACE;
      if (matches(token, METHOD_PATCH)) return HttpMethod.PATCH;
      break;
    case 6:
      if (matches(token, METHOD_DELETE)) return HttpMethod.DELETE;
      break;
    case 7:
      if (matches(token, METHOD_CONNECT)) return HttpMethod.CONNECT;
      if (matches(token, METHOD_OPTIONS)) return HttpMethod.OPTIONS;
      break;
  }
  return HttpMethod.OTHER;
}

const METHOD_HEAD = ascii('HEAD');
const METHOD_POST = ascii('POST');
const METHOD_TRACE = ascii('TRACE');
const METHOD_PATCH = ascii('PATCH');
const METHOD_DELETE = ascii('DELETE');
const METHOD_CONNECT = ascii('CONNECT');
const METHOD_OPTIONS = ascii('OPTIONS');

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function matches(token: Uint8Array, method: Uint8Array): boolean {
  for (let i = 0; i < method.length; i++) if (token[i] !== method[i]) return false;
  return true;
}
