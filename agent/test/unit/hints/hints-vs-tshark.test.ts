import { HINT_CAPTURES } from './hint-test-kit.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { AppHintKind, AppHints, HINT_STATUS_NAMES } from '../../../src/hints/app-hints.js';
import { parseAppHints } from '../../../src/hints/parse-app-hints.js';
import { SHARED_PCAPS_MISSING, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { type TsharkHintFrame, payloadsOf, tsharkAvailable, tsharkHints } from './hint-test-kit.js';

/**
 * Application hints equal tshark's fields for the same packets of the shared captures. tshark
 * dissects each frame on its own (TCP and IP reassembly off, see tsharkHints), which is what a
 * per-packet parser sees. Both directions are checked for every frame: each frame tshark labels
 * as DNS / HTTP request or response / TLS ClientHello or ServerHello must be recognised with equal
 * fields, and each frame the parsers recognise must be labelled so by tshark.
 *
 * Documented differences, each checked rather than skipped:
 * - a name longer than its buffer: tshark's text must start with the kept bytes;
 * - tshark writes the root name as "<Root>" (the parser: length 0);
 * - a TLS record that continues in the next segment: tshark without reassembly dissects nothing
 *   of it, but the hello at its start may be complete in this packet and is then read. Such a
 *   hello must equal what tshark WITH reassembly reports for the same TCP stream and hello type;
 * - a method tshark knows but RFC 9110 does not register (CCM_POST) on a request line without a
 *   valid " HTTP/1.x" ending: the parser demands the version for such tokens, because upper-case
 *   commands of other protocols (SMTP "MAIL FROM", FTP "USER x") look the same; it must say not HTTP;
 * - HTTP in a UDP packet: SSDP (UDP 1900), or HTTP inside a VXLAN tunnel, which the decoder
 *   meters as the outer UDP packet. tshark dissects both; hints read HTTP over TCP only, so the
 *   parsers must not report HTTP there.
 */

const CAPTURES = HINT_CAPTURES;

const SMALL_LIMITS = { dnsNameBytes: 5, httpHostBytes: 5, tlsSniBytes: 5, tlsAlpnBytes: 1 };

const dir = sharedPcapsDir();
const skip = dir === null ? SHARED_PCAPS_MISSING : !tsharkAvailable() ? 'tshark not installed' : false;

function first(frame: TsharkHintFrame | undefined, field: Parameters<TsharkHintFrame['get']>[0]): string | undefined {
  return frame?.get(field)?.[0];
}

function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >>> 8 === (value & 0xff);
}

/** Compares a kept (maybe cut) name with tshark's text. */
function sameName(kept: string, truncated: number, theirs: string | undefined): boolean {
  const text = theirs === '<Root>' ? '' : (theirs ?? '');
  return truncated === 1 ? text.startsWith(kept) && text.length > kept.length : text === kept;
}

export interface Tally {
  dns: number;
  httpRequests: number;
  httpResponses: number;
  tlsHellos: number;
  sni: number;
  alpn: number;
  supportedVersions: number;
  tlsViaReassembly: number;
  httpInUdpIgnored: number;
  httpUnregisteredWithoutVersion: number;
}

const emptyTally = (): Tally => ({ dns: 0, httpRequests: 0, httpResponses: 0, tlsHellos: 0, sni: 0, alpn: 0, supportedVersions: 0, tlsViaReassembly: 0, httpInUdpIgnored: 0, httpUnregisteredWithoutVersion: 0 });

/** The first frame of each (TCP stream, hello type) in tshark's reassembled view. */
function reassembledHellos(file: string): Map<string, TsharkHintFrame> {
  const hellos = new Map<string, TsharkHintFrame>();
  for (const frame of tsharkHints(file, false).values()) {
    const stream = first(frame, 'tcp.stream');
    const type = first(frame, 'tls.handshake.type');
    if (stream === undefined || (type !== '1' && type !== '2')) continue;
    if (!hellos.has(`${stream}|${type}`)) hellos.set(`${stream}|${type}`, frame);
  }
  return hellos;
}

/** Problems with one frame; empty when the parsers and tshark agree. */
function firstLine(data: Uint8Array, offset: number, length: number): string {
  return Buffer.from(data.subarray(offset, offset + length)).toString('latin1').split('\n')[0] ?? '';
}

const REGISTERED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

