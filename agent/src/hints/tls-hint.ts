import { readU16 } from '../decode/byte-reads.js';
import { AppHintKind, type AppHints, HintStatus } from './app-hints.js';
import { validRange } from './hint-bounds.js';

/**
 * TLS hint from the first record of a payload: a ClientHello's legacy_version, server_name
 * (RFC 6066 §3), first ALPN protocol (RFC 7301 §3.1) and highest supported_versions entry
 * (RFC 8446 §4.2.1, GREASE values of RFC 8701 skipped); or a ServerHello's selected version
 * (supported_versions when present, else legacy_version). Only the first record is read and only
 * this packet's bytes: a hello cut by the segment or continued in another record gives TRUNCATED
 * with the fields read before the cut set. At most limits.tlsMaxExtensions extensions are walked.
 * Never throws, allocates nothing, reads only [offset, offset + length).
 *
 * Inspired by the ClientHello walk of Wireshark's packet-tls-utils.c
 * (ssl_dissect_hnd_hello_common / ssl_dissect_hnd_hello_ext); written from RFC 8446 §4.1.
 */

const RECORD_HEADER_BYTES = 5;
const HANDSHAKE_HEADER_BYTES = 4;
const CONTENT_TYPE_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const HANDSHAKE_SERVER_HELLO = 2;
const RANDOM_BYTES = 32;
const EXTENSION_SERVER_NAME = 0;
const EXTENSION_ALPN = 16;
const EXTENSION_SUPPORTED_VERSIONS = 43;
const SERVER_NAME_HOST = 0;
/** Record versions seen on the wire: 0x0300 (SSL 3.0) to 0x0304; TLS 1.3 records say 0x0301/0x0303. */
const RECORD_VERSION_MAJOR = 3;
const RECORD_VERSION_MINOR_MAX = 4;

export function parseTls(bytes: Uint8Array, offset: number, length: number, hints: AppHints): HintStatus {
  hints.reset();
  if (!validRange(bytes, offset, length) || length < RECORD_HEADER_BYTES + 1) return HintStatus.NOT_MATCHED;
  if (bytes[offset] !== CONTENT_TYPE_HANDSHAKE || bytes[offset + 1] !== RECORD_VERSION_MAJOR || bytes[offset + 2]! > RECORD_VERSION_MINOR_MAX) {
    return HintStatus.NOT_MATCHED;
  }
  const handshakeType = bytes[offset + RECORD_HEADER_BYTES]!;
  if (handshakeType !== HANDSHAKE_CLIENT_HELLO && handshakeType !== HANDSHAKE_SERVER_HELLO) return HintStatus.NOT_MATCHED;
  const recordLength = readU16(bytes, offset + 3);
  hints.kind = AppHintKind.TLS;
  hints.tlsHandshakeType = handshakeType;

  const recordStart = offset + RECORD_HEADER_BYTES;
  const packetEnd = offset + length;
  const recordEnd = recordStart + recordLength < packetEnd ? recordStart + recordLength : packetEnd;
  if (recordStart + HANDSHAKE_HEADER_BYTES > recordEnd) return HintStatus.TRUNCATED;
  const bodyStart = recordStart + HANDSHAKE_HEADER_BYTES;
  const declaredEnd = bodyStart + ((bytes[recordStart + 1]! << 16) | readU16(bytes, recordStart + 2));
  if (declaredEnd > recordStart + recordLength && recordStart + recordLength <= packetEnd) {
    return readHello(bytes, bodyStart, recordEnd, HintStatus.TRUNCATED, hints); // hello continues in the next record
  }
  // Bytes missing from this packet are a cut (TRUNCATED); bytes a length promises but the hello
  // does not hold are a broken message (MALFORMED).
  const end = declaredEnd < recordEnd ? declaredEnd : recordEnd;
  return readHello(bytes, bodyStart, end, declaredEnd > end ? HintStatus.TRUNCATED : HintStatus.MALFORMED, hints);
}

