import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandError } from '../../../src/fleet/fleet-commands.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { FLOW_QUERY_MAX_BYTES, parseFlowQuery, runFlowQuery, type FlowQueryResult } from '../../../src/recent/flow-query.js';
import { AppHintKind } from '../../../src/hints/app-hints.js';
import { RECENT_SERVER_NAME_BYTES, RecentFlowRing } from '../../../src/recent/recent-flow-ring.js';
import { seededRandom } from '../export/export-test-kit.js';
import {
  bruteForceMatches,
  END_REASON_NAMES,
  expectedRecord,
  fillFlowRecord,
  INTERFACES,
  pickExpectedKeys,
  SPREAD_MS,
  syntheticFlows,
  T0_MS,
  type QueryArgs,
  type SyntheticFlow,
} from './recent-flow-kit.js';

const rec = new FlowRecord();
function addAll(ring: RecentFlowRing, flows: SyntheticFlow[]): void {
  for (const flow of flows) ring.add(fillFlowRecord(rec, flow));
}

/** Newest first: the order the ring received them, reversed. */
function expectedResult(flows: SyntheticFlow[], args: QueryArgs): Record<string, unknown>[] {
  return flows.filter((flow) => bruteForceMatches(flow, args)).reverse().map(expectedRecord);
}

/** Pages through the whole result, calling between() after each page; returns the pages. */
function allPages(ring: RecentFlowRing, args: QueryArgs, maxBytes?: number, between?: () => void): FlowQueryResult[] {
  const pages: FlowQueryResult[] = [];
  let cursor: string | null = null;
  do {
    const query = parseFlowQuery(cursor === null ? args : { ...args, cursor });
    const page: FlowQueryResult = runFlowQuery(ring, query, maxBytes === undefined ? {} : { maxBytes });
    assert.deepEqual(JSON.parse(JSON.stringify(page)), page, 'a page is plain JSON data');
    pages.push(page);
    cursor = page.nextCursor;
    between?.();
    assert.ok(pages.length < 10_000);
  } while (cursor !== null);
  return pages;
}

function records(pages: FlowQueryResult[]): Record<string, unknown>[] {
  return pages.flatMap((page) => page.records.map(pickExpectedKeys));
}

const FLOWS = syntheticFlows(3000, 42);
const MINUTE_3 = T0_MS + 3 * 60_000;

const SINGLE_FILTERS: QueryArgs[] = [
  {},
  { from: MINUTE_3 },
  { to: MINUTE_3 },
  { from: MINUTE_3, to: MINUTE_3 + 60_000 },
  { from: T0_MS + 7 * 60_000 + 30_000, to: T0_MS + 7 * 60_000 + 31_000 },
  ...INTERFACES.map((i) => ({ interface: i })),
  { interface: 9 },
  { address: '192.0.2.7' },
  { address: '192.0.2.0/24' },
  { address: '198.51.100.0/25' },
  { address: '0.0.0.0/0' },
  { address: '2001:db8:a::3' },
  { address: '2001:db8:b::/48' },
  { address: '2001:db8::/32' },
  { address: '::/0' },
  { port: 80 },
  { port: 443 },
  { port: 53 },
  { protocol: 'tcp' },
  { protocol: 17 },
  { protocol: 'icmp' },
  { protocol: 'ipv6-icmp' },
  { protocol: 47 },
  ...END_REASON_NAMES.slice(1).map((name) => ({ endReason: name })),
];

