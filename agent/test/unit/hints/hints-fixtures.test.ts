import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppHintKind, AppHints, HintStatus, HttpMethod } from '../../../src/hints/app-hints.js';
import { parseDns, parseDnsOverTcp } from '../../../src/hints/dns-hint.js';
import { parseHttp } from '../../../src/hints/http-hint.js';
import { parseAppHints } from '../../../src/hints/parse-app-hints.js';
import { parseTls } from '../../../src/hints/tls-hint.js';
import * as f from './hint-fixtures.js';

/** Hand-made payloads whose fields are known by construction (see hint-fixtures.ts). */

describe('DNS hint', () => {
  it('reads the first question, QR and RCODE', () => {
    const hints = new AppHints();
    assert.equal(parseDns(f.DNS_QUERY, 0, f.DNS_QUERY.length, hints), HintStatus.OK);
    assert.deepEqual([hints.kind, hints.dnsNameText(), hints.dnsQtype, hints.dnsIsResponse, hints.dnsRcode], [AppHintKind.DNS, 'www.example.com', 28, 0, 0]);
  });
  it('follows a compression pointer', () => {
    const hints = new AppHints();
    assert.equal(parseDns(f.DNS_RESPONSE_POINTER, 0, f.DNS_RESPONSE_POINTER.length, hints), HintStatus.OK);
    assert.deepEqual([hints.dnsNameText(), hints.dnsQtype, hints.dnsIsResponse, hints.dnsRcode], ['test', 16, 1, 3]);
  });
  it('stops a pointer loop at the hop cap', () => {
    const hints = new AppHints({ dnsMaxPointerHops: 5 });
    assert.equal(parseDns(f.DNS_POINTER_LOOP, 0, f.DNS_POINTER_LOOP.length, hints), HintStatus.MALFORMED);
    assert.equal(hints.dnsHasQuestion, 0);
  });
  it('keeps the prefix of a name longer than the buffer', () => {
    const hints = new AppHints({ dnsNameBytes: 6 });
    assert.equal(parseDns(f.DNS_QUERY, 0, f.DNS_QUERY.length, hints), HintStatus.OK);
    assert.deepEqual([hints.dnsNameText(), hints.dnsNameTruncated, hints.dnsQtype], ['www.ex', 1, 28]);
  });
  it('reads DNS over TCP behind the length prefix; a cut question is TRUNCATED', () => {
    const hints = new AppHints();
    assert.equal(parseDnsOverTcp(f.DNS_TCP_QUERY, 0, f.DNS_TCP_QUERY.length, hints), HintStatus.OK);
    assert.equal(hints.dnsNameText(), 'www.example.com');
    for (let cut = 3; cut < f.DNS_TCP_QUERY.length - 4; cut++) {
      const status = parseDnsOverTcp(f.DNS_TCP_QUERY, 0, cut, hints);
      assert.equal(status, HintStatus.TRUNCATED, `cut at ${cut}`);
      assert.equal(hints.dnsHasQuestion, 0);
    }
  });
});

describe('HTTP hint', () => {
  it('reads method and Host (any case, trimmed)', () => {
    const hints = new AppHints();
    assert.equal(parseHttp(f.HTTP_REQUEST, 0, f.HTTP_REQUEST.length, hints), HintStatus.OK);
    assert.deepEqual([hints.kind, hints.httpMethod, hints.httpMethodText(), hints.httpHostText(), hints.httpStatusCode], [AppHintKind.HTTP, HttpMethod.PATCH, 'PATCH', 'api.example.org', 0]);
  });
  it('a request cut inside the headers is TRUNCATED with the method kept', () => {
    const hints = new AppHints();
    assert.equal(parseHttp(f.HTTP_REQUEST_CUT, 0, f.HTTP_REQUEST_CUT.length, hints), HintStatus.TRUNCATED);
    assert.deepEqual([hints.httpMethod, hints.httpHostLength], [HttpMethod.GET, 0]);
  });
  it('reads a status code', () => {
    const hints = new AppHints();
    assert.equal(parseHttp(f.HTTP_RESPONSE, 0, f.HTTP_RESPONSE.length, hints), HintStatus.OK);
    assert.equal(hints.httpStatusCode, 503);
  });
  it('does not take another protocol\'s upper-case command for HTTP', () => {
    const hints = new AppHints();
    assert.equal(parseHttp(f.SMTP_COMMAND, 0, f.SMTP_COMMAND.length, hints), HintStatus.NOT_MATCHED);
    assert.equal(hints.kind, AppHintKind.NONE);
  });
  it('scans no further than httpMaxScanBytes for Host', () => {
    const hints = new AppHints({ httpMaxScanBytes: 40 });
    assert.equal(parseHttp(f.HTTP_REQUEST, 0, f.HTTP_REQUEST.length, hints), HintStatus.TRUNCATED);
    assert.equal(hints.httpHostLength, 0);
  });
});