/** `short` is what running out of bytes before `end` means: TRUNCATED (cut) or MALFORMED. */
function readHello(bytes: Uint8Array, at: number, end: number, short: HintStatus, hints: AppHints): HintStatus {
  if (at + 2 > end) return short;
  const legacyVersion = readU16(bytes, at);
  hints.tlsLegacyVersion = legacyVersion;
  const isClient = hints.tlsHandshakeType === HANDSHAKE_CLIENT_HELLO;
  if (!isClient) hints.tlsSelectedVersion = legacyVersion;
  at += 2 + RANDOM_BYTES;
  if (at + 1 > end) return short;
  at += 1 + bytes[at]!; // legacy_session_id
  if (isClient) {
    if (at + 2 > end) return short;
    at += 2 + readU16(bytes, at); // cipher_suites
    if (at + 1 > end) return short;
    at += 1 + bytes[at]!; // legacy_compression_methods
  } else {
    at += 3; // cipher_suite, legacy_compression_method
  }
  if (at === end && short === HintStatus.MALFORMED) return HintStatus.OK; // a hello without extensions (RFC 5246 §7.4.1.2)
  if (at + 2 > end) return short;
  const extensionsEnd = at + 2 + readU16(bytes, at);
  if (extensionsEnd > end && short === HintStatus.MALFORMED) return HintStatus.MALFORMED;
  at += 2;
  const walkEnd = extensionsEnd < end ? extensionsEnd : end;
  const overrun = walkEnd < extensionsEnd ? short : HintStatus.MALFORMED; // an extension past the block is broken
  const maxExtensions = hints.limits.tlsMaxExtensions;
  for (let walked = 0; at < walkEnd; walked++) {
    if (walked >= maxExtensions) return HintStatus.MALFORMED;
    if (at + 4 > walkEnd) return overrun;
    const type = readU16(bytes, at);
    const dataStart = at + 4;
    const dataEnd = dataStart + readU16(bytes, at + 2);
    if (dataEnd > walkEnd) return overrun;
    let status: HintStatus = HintStatus.OK;
    if (type === EXTENSION_SERVER_NAME && isClient) status = readServerName(bytes, dataStart, dataEnd, hints);
    else if (type === EXTENSION_ALPN && isClient) status = readFirstAlpn(bytes, dataStart, dataEnd, hints);
    else if (type === EXTENSION_SUPPORTED_VERSIONS) status = readSupportedVersions(bytes, dataStart, dataEnd, isClient, hints);
    if (status !== HintStatus.OK) return status;
    at = dataEnd;
  }
  return walkEnd < extensionsEnd ? short : HintStatus.OK;
}

/** The first host_name of a server_name list. */
function readServerName(bytes: Uint8Array, at: number, end: number, hints: AppHints): HintStatus {
  if (at === end) return HintStatus.OK; // empty in a ServerHello-style echo; no name
  if (at + 2 > end) return HintStatus.MALFORMED;
  const listEnd = at + 2 + readU16(bytes, at);
  if (listEnd > end) return HintStatus.MALFORMED;
  at += 2;
  while (at + 3 <= listEnd) {
    const nameType = bytes[at]!;
    const nameStart = at + 3;
    const nameEnd = nameStart + readU16(bytes, at + 1);
    if (nameEnd > listEnd) return HintStatus.MALFORMED;
    if (nameType === SERVER_NAME_HOST) {
      const sni = hints.tlsSni;
      const kept = copyBytes(bytes, nameStart, nameEnd, sni);
      hints.tlsSniLength = kept;
      hints.tlsSniTruncated = kept < nameEnd - nameStart ? 1 : 0;
      return HintStatus.OK;
    }
    at = nameEnd;
  }
  return at === listEnd ? HintStatus.OK : HintStatus.MALFORMED;
}

function readFirstAlpn(bytes: Uint8Array, at: number, end: number, hints: AppHints): HintStatus {
  if (at + 2 > end) return HintStatus.MALFORMED;
  const listEnd = at + 2 + readU16(bytes, at);
  if (listEnd > end) return HintStatus.MALFORMED;
  at += 2;
  if (at >= listEnd) return HintStatus.OK;
  const nameEnd = at + 1 + bytes[at]!;
  if (nameEnd > listEnd) return HintStatus.MALFORMED;
  const alpn = hints.tlsAlpn;
  const kept = copyBytes(bytes, at + 1, nameEnd, alpn);
  hints.tlsAlpnLength = kept;
  hints.tlsAlpnTruncated = kept < nameEnd - at - 1 ? 1 : 0;
  return HintStatus.OK;
}

function readSupportedVersions(bytes: Uint8Array, at: number, end: number, isClient: boolean, hints: AppHints): HintStatus {
  if (!isClient) {
    if (at + 2 > end) return HintStatus.MALFORMED;
    hints.tlsSelectedVersion = readU16(bytes, at);
    return HintStatus.OK;
  }
  if (at + 1 > end) return HintStatus.MALFORMED;
  const listEnd = at + 1 + bytes[at]!;
  if (listEnd > end) return HintStatus.MALFORMED;
  let highest = 0;
  for (let i = at + 1; i + 2 <= listEnd; i += 2) {
    const version = readU16(bytes, i);
    if (!isGrease(version) && version > highest) highest = version;
  }
  hints.tlsSupportedVersionMax = highest;
  return HintStatus.OK;
}

/** RFC 8701 §2: 0x0A0A, 0x1A1A, ..., 0xFAFA. */
function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >>> 8 === (value & 0xff);
}

function copyBytes(bytes: Uint8Array, start: number, end: number, into: Uint8Array): number {
  const kept = end - start < into.length ? end - start : into.length;
  for (let i = 0; i < kept; i++) into[i] = bytes[start + i]!;
  return kept;
}
