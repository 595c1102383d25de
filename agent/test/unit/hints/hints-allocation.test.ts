import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { AppHints, HintStatus } from '../../../src/hints/app-hints.js';
import { parseAppHints } from '../../../src/hints/parse-app-hints.js';
import { NO_ALLOCATION_SKIP, assertNoAllocation } from '../../helpers/no-allocation.js';
import { sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import * as f from './hint-fixtures.js';
import { payloadsOf, type TestPayload } from './hint-test-kit.js';

/**
 * 1M parses of real payloads (every DNS/HTTP/TLS payload the parsers recognise in three shared
 * captures, else the hand-made fixtures) allocate nothing: AppHints is filled in place.
 */

type Case = Omit<TestPayload, 'frame'>;

function realCases(): Case[] {
  const dir = sharedPcapsDir();
  const cases: Case[] = [];
  const hints = new AppHints();
  if (dir !== null) {
    for (const file of ['realistic/suricata_http-base64-mixed.pcap', 'realistic/zeek_wikipedia.pcap', 'realistic/suricata_tls-browsing.pcap']) {
      for (const p of payloadsOf(join(dir, file))) {
        if (parseAppHints(p.data, p.offset, p.length, p.protocol, p.srcPort, p.dstPort, hints) !== HintStatus.NOT_MATCHED) cases.push(p);
      }
    }
  }
  if (cases.length === 0) {
    cases.push({ data: f.DNS_QUERY, offset: 0, length: f.DNS_QUERY.length, protocol: 17, srcPort: 5000, dstPort: 53 });
    cases.push({ data: f.TLS_CLIENT_HELLO, offset: 0, length: f.TLS_CLIENT_HELLO.length, protocol: 6, srcPort: 5000, dstPort: 443 });
    cases.push({ data: f.HTTP_REQUEST, offset: 0, length: f.HTTP_REQUEST.length, protocol: 6, srcPort: 5000, dstPort: 80 });
  }
  return cases;
}

it('1M hint parses of real payloads allocate nothing', { skip: NO_ALLOCATION_SKIP }, async (t) => {
  const cases = realCases();
  t.diagnostic(`${cases.length} payloads`);
  // Columns, so the loop touches no per-case object property of mixed shape.
  const data = cases.map((c) => c.data);
  const offsets = Int32Array.from(cases, (c) => c.offset);
  const lengths = Int32Array.from(cases, (c) => c.length);
  const protocols = Int32Array.from(cases, (c) => c.protocol);
  const srcPorts = Int32Array.from(cases, (c) => c.srcPort);
  const dstPorts = Int32Array.from(cases, (c) => c.dstPort);
  const hints = new AppHints();
  const recognised = new Float64Array(1);
  let next = 0;
  await assertNoAllocation(
    t,
    (count) => {
      for (let i = 0; i < count; i++) {
        const status = parseAppHints(data[next]!, offsets[next]!, lengths[next]!, protocols[next]!, srcPorts[next]!, dstPorts[next]!, hints);
        if (status !== HintStatus.NOT_MATCHED) recognised[0]!++;
        if (++next === data.length) next = 0;
      }
    },
    { unit: 'parses' },
  );
  assert.ok(recognised[0]! > 0);
});