describe('TLS hint', () => {
  it('reads SNI, first ALPN and the highest non-GREASE supported version of a ClientHello', () => {
    const hints = new AppHints();
    assert.equal(parseTls(f.TLS_CLIENT_HELLO, 0, f.TLS_CLIENT_HELLO.length, hints), HintStatus.OK);
    assert.deepEqual(
      [hints.kind, hints.tlsHandshakeType, hints.tlsLegacyVersion, hints.tlsSupportedVersionMax, hints.tlsSniText(), hints.tlsAlpnText()],
      [AppHintKind.TLS, 1, 0x0303, 0x0304, 'example.net', 'h2'],
    );
  });
  it('every cut of a ClientHello is TRUNCATED and reports only what came before the cut', () => {
    const hints = new AppHints();
    const sniEnd = f.TLS_CLIENT_HELLO.indexOf(0x74, 60) + 1; // last byte of "example.net"
    for (let cut = 6; cut < f.TLS_CLIENT_HELLO.length; cut++) {
      assert.equal(parseTls(f.TLS_CLIENT_HELLO, 0, cut, hints), HintStatus.TRUNCATED, `cut at ${cut}`);
      assert.equal(hints.tlsSniLength, cut >= sniEnd ? 11 : 0, `SNI at cut ${cut}`);
      assert.equal(hints.tlsSupportedVersionMax, 0, `versions at cut ${cut}`);
    }
  });
  it('reads the version a ServerHello selects', () => {
    const hints = new AppHints();
    assert.equal(parseTls(f.TLS_SERVER_HELLO, 0, f.TLS_SERVER_HELLO.length, hints), HintStatus.OK);
    assert.deepEqual([hints.tlsHandshakeType, hints.tlsLegacyVersion, hints.tlsSelectedVersion], [2, 0x0303, 0x0304]);
  });
  it('a record length shorter than the hello is MALFORMED... unless the hello continues in another record', () => {
    const hints = new AppHints();
    const shortRecord = f.TLS_CLIENT_HELLO.slice();
    shortRecord[4] = shortRecord[4]! - 20; // the record ends 20 bytes early: the hello continues in the next record
    assert.equal(parseTls(shortRecord, 0, shortRecord.length, hints), HintStatus.TRUNCATED);
    assert.equal(hints.tlsSniText(), 'example.net');
    const badExtensionLength = f.TLS_SERVER_HELLO.slice();
    badExtensionLength[badExtensionLength.length - 3] = 9; // supported_versions says 9 bytes, 2 follow
    assert.equal(parseTls(badExtensionLength, 0, badExtensionLength.length, hints), HintStatus.MALFORMED);
  });
});

describe('parseAppHints dispatch', () => {
  it('picks DNS by port, TLS and HTTP by content', () => {
    const hints = new AppHints();
    assert.equal(parseAppHints(f.DNS_QUERY, 0, f.DNS_QUERY.length, 17, 40000, 53, hints), HintStatus.OK);
    assert.equal(hints.kind, AppHintKind.DNS);
    assert.equal(parseAppHints(f.DNS_QUERY, 0, f.DNS_QUERY.length, 17, 40000, 5000, hints), HintStatus.NOT_MATCHED);
    assert.equal(hints.kind, AppHintKind.NONE);
    assert.equal(parseAppHints(f.DNS_TCP_QUERY, 0, f.DNS_TCP_QUERY.length, 6, 53, 40000, hints), HintStatus.OK);
    assert.equal(hints.kind, AppHintKind.DNS);
    assert.equal(parseAppHints(f.TLS_CLIENT_HELLO, 0, f.TLS_CLIENT_HELLO.length, 6, 40000, 8443, hints), HintStatus.OK);
    assert.equal(hints.kind, AppHintKind.TLS);
    assert.equal(parseAppHints(f.HTTP_REQUEST, 0, f.HTTP_REQUEST.length, 6, 40000, 8080, hints), HintStatus.OK);
    assert.equal(hints.kind, AppHintKind.HTTP);
    assert.equal(parseAppHints(f.HTTP_REQUEST, 0, f.HTTP_REQUEST.length, 17, 40000, 8080, hints), HintStatus.NOT_MATCHED);
  });
  it('rejects invalid limits at construction', () => {
    assert.throws(() => new AppHints({ dnsNameBytes: 0 }), RangeError);
    assert.throws(() => new AppHints({ tlsMaxExtensions: 1.5 }), RangeError);
  });
});
