/**
 * Application hints per flow (issue 7): the flow table hands each packet to observeHintPacket,
 * which runs the hint parsers (agent/src/hints/) over the first payload packets of the flow and
 * keeps what they read in FlowStore's hint columns; fillHintFields copies those into a record.
 *
 * Rules, per flow:
 * - at most `packetsPerDirection` packets with transport payload are parsed per direction (a
 *   retransmission counts), each cut at `snapBytes` payload bytes; packets without payload do not count;
 * - parsing stops once the hint is complete: DNS question and response, HTTP request and status,
 *   TLS ClientHello and ServerHello;
 * - the first protocol recognised is the flow's kind; packets another parser recognises later are ignored;
 * - the first value wins: a second request on a keep-alive connection, a second DNS query on the
 *   same 5-tuple, a renegotiation, change nothing. A part that was read once (e.g. a request whose
 *   Host header was in the next segment) is not read again.
 * DNS: name and QTYPE of the first message with a question (the query; the response's copy when
 * the query was missed), RCODE of the first response. HTTP: method token and Host of the first
 * request, status of the first response. TLS: server_name and first ALPN of the ClientHello;
 * version = the ServerHello's selected version, else the ClientHello's highest supported_versions
 * entry, else its legacy_version.
 *
 * Nothing here allocates: the parsers fill one reused AppHints, copied byte by byte into columns.
 */
import type { PacketView } from '../decode/packet-view.js';
import { AppHintKind, AppHints, type AppHintLimits, HTTP_METHOD_TOKEN_BYTES } from '../hints/app-hints.js';
import { l4PayloadLength, l4PayloadOffset } from '../hints/hint-bounds.js';
import { parseAppHints } from '../hints/parse-app-hints.js';
import type { FlowRecord } from './flow-record.js';
import { directionIndex, type FlowStore, type HintTextBytes } from './flow-store.js';

export interface FlowHintOptions {
  /** Payload packets parsed per direction of a flow (1..255). */
  packetsPerDirection: number;
  /** Payload bytes of a packet the parsers see (longer payloads are cut). */
  snapBytes: number;
  /** Parser buffers and walk caps; the three name sizes are the width of the shared name column. */
  limits: AppHintLimits;
}

/** FlowStore.hintState bits: the first part (DNS question, HTTP request, ClientHello) was read... */
const HINT_ASKED = 1;
/** ...and the second (DNS response, HTTP status, ServerHello). Both: complete, parsing stops. */
const HINT_ANSWERED = 2;
const HINT_COMPLETE = HINT_ASKED | HINT_ANSWERED;

const TLS_CLIENT_HELLO = 1;

/** The per-slot text widths FlowStore must allocate for these options. */
export function hintTextBytesOf(options: FlowHintOptions): HintTextBytes {
  const l = options.limits;
  return { name: Math.max(l.dnsNameBytes, l.httpHostBytes, l.tlsSniBytes), alpn: l.tlsAlpnBytes, method: HTTP_METHOD_TOKEN_BYTES };
}

export class FlowHintReader {
  readonly packetsPerDirection: number;
  readonly snapBytes: number;
  /** The parsers' reused result. */
  private readonly scratch: AppHints;

  constructor(options: FlowHintOptions) {
    if (!Number.isInteger(options.packetsPerDirection) || options.packetsPerDirection < 1 || options.packetsPerDirection > 255) {
      throw new RangeError(`hints.packetsPerDirection must be an integer in [1, 255], got ${options.packetsPerDirection}`);
    }
    if (!Number.isInteger(options.snapBytes) || options.snapBytes < 1) throw new RangeError(`hints.snapBytes must be a positive integer, got ${options.snapBytes}`);
    this.packetsPerDirection = options.packetsPerDirection;
    this.snapBytes = options.snapBytes;
    this.scratch = new AppHints(options.limits);
  }

  /**
   * One packet of the flow in `slot`, in `direction` (FORWARD/REVERSE); `data` holds the packet
   * as decoded into `view` (its offsets index data), captured up to `capEnd`.
   */
  observe(s: FlowStore, slot: number, direction: number, view: PacketView, data: Uint8Array, capEnd: number): void {
    if ((s.hintState[slot]! & HINT_COMPLETE) === HINT_COMPLETE) return;
    const d = directionIndex(slot, direction);
    if (s.hintPackets[d]! >= this.packetsPerDirection) return;
    const offset = l4PayloadOffset(data, capEnd, view);
    if (offset < 0) return;
    let length = l4PayloadLength(data, capEnd, view, offset);
    if (length === 0) return;
    s.hintPackets[d]!++;
    if (length > this.snapBytes) length = this.snapBytes;
    const h = this.scratch;
    parseAppHints(data, offset, length, view.protocol, view.srcPort, view.dstPort, h);
    const kind = s.hintKind[slot]!;
    if (h.kind === AppHintKind.NONE || (kind !== AppHintKind.NONE && kind !== h.kind)) return;
    s.hintKind[slot] = h.kind;
    if (h.kind === AppHintKind.DNS) mergeDns(s, slot, h);
    else if (h.kind === AppHintKind.HTTP) mergeHttp(s, slot, h);
    else mergeTls(s, slot, h);
  }
}

