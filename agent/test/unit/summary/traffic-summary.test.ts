/**
 * TrafficSummary against an exact computation from the generator's own knowledge (who is client
 * and server, what each connection's outcome was, addresses as text via the WHATWG URL parser),
 * with capacity large enough to be exact, and small enough that the sketches evict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRecord, type FlowRecordSink } from '../../../src/flow/flow-record.js';
import type { LatencyQuantiles } from '../../../src/fleet/fleet-messages.js';
import { summarizingSink, TrafficSummary, type SummaryTake } from '../../../src/summary/traffic-summary.js';
import { compareHosts, emptyOutcomes, exactQuantile, withinHistogramError, fillFlowRecord, flowGenerator, OUTCOMES, type GeneratedFlow } from './summary-test-kit.js';

const NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 58: 'ipv6-icmp', 132: 'sctp' };

/** TCP truth of one place (totals or a service): latency samples as the summary defines them. */
class TcpTruth {
  outcomes = emptyOutcomes();
  packets = 0;
  retransmitted = 0;
  handshakeRtt: number[] = [];
  handshakeServerRtt: number[] = [];
  /** Each record's mean turn time, `count` times (the documented approximation). */
  serverResponse: number[] = [];

  add(flow: GeneratedFlow): void {
    this.packets += flow.packets + flow.reversePackets;
    this.retransmitted += flow.retransmittedPackets + flow.reverseRetransmittedPackets;
    for (let i = 0; i < flow.serverResponseCount; i++) this.serverResponse.push(flow.serverResponseSumUs / flow.serverResponseCount);
    if (!flow.final) return;
    if (flow.outcome !== null) this.outcomes[flow.outcome]++;
    if (flow.handshakeServerRttUs > 0) this.handshakeServerRtt.push(flow.handshakeServerRttUs);
    if (flow.handshakeServerRttUs > 0 && flow.handshakeClientRttUs > 0) this.handshakeRtt.push(flow.handshakeServerRttUs + flow.handshakeClientRttUs);
  }
}

interface ServiceTruth {
  connections: number;
  octets: number;
  tcp: TcpTruth;
}

function checkQuantiles(label: string, q: LatencyQuantiles, samples: number[]): void {
  assert.equal(q.samples, samples.length, `${label}: samples`);
  for (const [name, level] of [['p50Us', 0.5], ['p95Us', 0.95]] as const) {
    const exact = exactQuantile(samples, level);
    assert.ok(withinHistogramError(q[name], exact), `${label} ${name}: ${q[name]} vs exact ${exact}`);
  }
}

function checkTcp(label: string, got: SummaryTake['totals']['tcp'], truth: TcpTruth, protocol: number): void {
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, got[o]]));
  assert.deepEqual(outcomes, truth.outcomes, `${label}: outcomes`);
  assert.equal(got.retransmittedPackets, truth.retransmitted, `${label}: retransmitted`);
  assert.equal(got.packets, truth.packets, `${label}: packets`);
  assert.equal(got.retransmissionRate, protocol === 6 && truth.packets > 0 ? truth.retransmitted / truth.packets : null, `${label}: rate`);
  checkQuantiles(`${label} handshake RTT`, got.handshakeRtt, truth.handshakeRtt);
  checkQuantiles(`${label} handshake server RTT`, got.handshakeServerRtt, truth.handshakeServerRtt);
  checkQuantiles(`${label} server response`, got.serverResponse, truth.serverResponse);
}

/** Everything the summary should report, computed per key with Maps (no sketch). */
class ExactSummary {
  records = 0;
  connections = 0;
  packets = 0;
  octets = 0;
  tcp = new TcpTruth();
  protocols = new Map<number, { records: number; packets: number; octets: number }>();
  talkersByOctets = new Map<string, number>();
  talkersByFlows = new Map<string, number>();
  conversationsByOctets = new Map<string, number>();
  conversationsByFlows = new Map<string, number>();
  portsByOctets = new Map<string, number>();
  portsByFlows = new Map<string, number>();
  services = new Map<string, ServiceTruth>();
  /** Octets of every record per service, whether listed or not (an upper bound for the sketched case). */
  serviceOctetsAll = new Map<string, number>();

