import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppHintKind, AppHints, HintStatus } from '../../../src/hints/app-hints.js';
import { parseDns, parseDnsOverTcp } from '../../../src/hints/dns-hint.js';
import { parseHttp } from '../../../src/hints/http-hint.js';
import { parseAppHints } from '../../../src/hints/parse-app-hints.js';
import { parseTls } from '../../../src/hints/tls-hint.js';
import { SHARED_PCAPS_MISSING, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { type TestPayload, payloadsOf, seededRandom } from './hint-test-kit.js';
import { join } from 'node:path';

/**
 * Robustness: 100k random and mutated payloads through every parser. None may throw, read outside
 * [offset, offset + length) (the payload is placed inside a larger buffer whose surrounding bytes
 * are poison, and the same payload alone in an exact-size buffer must give the same result), or
 * report a length beyond its buffer.
 */

const INPUTS = 100_000;
const parsers = [parseDns, parseDnsOverTcp, parseHttp, parseTls] as const;

function seedPayloads(): Uint8Array[] {
  const dir = sharedPcapsDir();
  const seeds: Uint8Array[] = [];
  if (dir === null) return seeds;
  for (const file of ['realistic/suricata_http-base64-mixed.pcap', 'realistic/zeek_wikipedia.pcap', 'realistic/suricata_community-id-ipv6.pcap']) {
    const hints = new AppHints();
    for (const p of payloadsOf(join(dir, file)) as TestPayload[]) {
      if (parseAppHints(p.data, p.offset, p.length, p.protocol, p.srcPort, p.dstPort, hints) !== HintStatus.NOT_MATCHED) {
        seeds.push(p.data.slice(p.offset, p.offset + Math.min(p.length, 1500)));
      }
    }
  }
  return seeds;
}

function checkBounds(hints: AppHints): void {
  assert.ok(hints.dnsNameLength >= 0 && hints.dnsNameLength <= hints.dnsName.length);
  assert.ok(hints.httpHostLength >= 0 && hints.httpHostLength <= hints.httpHost.length);
  assert.ok(hints.httpMethodTokenLength >= 0 && hints.httpMethodTokenLength <= hints.httpMethodToken.length);
  assert.ok(hints.tlsSniLength >= 0 && hints.tlsSniLength <= hints.tlsSni.length);
  assert.ok(hints.tlsAlpnLength >= 0 && hints.tlsAlpnLength <= hints.tlsAlpn.length);
  assert.ok(hints.kind >= AppHintKind.NONE && hints.kind <= AppHintKind.TLS);
}

/** Every field, so two parses can be compared. */
function snapshot(hints: AppHints): string {
  return JSON.stringify([
    hints.kind, hints.dnsNameText(), hints.dnsNameTruncated, hints.dnsHasQuestion, hints.dnsQtype, hints.dnsRcode, hints.dnsIsResponse,
    hints.httpMethod, hints.httpMethodText(), hints.httpHostText(), hints.httpHostTruncated, hints.httpStatusCode,
    hints.tlsHandshakeType, hints.tlsLegacyVersion, hints.tlsSupportedVersionMax, hints.tlsSelectedVersion,
    hints.tlsSniText(), hints.tlsSniTruncated, hints.tlsAlpnText(), hints.tlsAlpnTruncated,
  ]);
}

/** Turns the start of random bytes into something each parser gets further into. */
function prefixFor(kind: number, bytes: Uint8Array, random: () => number): void {
  if (bytes.length < 8) return;
  switch (kind) {
    case 0: // TLS handshake record header + hello type
      bytes[0] = 22;
      bytes[1] = 3;
      bytes[2] = Math.floor(random() * 5);
      bytes[5] = random() < 0.5 ? 1 : 2;
      break;
    case 1: // HTTP request or status line
      bytes.set(random() < 0.5 ? [0x47, 0x45, 0x54, 0x20] : [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e], 0);
      break;
    case 2: // DNS with one question
      bytes[4] = 0;
      bytes[5] = 1;
      break;
  }
}

describe('hint parsers on random and mutated input', () => {
  it(`${INPUTS} inputs: never throw, never read outside the range, never overrun a buffer`, (t) => {
    const random = seededRandom(0x7a9f10);
    const seeds = seedPayloads();
    if (seeds.length === 0) t.diagnostic(`${SHARED_PCAPS_MISSING}: random bytes only`);
    const small = new AppHints({ dnsNameBytes: 3, httpHostBytes: 3, tlsSniBytes: 3, tlsAlpnBytes: 1, dnsMaxPointerHops: 2, tlsMaxExtensions: 4 });
    const normal = new AppHints();
    const exact = new AppHints();
    const POISON_BYTES = 64;
    const statuses = new Map<string, number>();
    for (let n = 0; n < INPUTS; n++) {
      let input: Uint8Array;
      if (seeds.length > 0 && n % 2 === 0) {
        const seed = seeds[Math.floor(random() * seeds.length)]!;
        input = seed.slice(0, 1 + Math.floor(random() * seed.length)); // cut anywhere
        const flips = 1 + Math.floor(random() * 8);
        for (let i = 0; i < flips; i++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      } else {
        input = new Uint8Array(Math.floor(random() * 300));
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(random() * 256);
        prefixFor(n % 4, input, random);
      }
      // The input in the middle of poison bytes that look like valid continuations.
      const framed = new Uint8Array(POISON_BYTES + input.length + POISON_BYTES).fill(0x41);
      framed.set(input, POISON_BYTES);
      for (let p = 0; p < parsers.length; p++) {
        const parse = parsers[p]!;
        for (const hints of [small, normal]) {
          const status = parse(framed, POISON_BYTES, input.length, hints);
          assert.ok(status >= HintStatus.OK && status <= HintStatus.MALFORMED);
          checkBounds(hints);
          if (hints === normal) {
            const framedResult = `${status} ${snapshot(hints)}`;
            const exactStatus = parse(input, 0, input.length, exact);
            assert.equal(`${exactStatus} ${snapshot(exact)}`, framedResult, `parser ${parse.name} read outside its range on input ${Buffer.from(input).toString('hex')}`);
            const key = `${parse.name}:${status}`;
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
          }
        }
      }
    }
    t.diagnostic(JSON.stringify(Object.fromEntries([...statuses].sort())));
    // The fuzz reached every outcome of every parser (else the inputs were too easy).
    for (const parse of parsers) {
      for (const status of [HintStatus.OK, HintStatus.NOT_MATCHED, HintStatus.TRUNCATED, HintStatus.MALFORMED]) {
        if (parse === parseHttp && status === HintStatus.MALFORMED) continue; // HTTP has no length fields to contradict
        assert.ok((statuses.get(`${parse.name}:${status}`) ?? 0) > 0, `${parse.name} never returned ${status}`);
      }
    }
  });

  it('rejects ranges outside the buffer without reading', () => {
    const hints = new AppHints();
    const bytes = new Uint8Array(32);
    for (const parse of parsers) {
      for (const [offset, length] of [[-1, 4], [0, 33], [30, 4], [Number.NaN, 4], [0, Number.NaN], [0.5, 4], [0, -1]] as const) {
        assert.equal(parse(bytes, offset, length, hints), HintStatus.NOT_MATCHED, `${parse.name}(${offset}, ${length})`);
        assert.equal(hints.kind, AppHintKind.NONE);
      }
    }
  });
});
