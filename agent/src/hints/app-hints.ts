/**
 * The single reused result of reading application hints (DNS, HTTP, TLS) from one packet's
 * transport payload. Every field is a number or a preallocated Uint8Array, so the parsers in
 * dns-hint.ts, http-hint.ts and tls-hint.ts allocate nothing; text is made only on demand by the
 * `...Text()` methods (for export/logging, off the packet path).
 *
 * Names and hosts are copied as raw bytes (ASCII in practice) and cut at their buffer's capacity;
 * the matching `...Truncated` field is then 1 and the kept bytes are the name's prefix.
 */

export const AppHintKind = {
  NONE: 0,
  DNS: 1,
  HTTP: 2,
  TLS: 3,
} as const;
export type AppHintKind = (typeof AppHintKind)[keyof typeof AppHintKind];

/** What a parser made of the payload. Never thrown: returned. */
export const HintStatus = {
  /** The hint was read completely. */
  OK: 0,
  /** The payload is not this protocol (or not a message this parser reads, e.g. a TLS alert). */
  NOT_MATCHED: 1,
  /** The protocol was recognised but the payload ends early (message split across packets, snaplen):
   * fields read before the cut are valid and set, the rest stay at their reset values. */
  TRUNCATED: 2,
  /** The protocol was recognised but a length or pointer is inconsistent, or a walk cap was hit. */
  MALFORMED: 3,
} as const;
export type HintStatus = (typeof HintStatus)[keyof typeof HintStatus];

export const HINT_STATUS_NAMES: readonly string[] = ['ok', 'not_matched', 'truncated', 'malformed'];

/** HTTP request methods of RFC 9110 §9 plus PATCH (RFC 5789); OTHER for any other token. */
export const HttpMethod = {
  NONE: 0,
  GET: 1,
  HEAD: 2,
  POST: 3,
  PUT: 4,
  DELETE: 5,
  CONNECT: 6,
  OPTIONS: 7,
  TRACE: 8,
  PATCH: 9,
  OTHER: 10,
} as const;
export type HttpMethod = (typeof HttpMethod)[keyof typeof HttpMethod];

export const HTTP_METHOD_NAMES: readonly string[] = ['', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'OTHER'];

/** Buffer sizes and walk caps; chosen once at start-up (config), never per packet. */
export interface AppHintLimits {
  /** Bytes kept of the DNS query name (dotted form). */
  dnsNameBytes: number;
  /** DNS compression pointers followed per name (RFC 1035 §4.1.4); stops pointer loops. */
  dnsMaxPointerHops: number;
  /** DNS labels read per name (a legal name has at most 127). */
  dnsMaxLabels: number;
  /** Bytes kept of the HTTP Host header value. */
  httpHostBytes: number;
  /** Bytes of an HTTP request scanned for the Host header. */
  httpMaxScanBytes: number;
  /** Bytes kept of the TLS server_name. */
  tlsSniBytes: number;
  /** Bytes kept of the first ALPN protocol. */
  tlsAlpnBytes: number;
  /** TLS hello extensions walked. */
  tlsMaxExtensions: number;
}

export const DEFAULT_APP_HINT_LIMITS: Readonly<AppHintLimits> = Object.freeze({
  dnsNameBytes: 64,
  dnsMaxPointerHops: 8,
  dnsMaxLabels: 128,
  httpHostBytes: 64,
  httpMaxScanBytes: 2048,
  tlsSniBytes: 64,
  tlsAlpnBytes: 16,
  tlsMaxExtensions: 64,
});

/** Bytes kept of an OTHER method's token (so an unusual method can still be reported). */
export const HTTP_METHOD_TOKEN_BYTES = 16;

const latin1 = new TextDecoder('latin1');

export class AppHints {
  kind: AppHintKind = AppHintKind.NONE;