function mergeDns(s: FlowStore, slot: number, h: AppHints): void {
  let state = s.hintState[slot]!;
  if ((state & HINT_ASKED) === 0 && h.dnsHasQuestion === 1) {
    s.hintNameLength[slot] = copyInto(h.dnsName, h.dnsNameLength, s.hintName, slot * s.hintTextBytes.name, s.hintTextBytes.name);
    s.dnsQueryType[slot] = h.dnsQtype;
    state |= HINT_ASKED;
  }
  if ((state & HINT_ANSWERED) === 0 && h.dnsIsResponse === 1) {
    s.dnsResponseCode[slot] = h.dnsRcode;
    state |= HINT_ANSWERED;
  }
  s.hintState[slot] = state;
}

function mergeHttp(s: FlowStore, slot: number, h: AppHints): void {
  let state = s.hintState[slot]!;
  if (h.httpStatusCode !== 0) {
    if ((state & HINT_ANSWERED) === 0) {
      s.httpStatusCode[slot] = h.httpStatusCode;
      state |= HINT_ANSWERED;
    }
  } else if ((state & HINT_ASKED) === 0) {
    const t = s.hintTextBytes;
    s.hintMethodLength[slot] = copyInto(h.httpMethodToken, h.httpMethodTokenLength, s.hintMethod, slot * t.method, t.method);
    s.hintNameLength[slot] = copyInto(h.httpHost, h.httpHostLength, s.hintName, slot * t.name, t.name);
    state |= HINT_ASKED;
  }
  s.hintState[slot] = state;
}

function mergeTls(s: FlowStore, slot: number, h: AppHints): void {
  let state = s.hintState[slot]!;
  if (h.tlsHandshakeType === TLS_CLIENT_HELLO) {
    if ((state & HINT_ASKED) === 0) {
      const t = s.hintTextBytes;
      s.hintNameLength[slot] = copyInto(h.tlsSni, h.tlsSniLength, s.hintName, slot * t.name, t.name);
      s.hintAlpnLength[slot] = copyInto(h.tlsAlpn, h.tlsAlpnLength, s.hintAlpn, slot * t.alpn, t.alpn);
      // The server's choice, when already seen, wins over what the client offered.
      if ((state & HINT_ANSWERED) === 0) s.tlsVersion[slot] = h.tlsSupportedVersionMax !== 0 ? h.tlsSupportedVersionMax : h.tlsLegacyVersion;
      state |= HINT_ASKED;
    }
  } else if ((state & HINT_ANSWERED) === 0 && h.tlsSelectedVersion !== 0) {
    s.tlsVersion[slot] = h.tlsSelectedVersion;
    state |= HINT_ANSWERED;
  }
  s.hintState[slot] = state;
}

/** Copies up to `capacity` of `length` bytes into column[at...]; returns the bytes kept. */
function copyInto(from: Uint8Array, length: number, column: Uint8Array, at: number, capacity: number): number {
  const kept = length < capacity ? length : capacity;
  for (let i = 0; i < kept; i++) column[at + i] = from[i]!;
  return kept;
}

/** Copies `length` bytes of column[at...] into a record's text field. */
function copyOut(column: Uint8Array, at: number, length: number, to: Uint8Array): number {
  const kept = length < to.length ? length : to.length;
  for (let i = 0; i < kept; i++) to[i] = column[at + i]!;
  return kept;
}

/** The record's hint fields from the flow in `slot` (all zero when nothing was recognised). */
export function fillHintFields(s: FlowStore, slot: number, r: FlowRecord): void {
  const kind = s.hintKind[slot]!;
  const state = s.hintState[slot]!;
  const t = s.hintTextBytes;
  const nameAt = slot * t.name;
  const nameLength = s.hintNameLength[slot]!;
  const dns = kind === AppHintKind.DNS;
  const http = kind === AppHintKind.HTTP;
  const tls = kind === AppHintKind.TLS;
  r.appHintKind = kind;
  r.dnsQueryNameLength = dns ? copyOut(s.hintName, nameAt, nameLength, r.dnsQueryName) : 0;
  r.dnsQueryType = dns ? s.dnsQueryType[slot]! : 0;
  r.dnsResponseSeen = dns && (state & HINT_ANSWERED) !== 0 ? 1 : 0;
  r.dnsResponseCode = dns ? s.dnsResponseCode[slot]! : 0;
  r.httpRequestMethodLength = http ? copyOut(s.hintMethod, slot * t.method, s.hintMethodLength[slot]!, r.httpRequestMethod) : 0;
  r.httpRequestHostLength = http ? copyOut(s.hintName, nameAt, nameLength, r.httpRequestHost) : 0;
  r.httpStatusCode = http ? s.httpStatusCode[slot]! : 0;
  r.tlsServerNameLength = tls ? copyOut(s.hintName, nameAt, nameLength, r.tlsServerName) : 0;
  r.tlsVersion = tls ? s.tlsVersion[slot]! : 0;
  r.tlsAlpnLength = tls ? copyOut(s.hintAlpn, slot * t.alpn, s.hintAlpnLength[slot]!, r.tlsAlpn) : 0;
}