  add(flow: GeneratedFlow): void {
    const packets = flow.packets + flow.reversePackets;
    const octets = flow.octets + flow.reverseOctets;
    if (flow.final) this.connections++;
    if (flow.protocol === 6) this.tcp.add(flow);
    if (flow.closing) {
      // Not an exported record: only its connection counts, for its service.
      const service = `${flow.server.text}|${flow.serverPort}|${flow.protocol}`;
      const truth = this.services.get(service) ?? { connections: 0, octets: 0, tcp: new TcpTruth() };
      this.services.set(service, truth);
      truth.connections++;
      truth.tcp.add(flow);
      bump(this.serviceOctetsAll, service, 0);
      return;
    }
    this.records++;
    this.packets += packets;
    this.octets += octets;
    const proto = this.protocols.get(flow.protocol) ?? { records: 0, packets: 0, octets: 0 };
    proto.records++;
    proto.packets += packets;
    proto.octets += octets;
    this.protocols.set(flow.protocol, proto);
    for (const host of new Set([flow.client.text, flow.server.text])) {
      bump(this.talkersByOctets, host, octets);
      bump(this.talkersByFlows, host, 1);
    }
    const [a, b] = compareHosts(flow.client, flow.server) <= 0 ? [flow.client, flow.server] : [flow.server, flow.client];
    bump(this.conversationsByOctets, `${a.text}|${b.text}`, octets);
    bump(this.conversationsByFlows, `${a.text}|${b.text}`, 1);
    if (!flow.hasPorts) return;
    const port = `${flow.protocol}/${flow.serverPort}`;
    bump(this.portsByOctets, port, octets);
    bump(this.portsByFlows, port, 1);
    const service = `${flow.server.text}|${flow.serverPort}|${flow.protocol}`;
    bump(this.serviceOctetsAll, service, octets);
    let truth = this.services.get(service);
    if (!flow.final && truth === undefined) return; // a non-final part never creates an entry
    truth ??= { connections: 0, octets: 0, tcp: new TcpTruth() };
    this.services.set(service, truth);
    truth.octets += octets;
    if (flow.protocol === 6) truth.tcp.add(flow);
    else truth.tcp.packets += packets; // the service's packets count for every protocol
    if (flow.final) truth.connections++;
  }
}