test('every filter alone returns exactly the records a brute-force filter picks, newest first', () => {
  const ring = new RecentFlowRing(5000);
  addAll(ring, FLOWS);
  for (const args of SINGLE_FILTERS) {
    const expected = expectedResult(FLOWS, args);
    const pages = allPages(ring, { ...args, limit: 1000 }, 10 * 1024 * 1024);
    assert.equal(pages[0]!.matched, expected.length, `matched for ${JSON.stringify(args)}`);
    assert.deepEqual(records(pages), expected, `records for ${JSON.stringify(args)}`);
  }
  // The filters are not vacuous: each picks some records and leaves others.
  for (const args of SINGLE_FILTERS.slice(1)) {
    if (args.interface === 9 || args.address === '0.0.0.0/0' || args.address === '::/0') continue;
    const count = expectedResult(FLOWS, args).length;
    assert.ok(count > 0 && count < FLOWS.length, `${JSON.stringify(args)} picks ${count}`);
  }
});

test('filters combined (chosen and random) agree with the brute-force filter', () => {
  const ring = new RecentFlowRing(5000);
  addAll(ring, FLOWS);
  const chosen: QueryArgs[] = [
    { from: MINUTE_3, to: MINUTE_3 + 60_000, interface: 2 },
    { from: MINUTE_3, to: MINUTE_3 + 60_000, interface: 1, address: '192.0.2.0/24', protocol: 'tcp' },
    { address: '2001:db8:a::/48', port: 443, endReason: 'idleTimeout' },
    { port: 80, protocol: 'icmp' }, // ICMP has no ports: nothing
  ];
  const random = seededRandom(7);
  const keys = ['window', 'interface', 'address', 'port', 'protocol', 'endReason'];
  const addresses = ['192.0.2.0/24', '198.51.100.3', '203.0.113.0/28', '2001:db8:b::/48', '2001:db8:a::2', '10.0.0.0/8'];
  for (let n = 0; n < 60; n++) {
    const args: QueryArgs = {};
    for (const key of keys) {
      if (random() > 0.45) continue;
      if (key === 'window') {
        const from = T0_MS + Math.floor(random() * SPREAD_MS);
        Object.assign(args, { from, to: from + 1 + Math.floor(random() * 120_000) });
      } else if (key === 'interface') args.interface = INTERFACES[Math.floor(random() * 4)];
      else if (key === 'address') args.address = addresses[Math.floor(random() * addresses.length)];
      else if (key === 'port') args.port = [80, 443, 53, 22][Math.floor(random() * 4)];
      else if (key === 'protocol') args.protocol = ['tcp', 'udp', 6, 17, 'icmp'][Math.floor(random() * 5)];
      else args.endReason = END_REASON_NAMES[1 + Math.floor(random() * 5)];
    }
    chosen.push(args);
  }
  let nonEmpty = 0;
  for (const args of chosen) {
    const expected = expectedResult(FLOWS, args);
    if (expected.length > 0) nonEmpty++;
    assert.deepEqual(records(allPages(ring, { ...args, limit: 1000 }, 10 * 1024 * 1024)), expected, JSON.stringify(args));
  }
  assert.ok(nonEmpty > 30, `${nonEmpty} of ${chosen.length} combinations match something`);
});

test('a time window returns exactly the records whose span overlaps [from, to): boundaries included and excluded', () => {
  const from = MINUTE_3;
  const to = MINUTE_3 + 60_000;
  const base = syntheticFlows(8, 5);
  const withTimes = (flow: SyntheticFlow, start: number, end: number, reverse: [number, number] | null): SyntheticFlow => ({
    ...flow,
    packets: 1,
    startMs: start,
    endMs: end,
    reversePackets: reverse === null ? 0 : 1,
    reverseStartMs: reverse?.[0] ?? 0,
    reverseEndMs: reverse?.[1] ?? 0,
  });
  const flows = [
    withTimes(base[0]!, from - 5000, from, null), // ends exactly at from: in
    withTimes(base[1]!, from - 5000, from - 1, null), // ends 1 ms before: out
    withTimes(base[2]!, to, to + 10, null), // starts exactly at to: out
    withTimes(base[3]!, to - 1, to + 10, null), // starts 1 ms before to: in
    withTimes(base[4]!, from - 60_000, to + 60_000, null), // spans the window: in
    withTimes(base[5]!, from - 9000, from - 8000, [from + 10, from + 20]), // only the reply falls in: in
    { ...withTimes(base[6]!, 0, 0, [from + 30, from + 40]), packets: 0 }, // forward empty (times 0): in by its reverse
    withTimes(base[7]!, to + 1, to + 2, [from - 2, from - 1]), // neither direction alone overlaps, the flow's span [from-2, to+2] does: in
  ];
  const ring = new RecentFlowRing(16);
  addAll(ring, flows);
  const result = runFlowQuery(ring, parseFlowQuery({ from, to }));
  assert.deepEqual(
    result.records.map((r) => r.flowEndMs),
    [7, 6, 5, 4, 3, 0].map((i) => flows[i]!.endMs),
  );
  assert.deepEqual(result.records.map(pickExpectedKeys), expectedResult(flows, { from, to }));
  assert.equal(result.matched, 6);
  assert.equal(result.nextCursor, null);
});