  // DNS (RFC 1035 §4.1): the first question and the header's response code.
  readonly dnsName: Uint8Array;
  dnsNameLength = 0;
  dnsNameTruncated = 0;
  /** 1 when the message has a question (QDCOUNT > 0) and its name was read. */
  dnsHasQuestion = 0;
  dnsQtype = 0;
  dnsRcode = 0;
  dnsIsResponse = 0;

  // HTTP/1.x (RFC 9112): request method and Host, or response status code.
  httpMethod: HttpMethod = HttpMethod.NONE;
  /** The method token as sent (any method, up to HTTP_METHOD_TOKEN_BYTES). */
  readonly httpMethodToken = new Uint8Array(HTTP_METHOD_TOKEN_BYTES);
  httpMethodTokenLength = 0;
  readonly httpHost: Uint8Array;
  httpHostLength = 0;
  httpHostTruncated = 0;
  /** Response status code; 0 for a request. */
  httpStatusCode = 0;

  // TLS (RFC 8446 §4.1.2/4.1.3, RFC 6066 §3, RFC 7301 §3.1).
  /** 1 = ClientHello, 2 = ServerHello. */
  tlsHandshakeType = 0;
  /** The hello's legacy_version (e.g. 0x0303). */
  tlsLegacyVersion = 0;
  /** ClientHello: highest non-GREASE version in supported_versions; 0 without the extension. */
  tlsSupportedVersionMax = 0;
  /** ServerHello: supported_versions' selected version, else its legacy_version. */
  tlsSelectedVersion = 0;
  readonly tlsSni: Uint8Array;
  tlsSniLength = 0;
  tlsSniTruncated = 0;
  readonly tlsAlpn: Uint8Array;
  tlsAlpnLength = 0;
  tlsAlpnTruncated = 0;

  readonly limits: Readonly<AppHintLimits>;

  constructor(limits: Partial<AppHintLimits> = {}) {
    const merged = { ...DEFAULT_APP_HINT_LIMITS, ...limits };
    for (const [key, value] of Object.entries(merged)) {
      if (!Number.isInteger(value) || value < 1 || value > 65535) throw new RangeError(`AppHints limit ${key} must be an integer in [1, 65535], got ${value}`);
    }
    this.limits = Object.freeze(merged);
    this.dnsName = new Uint8Array(merged.dnsNameBytes);
    this.httpHost = new Uint8Array(merged.httpHostBytes);
    this.tlsSni = new Uint8Array(merged.tlsSniBytes);
    this.tlsAlpn = new Uint8Array(merged.tlsAlpnBytes);
  }

  /** Clears every field a parser sets (buffers keep stale bytes; their lengths are zeroed). */
  reset(): void {
    this.kind = AppHintKind.NONE;
    this.dnsNameLength = 0;
    this.dnsNameTruncated = 0;
    this.dnsHasQuestion = 0;
    this.dnsQtype = 0;
    this.dnsRcode = 0;
    this.dnsIsResponse = 0;
    this.httpMethod = HttpMethod.NONE;
    this.httpMethodTokenLength = 0;
    this.httpHostLength = 0;
    this.httpHostTruncated = 0;
    this.httpStatusCode = 0;
    this.tlsHandshakeType = 0;
    this.tlsLegacyVersion = 0;
    this.tlsSupportedVersionMax = 0;
    this.tlsSelectedVersion = 0;
    this.tlsSniLength = 0;
    this.tlsSniTruncated = 0;
    this.tlsAlpnLength = 0;
    this.tlsAlpnTruncated = 0;
  }

  dnsNameText(): string {
    return latin1.decode(this.dnsName.subarray(0, this.dnsNameLength));
  }

  httpMethodText(): string {
    return latin1.decode(this.httpMethodToken.subarray(0, this.httpMethodTokenLength));
  }

  httpHostText(): string {
    return latin1.decode(this.httpHost.subarray(0, this.httpHostLength));
  }

  tlsSniText(): string {
    return latin1.decode(this.tlsSni.subarray(0, this.tlsSniLength));
  }

  tlsAlpnText(): string {
    return latin1.decode(this.tlsAlpn.subarray(0, this.tlsAlpnLength));
  }
}