function bump(map: Map<string, number>, key: string, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

interface Entry {
  key: string;
  value: number;
  error: number;
}

/**
 * Checks one top list against the exact totals. Exact mode: errors 0, values exact, and the
 * values are the true top-N values (ties at the cut may pick either key). Sketched mode: the
 * Space-Saving bounds, and every key heavy enough to be guaranteed tracked that outranks the
 * last listed value is listed.
 */
function checkTop(label: string, entries: Entry[], truth: Map<string, number>, topN: number, capacity: number | null): void {
  assert.equal(entries.length, Math.min(topN, truth.size), `${label}: length`);
  assert.equal(new Set(entries.map((e) => e.key)).size, entries.length, `${label}: keys unique`);
  for (let i = 1; i < entries.length; i++) assert.ok(entries[i - 1]!.value >= entries[i]!.value, `${label}: sorted`);
  const trueValues = [...truth.values()].sort((x, y) => y - x);
  if (capacity === null) {
    for (const e of entries) {
      assert.equal(e.error, 0, `${label}: ${e.key} exact`);
      assert.equal(e.value, truth.get(e.key), `${label}: ${e.key} value`);
    }
    assert.deepEqual(entries.map((e) => e.value), trueValues.slice(0, topN), `${label}: the true top ${topN}`);
    return;
  }
  const total = trueValues.reduce((sum, v) => sum + v, 0);
  for (const e of entries) {
    const exact = truth.get(e.key) ?? 0;
    assert.ok(e.value - e.error <= exact && exact <= e.value, `${label}: ${e.key}: ${e.value} - ${e.error} <= ${exact} <= ${e.value}`);
  }
  const listed = new Set(entries.map((e) => e.key));
  const last = entries.at(-1)?.value ?? 0;
  let guaranteed = 0;
  for (const [key, exact] of truth) {
    if (exact > total / capacity && exact > last) {
      guaranteed++;
      assert.ok(listed.has(key), `${label}: ${key} (${exact}) must be listed`);
    }
  }
  assert.ok(guaranteed > 0 || entries.every((e) => e.error === 0), `${label}: the check had something to check`);
}

function checkAgainst(taken: SummaryTake, exact: ExactSummary, topN: number, capacity: number | null): void {
  const { tcp, ...counts } = taken.totals;
  assert.deepEqual(counts, { records: exact.records, connections: exact.connections, packets: exact.packets, octets: exact.octets });
  checkTcp('totals', tcp, exact.tcp, 6);
  const protocols = [...exact.protocols.entries()]
    .map(([protocol, p]) => ({ protocol, name: NAMES[protocol] ?? `proto-${protocol}`, ...p }))
    .sort((x, y) => y.octets - x.octets || x.protocol - y.protocol);
  assert.deepEqual(taken.protocols, protocols);

  const hosts = (list: { address: string; value: number; error: number }[]) => list.map((e) => ({ key: e.address, value: e.value, error: e.error }));
  checkTop('talkers by octets', hosts(taken.talkers.byOctets), exact.talkersByOctets, topN, capacity);
  checkTop('talkers by flows', hosts(taken.talkers.byFlows), exact.talkersByFlows, topN, capacity);
  const pairs = (list: { a: string; b: string; value: number; error: number }[]) => list.map((e) => ({ key: `${e.a}|${e.b}`, value: e.value, error: e.error }));
  checkTop('conversations by octets', pairs(taken.conversations.byOctets), exact.conversationsByOctets, topN, capacity);
  checkTop('conversations by flows', pairs(taken.conversations.byFlows), exact.conversationsByFlows, topN, capacity);
  const ports = (list: { protocol: number; port: number; value: number; error: number }[]) =>
    list.map((e) => ({ key: `${e.protocol}/${e.port}`, value: e.value, error: e.error }));
  checkTop('server ports by octets', ports(taken.serverPorts.byOctets), exact.portsByOctets, topN, capacity);
  checkTop('server ports by flows', ports(taken.serverPorts.byFlows), exact.portsByFlows, topN, capacity);

  const serviceKey = (s: SummaryTake['services'][number]) => `${s.address}|${s.port}|${s.protocol}`;
  const connections = new Map([...exact.services].filter(([, t]) => t.connections > 0).map(([key, t]) => [key, t.connections]));
  checkTop('services', taken.services.map((s) => ({ key: serviceKey(s), value: s.value, error: s.error })), connections, topN, capacity);
  for (const s of taken.services) {
    const truth = exact.services.get(serviceKey(s))!;
    assert.equal(s.connections, s.value - s.error);
    if (capacity === null) {
      assert.equal(s.connections, truth.connections);
      assert.equal(s.octets, truth.octets, `${serviceKey(s)} octets`);
      checkTcp(serviceKey(s), s, truth.tcp, s.protocol);
    } else {
      // Counted while listed: never more than the truth.
      assert.ok(s.connections <= truth.connections);
      assert.ok(s.octets <= exact.serviceOctetsAll.get(serviceKey(s))!);
      for (const outcome of OUTCOMES) assert.ok(s[outcome] <= truth.tcp.outcomes[outcome]);
      assert.ok(OUTCOMES.reduce((sum, o) => sum + s[o], 0) <= s.connections);
      assert.ok(s.handshakeRtt.samples <= truth.tcp.handshakeRtt.length && s.serverResponse.samples <= truth.tcp.serverResponse.length);
      assert.ok(s.retransmittedPackets <= truth.tcp.retransmitted && s.packets <= truth.tcp.packets);
    }
  }
}

function feed(summary: TrafficSummary, exact: ExactSummary, next: () => GeneratedFlow, count: number): void {
  const rec = new FlowRecord();
  for (let i = 0; i < count; i++) {
    const flow = next();
    summary.add(fillFlowRecord(rec, flow));
    exact.add(flow);
  }
}

test('exact mode (capacity above every key count): every list and total matches; take() resets', () => {
  const topN = 15;
  const summary = new TrafficSummary({ topN, capacity: 8192 });
  const next = flowGenerator({ seed: 7, clients: 400, servers: 60, skew: 1.0 });
  for (let round = 0; round < 2; round++) {
    const exact = new ExactSummary();
    feed(summary, exact, next, 4000);
    assert.ok(exact.conversationsByFlows.size < 8192 && exact.talkersByFlows.size > topN);
    const taken = summary.take(1000 * round, 1000 * (round + 1), round === 1);
    assert.equal(taken.from, 1000 * round);
    assert.equal(taken.to, 1000 * (round + 1));
    assert.equal(taken.final, round === 1);
    checkAgainst(taken, exact, topN, null);
    // Everything the generator produces shows up: both families, every outcome.
    assert.ok(taken.talkers.byOctets.some((e) => e.address.includes(':')) && taken.talkers.byOctets.some((e) => e.address.includes('.')));
    for (const outcome of OUTCOMES) assert.ok(taken.totals.tcp[outcome] > 30, `${outcome}: ${taken.totals.tcp[outcome]}`);
    assert.ok(exact.tcp.handshakeRtt.length > 100 && exact.tcp.serverResponse.length > 100 && exact.tcp.retransmitted > 100);
    assert.ok(taken.services.length === topN && taken.serverPorts.byFlows.length === topN);
  }
  const empty = summary.take(2000, 3000, false);
  assert.deepEqual(empty, {
    from: 2000,
    to: 3000,
    totals: {
      records: 0,
      connections: 0,
      packets: 0,
      octets: 0,
      tcp: {
        ...emptyOutcomes(),
        handshakeRtt: { samples: 0, p50Us: null, p95Us: null },
        handshakeServerRtt: { samples: 0, p50Us: null, p95Us: null },
        serverResponse: { samples: 0, p50Us: null, p95Us: null },
        packets: 0,
        retransmittedPackets: 0,
        retransmissionRate: null,
      },
    },
    protocols: [],
    talkers: { byOctets: [], byFlows: [] },
    conversations: { byOctets: [], byFlows: [] },
    serverPorts: { byOctets: [], byFlows: [] },
    services: [],
    final: false,
  });
});

test('sketched mode (capacity 48, thousands of keys): bounds hold and heavy keys are listed', () => {
  const topN = 10;
  const capacity = 48;
  const summary = new TrafficSummary({ topN, capacity });
  const next = flowGenerator({ seed: 22, clients: 5000, servers: 800, skew: 1.2 });
  for (let round = 0; round < 2; round++) {
    const exact = new ExactSummary();
    feed(summary, exact, next, 30_000);
    assert.ok(exact.conversationsByFlows.size > 10 * capacity, `${exact.conversationsByFlows.size} conversations`);
    const taken = summary.take(0, 1, false);
    checkAgainst(taken, exact, topN, capacity);
    assert.ok(taken.talkers.byFlows.some((e) => e.error > 0), 'the sketch did evict');
  }
});

test('IPv6 addresses are RFC 5952 text, IPv4 dotted quad, pairs ordered by address', () => {
  const summary = new TrafficSummary({ topN: 5, capacity: 16 });
  const rec = new FlowRecord();
  rec.ipVersion = 6;
  rec.srcAddr.set([0x20010db8, 0, 0, 1]);
  rec.dstAddr.set([0x20010db8, 0, 0x00010000, 0]);
  rec.protocol = 17;
  rec.srcPort = 40_000;
  rec.dstPort = 53;
  rec.packets = 1;
  rec.octets = 80;
  rec.endReason = 1;
  summary.add(rec);
  rec.ipVersion = 4;
  rec.srcAddr.set([0xc0a80164, 0xdead, 0xbeef, 0]); // junk beyond word 0 must not matter for IPv4
  rec.dstAddr.set([0x0a000001, 0, 0, 0]);
  summary.add(rec);
  const taken = summary.take(0, 1, true);
  assert.deepEqual(taken.conversations.byFlows.map((e) => [e.a, e.b]).sort(), [
    ['10.0.0.1', '192.168.1.100'],
    ['2001:db8::1', '2001:db8:0:0:1::'],
  ]);
  assert.deepEqual(
    taken.services.map((s) => [s.address, s.port, s.protocol, s.connections]).sort(),
    [
      ['10.0.0.1', 53, 17, 1],
      ['2001:db8:0:0:1::', 53, 17, 1],
    ],
  );
});

test('summarizingSink feeds the summary and passes records and flushes on', () => {
  const summary = new TrafficSummary({ topN: 3, capacity: 8 });
  const seen: number[] = [];
  const flushes: number[] = [];
  const next: FlowRecordSink = { add: (rec) => seen.push(rec.octets), flush: (nowMs) => flushes.push(nowMs) };
  const sink = summarizingSink(summary, next);
  const rec = new FlowRecord();
  rec.protocol = 47;
  rec.octets = 123;
  rec.packets = 1;
  sink.add(rec);
  sink.flush(42);
  assert.deepEqual(seen, [123]);
  assert.deepEqual(flushes, [42]);
  const taken = summary.take(0, 1, false);
  assert.equal(taken.totals.octets, 123);
  assert.deepEqual(taken.protocols, [{ protocol: 47, name: 'gre', records: 1, packets: 1, octets: 123 }]);
  assert.deepEqual(taken.serverPorts.byFlows, [], 'GRE has no ports');
});

test('options are checked', () => {
  assert.throws(() => new TrafficSummary({ topN: 10, capacity: 5 }), RangeError);
  assert.throws(() => new TrafficSummary({ topN: -1, capacity: 5 }), RangeError);
  assert.throws(() => new TrafficSummary({ topN: 1.5, capacity: 5 }), RangeError);
});