test('paging with cursors reassembles exactly the full result while records keep arriving', () => {
  const first = FLOWS.slice(0, 2000);
  const later = syntheticFlows(4000, 43, 3000);
  for (const args of [{}, { from: MINUTE_3, to: MINUTE_3 + 120_000 }, { address: '2001:db8::/32', port: 443 }, { interface: 3 }]) {
    const ring = new RecentFlowRing(20_000);
    addAll(ring, first);
    let fed = 0;
    const pages = allPages(ring, { ...args, limit: 37 }, undefined, () => {
      addAll(ring, later.slice(fed, fed + 25)); // newer records, many of which match too
      fed += 25;
    });
    const expected = expectedResult(first, args);
    assert.ok(expected.length > 100, `${JSON.stringify(args)}: ${expected.length} records`);
    assert.ok(expectedResult(later.slice(0, fed), args).length > 0, 'records that match arrived between pages');
    assert.deepEqual(records(pages), expected, JSON.stringify(args));
    assert.equal(pages.length, Math.ceil(expected.length / 37));
    assert.ok(pages.every((page) => !page.truncated && (page.overwrittenSinceCursor ?? 0) === 0));
    // matched counts this page and the pages after it.
    pages.forEach((page, i) => assert.equal(page.matched, expected.length - 37 * i));
    assert.equal(pages[0]!.overwrittenSinceCursor, undefined);
    // A new query (no cursor) sees what arrived meanwhile.
    const everything = [...first, ...later.slice(0, fed)];
    assert.equal(runFlowQuery(ring, parseFlowQuery(args)).matched, expectedResult(everything, args).length);
  }
});

test('records overwritten between pages are reported, and the pages go on with what survives', () => {
  const ring = new RecentFlowRing(200);
  const flows = syntheticFlows(400, 11);
  addAll(ring, flows.slice(0, 200));
  // 45 records (about 1.3 kB of JSON each) fit one page's byte budget.
  const page1 = runFlowQuery(ring, parseFlowQuery({ limit: 45 }));
  assert.deepEqual(page1.records.map(pickExpectedKeys), flows.slice(155, 200).reverse().map(expectedRecord));
  assert.equal(page1.matched, 200);
  addAll(ring, flows.slice(200, 320)); // overwrites sequences 0..119
  const page2 = runFlowQuery(ring, parseFlowQuery({ limit: 45, cursor: page1.nextCursor }));
  assert.equal(page2.overwrittenSinceCursor, 120);
  assert.deepEqual(page2.records.map(pickExpectedKeys), flows.slice(120, 155).reverse().map(expectedRecord));
  assert.equal(page2.matched, 35);
  assert.equal(page2.nextCursor, null);
  // Everything older than the cursor gone: an empty last page that says how much was lost.
  const page1b = runFlowQuery(ring, parseFlowQuery({ limit: 10 }));
  addAll(ring, flows.slice(320, 400));
  addAll(ring, flows.slice(0, 200));
  const page2b = runFlowQuery(ring, parseFlowQuery({ limit: 10, cursor: page1b.nextCursor }));
  assert.deepEqual(page2b.records, []);
  assert.equal(page2b.overwrittenSinceCursor, 190);
  assert.equal(page2b.nextCursor, null);
});