function compareFrame(
  hints: AppHints,
  status: number,
  theirs: TsharkHintFrame | undefined,
  tally: Tally,
  hellos: Map<string, TsharkHintFrame>,
  requestLine: string,
): string[] {
  const problems: string[] = [];
  const says = (what: string, ours: unknown, tshark: unknown): void => {
    if (ours !== tshark) problems.push(`${what}: ours ${JSON.stringify(ours)}, tshark ${JSON.stringify(tshark)} (status ${HINT_STATUS_NAMES[status]})`);
  };

  // DNS
  const tsharkDns = first(theirs, 'dns.flags.response') !== undefined;
  says('is DNS', hints.kind === AppHintKind.DNS, tsharkDns);
  if (tsharkDns && hints.kind === AppHintKind.DNS) {
    tally.dns++;
    const response = first(theirs, 'dns.flags.response') === '1' || first(theirs, 'dns.flags.response') === 'True';
    says('DNS response', hints.dnsIsResponse === 1, response);
    if (response) says('DNS rcode', String(hints.dnsRcode), first(theirs, 'dns.flags.rcode'));
    const name = first(theirs, 'dns.qry.name');
    says('DNS has question', hints.dnsHasQuestion === 1, name !== undefined);
    if (name !== undefined && hints.dnsHasQuestion === 1) {
      if (!sameName(hints.dnsNameText(), hints.dnsNameTruncated, name)) says('DNS name', hints.dnsNameText(), name);
      says('DNS qtype', String(hints.dnsQtype), first(theirs, 'dns.qry.type'));
    }
  }

  // HTTP
  const method = first(theirs, 'http.request.method');
  const code = first(theirs, 'http.response.code');
  const oursHttp = hints.kind === AppHintKind.HTTP;
  if (first(theirs, 'udp.srcport') !== undefined && (method !== undefined || code !== undefined)) {
    tally.httpInUdpIgnored++;
    says('HTTP over UDP', oursHttp, false);
  } else if (method !== undefined && !REGISTERED_METHODS.has(method) && !/ HTTP\/1\.\d\r?$/.test(requestLine)) {
    tally.httpUnregisteredWithoutVersion++;
    says('HTTP unregistered method without version', oursHttp, false);
  } else {
  says('HTTP request', oursHttp && hints.httpStatusCode === 0, method !== undefined);
  says('HTTP response', oursHttp && hints.httpStatusCode !== 0, code !== undefined);
  if (oursHttp && method !== undefined) {
    tally.httpRequests++;
    says('HTTP method', hints.httpMethodText(), method);
    const host = first(theirs, 'http.host');
    if (!sameName(hints.httpHostText(), hints.httpHostTruncated, host)) says('HTTP host', hints.httpHostText(), host);
  }
  if (oursHttp && code !== undefined) {
    tally.httpResponses++;
    says('HTTP status', String(hints.httpStatusCode), code);
  }
  }

  // TLS
  let handshakeType = first(theirs, 'tls.handshake.type');
  if (hints.kind === AppHintKind.TLS && handshakeType === undefined && first(theirs, 'tcp.stream') !== undefined) {
    const reassembled = hellos.get(`${first(theirs, 'tcp.stream')}|${hints.tlsHandshakeType}`);
    if (reassembled !== undefined) {
      theirs = reassembled;
      handshakeType = first(theirs, 'tls.handshake.type');
      tally.tlsViaReassembly++;
    }
  }
  const tsharkHello = handshakeType === '1' || handshakeType === '2';
  says('TLS hello', hints.kind === AppHintKind.TLS, tsharkHello);
  if (tsharkHello && hints.kind === AppHintKind.TLS) {
    tally.tlsHellos++;
    says('TLS handshake type', String(hints.tlsHandshakeType), handshakeType);
    says('TLS legacy version', hints.tlsLegacyVersion, Number(first(theirs, 'tls.handshake.version')));
    const sni = first(theirs, 'tls.handshake.extensions_server_name');
    if (sni !== undefined) tally.sni++;
    if (!sameName(hints.tlsSniText(), hints.tlsSniTruncated, sni)) says('TLS SNI', hints.tlsSniText(), sni);
    const alpn = first(theirs, 'tls.handshake.extensions_alpn_str');
    if (handshakeType === '1') {
      if (alpn !== undefined) tally.alpn++;
      if (!sameName(hints.tlsAlpnText(), hints.tlsAlpnTruncated, alpn)) says('TLS ALPN', hints.tlsAlpnText(), alpn);
    }
    const versions = (theirs?.get('tls.handshake.extensions.supported_version') ?? []).map(Number);
    if (versions.length > 0) tally.supportedVersions++;
    if (handshakeType === '1') {
      const highest = versions.filter((v) => !isGrease(v)).reduce((a, b) => Math.max(a, b), 0);
      says('TLS supported_versions max', hints.tlsSupportedVersionMax, highest);
    } else {
      says('TLS selected version', hints.tlsSelectedVersion, versions[0] ?? hints.tlsLegacyVersion);
    }
  }
  return problems;
}

describe('application hints equal tshark for the same packets', { skip }, () => {
  const total = emptyTally();
  for (const relative of CAPTURES) {
    it(basename(relative), (t) => {
      const file = join(dir!, relative);
      if (!existsSync(file)) return t.skip(`${relative} missing`);
      const tshark = tsharkHints(file);
      const tally = emptyTally();
      const hellos = reassembledHellos(file);
      const problems: string[] = [];
      const seen = new Set<number>();
      const payloads = payloadsOf(file);
      // Default buffers, then tiny ones: every kept name must then be a strict prefix of tshark's.
      for (const [label, hints] of [['', new AppHints()], ['small buffers: ', new AppHints(SMALL_LIMITS)]] as const) {
        const counted = label === '' ? tally : emptyTally();
        for (const p of payloads) {
          seen.add(p.frame);
          const status = parseAppHints(p.data, p.offset, p.length, p.protocol, p.srcPort, p.dstPort, hints);
          for (const problem of compareFrame(hints, status, tshark.get(p.frame), counted, hellos, firstLine(p.data, p.offset, p.length))) {
            problems.push(`${label}frame ${p.frame}: ${problem}`);
          }
        }
      }
      const hints = new AppHints();
      // Frames tshark labels whose payload the decoder did not hand over count as misses too.
      hints.reset();
      for (const [frame, fields] of tshark) {
        if (seen.has(frame)) continue;
        for (const problem of compareFrame(hints, 0, fields, tally, hellos, '')) problems.push(`frame ${frame} (no payload): ${problem}`);
      }
      t.diagnostic(`${relative}: ${JSON.stringify(tally)}`);
      for (const key of Object.keys(total) as (keyof Tally)[]) total[key] += tally[key];
      assert.deepEqual(problems.slice(0, 40), [], `${problems.length} disagreements`);
    });
  }
  it('covered every hint kind', (t) => {
    t.diagnostic(JSON.stringify(total));
    for (const [key, count] of Object.entries(total)) if (key !== 'httpInUdpIgnored' && key !== 'httpUnregisteredWithoutVersion') assert.ok(count > 0, `no ${key} compared`);
  });
});