test('a page stops at the byte budget, says truncated, and the pages still add up', () => {
  const ring = new RecentFlowRing(5000);
  addAll(ring, FLOWS);
  const full = runFlowQuery(ring, parseFlowQuery({ limit: 1000 }));
  assert.equal(full.truncated, true, 'a full page of 1000 records does not fit the default budget');
  assert.ok(full.records.length > 40 && full.records.length < 1000);
  assert.ok(Buffer.byteLength(JSON.stringify(full)) <= FLOW_QUERY_MAX_BYTES);
  const maxBytes = 8 * 1024;
  const pages = allPages(ring, { limit: 1000, address: '192.0.2.0/24' }, maxBytes);
  assert.ok(pages.length > 3);
  for (const page of pages) assert.ok(Buffer.byteLength(JSON.stringify(page)) <= maxBytes);
  assert.ok(pages.slice(0, -1).every((page) => page.truncated));
  assert.equal(pages.at(-1)!.truncated, false);
  assert.deepEqual(records(pages), expectedResult(FLOWS, { address: '192.0.2.0/24' }));
  // A budget smaller than one record still returns one per page, so paging progresses.
  const tiny = runFlowQuery(ring, parseFlowQuery({ limit: 5 }), { maxBytes: 10 });
  assert.equal(tiny.records.length, 1);
  assert.equal(tiny.truncated, true);
});

test('result records carry every kept field under its IANA-like name', () => {
  const ring = new RecentFlowRing(4);
  const flow = FLOWS.find((f) => f.ipVersion === 6 && f.protocol === 6 && f.reversePackets > 0)!;
  const record = fillFlowRecord(new FlowRecord(), flow);
  record.srcMac = 0x0200_5e10_0001;
  record.tos = 0x2e << 2;
  ring.add(record);
  const [result] = runFlowQuery(ring, parseFlowQuery({})).records;
  assert.deepEqual(pickExpectedKeys(result!), expectedRecord(flow));
  assert.equal(result!.sourceMacAddress, '02:00:5e:10:00:01');
  assert.equal(result!.destinationMacAddress, null);
  assert.equal(result!.ipClassOfService, 0xb8);
  assert.equal(result!.reverseFlowStartMs, flow.reverseStartMs);
  assert.equal(result!.reverseIngressInterface, flow.reverseIngressInterface);
  assert.equal(result!.ipVersion, 6);
});

test('result records carry the application hints: kind, numbers and the server name (cut at RECENT_SERVER_NAME_BYTES)', () => {
  const ring = new RecentFlowRing(8);
  const text = (field: Uint8Array, value: string): number => {
    field.set(Buffer.from(value, 'latin1'));
    return value.length;
  };
  const cases: [string, (r: FlowRecord) => void, Record<string, unknown>][] = [
    ['none', () => {}, { appHint: null, serverName: null, dnsQueryType: 0, httpStatusCode: 0, tlsVersion: 0 }],
    ['dns', (r) => {
      r.appHintKind = AppHintKind.DNS;
      r.dnsQueryNameLength = text(r.dnsQueryName, 'www.example.org');
      r.dnsQueryType = 28;
      r.dnsResponseSeen = 1;
      r.dnsResponseCode = 3;
    }, { appHint: 'dns', serverName: 'www.example.org', dnsQueryType: 28, dnsResponseSeen: 1, dnsResponseCode: 3 }],
    ['http', (r) => {
      r.appHintKind = AppHintKind.HTTP;
      r.httpRequestHostLength = text(r.httpRequestHost, 'h'.repeat(100));
      r.httpStatusCode = 404;
    }, { appHint: 'http', serverName: 'h'.repeat(RECENT_SERVER_NAME_BYTES), httpStatusCode: 404 }],
    ['tls', (r) => {
      r.appHintKind = AppHintKind.TLS;
      r.tlsServerNameLength = text(r.tlsServerName, 'sni.example');
      r.tlsVersion = 0x0304;
    }, { appHint: 'tls', serverName: 'sni.example', tlsVersion: 0x0304 }],
  ];
  for (const [, fill] of cases) {
    const record = fillFlowRecord(new FlowRecord(), FLOWS[0]!);
    fill(record);
    ring.add(record);
  }
  const results = runFlowQuery(ring, parseFlowQuery({})).records.reverse(); // newest first
  cases.forEach(([label, , expected], i) => {
    for (const [key, value] of Object.entries(expected)) assert.equal(results[i]![key], value, `${label} ${key}`);
  });
});

function assertInvalid(args: QueryArgs, name: string, ring?: RecentFlowRing): void {
  assert.throws(
    () => {
      const query = parseFlowQuery(args);
      if (ring !== undefined) runFlowQuery(ring, query);
    },
    (error: unknown) => error instanceof CommandError && error.commandCode === 'invalid_argument' && error.message.startsWith(`${name}:`),
    `${JSON.stringify(args)} → invalid ${name}`,
  );
}

test('invalid arguments give invalid_argument naming the argument', () => {
  const cases: [QueryArgs, string][] = [
    [{ from: 'yesterday' }, 'from'],
    [{ from: -1 }, 'from'],
    [{ from: 1.5 }, 'from'],
    [{ to: {} }, 'to'],
    [{ from: 2000, to: 1000 }, 'to'],
    [{ from: 1000, to: 1000 }, 'to'],
    [{ interface: -1 }, 'interface'],
    [{ interface: 2 ** 32 }, 'interface'],
    [{ interface: 'eth0' }, 'interface'],
    [{ address: 'example.com' }, 'address'],
    [{ address: '192.0.2.0/33' }, 'address'],
    [{ address: '2001:db8::/129' }, 'address'],
    [{ address: '192.0.2.1/24/8' }, 'address'],
    [{ address: '192.0.2.0/x' }, 'address'],
    [{ address: 'fe80::1%eth0' }, 'address'],
    [{ address: 42 }, 'address'],
    [{ port: 65536 }, 'port'],
    [{ port: '80' }, 'port'],
    [{ protocol: 'quic' }, 'protocol'],
    [{ protocol: 256 }, 'protocol'],
    [{ endReason: 'timeout' }, 'endReason'],
    [{ endReason: 2 }, 'endReason'],
    [{ limit: 0 }, 'limit'],
    [{ limit: 1001 }, 'limit'],
    [{ cursor: 'abc' }, 'cursor'],
    [{ cursor: 7 }, 'cursor'],
    [{ fron: 1 }, 'fron'],
  ];
  for (const [args, name] of cases) assertInvalid(args, name);
  // Cursors are checked against the ring: another ring's, or one past the newest record.
  const ring = new RecentFlowRing(10);
  const other = new RecentFlowRing(10);
  const flows = syntheticFlows(10, 1);
  addAll(ring, flows);
  addAll(other, flows);
  const cursor = runFlowQuery(other, parseFlowQuery({ limit: 2 })).nextCursor!;
  assertInvalid({ cursor }, 'cursor', ring);
  assertInvalid({ cursor: `${ring.ringId}.z.0` }, 'cursor', ring);
  // Absent and null are the same; names are case-insensitive.
  assert.deepEqual(parseFlowQuery({ from: null, protocol: 'TCP', endReason: 'idletimeout' }), parseFlowQuery({ protocol: 6, endReason: 'idleTimeout' }));
  assert.equal(parseFlowQuery({}).limit, 100);
});
