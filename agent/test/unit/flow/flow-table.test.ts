import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketView } from '../../../src/decode/packet-view.js';
import { FlowEndReason, FlowRecord, type FlowRecordSink } from '../../../src/flow/flow-record.js';
import { FlowTable, type FlowTableOptions } from '../../../src/flow/flow-table.js';
import { UniflowSplitter } from '../../../src/export/uniflow-splitter.js';

interface Rec {
  src: string;
  dst: string;
  packets: number;
  octets: number;
  reason: number;
  flags: number;
  startMs: number;
  endMs: number;
}

class CollectingSink implements FlowRecordSink {
  readonly records: Rec[] = [];
  add(r: FlowRecord): void {
    this.records.push({
      src: `${r.srcAddr[0]}:${r.srcPort}`,
      dst: `${r.dstAddr[0]}:${r.dstPort}`,
      packets: r.packets,
      octets: r.octets,
      reason: r.endReason,
      flags: r.tcpFlags,
      startMs: r.startMs,
      endMs: r.endMs,
    });
  }
  flush(): void {}
}

const SECOND_US = 1_000_000;

/** The meter clock cell every table in these tests shares. */
const clock = new Float64Array(1);

/** One packet at capture time tsUs, with the meter clock at nowUs. */
function feed(table: FlowTable, view: PacketView, interfaceId: number, tsUs: number, nowUs: number): void {
  clock[0] = nowUs;
  view.tsUs = tsUs;
  table.update(view, interfaceId, interfaceId);
}

function options(overrides: Partial<FlowTableOptions> = {}): FlowTableOptions {
  return {
    maxFlows: 64,
    activeTimeoutUs: 60 * SECOND_US,
    idleTimeoutUs: { tcp: 30 * SECOND_US, tcpFin: 5 * SECOND_US, tcpRst: 2 * SECOND_US, udp: 20 * SECOND_US, icmp: 10 * SECOND_US, other: 15 * SECOND_US },
    hashSeed: 1,
    ...overrides,
  };
}

function packet(src: number, sport: number, dst: number, dport: number, protocol = 6, flags = 0, length = 100): PacketView {
  const v = new PacketView();
  v.ipVersion = 4;
  v.srcAddr[0] = src;
  v.dstAddr[0] = dst;
  v.srcPort = sport;
  v.dstPort = dport;
  v.protocol = protocol;
  v.tcpFlags = flags;
  v.ipLength = length;
  v.ttl = 64;
  return v;
}

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;

// The table emits one record per flow (both directions); these tests read it as collectors of
// uniflow records do, through the UniflowSplitter.
describe('FlowTable', () => {
  it('keeps both directions in one entry and exports two unidirectional records', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options(), new UniflowSplitter(sink), clock);
    feed(table, packet(1, 1000, 2, 80, 6, SYN, 60), 0, 1_000_000, 1_000_000);
    feed(table, packet(2, 80, 1, 1000, 6, SYN | ACK, 60), 0, 1_001_000, 1_001_000);
    feed(table, packet(1, 1000, 2, 80, 6, ACK, 52), 0, 1_002_000, 1_002_000);
    assert.equal(table.activeFlows, 1);
    table.flushAll();
    assert.deepEqual(sink.records, [
      { src: '1:1000', dst: '2:80', packets: 2, octets: 112, reason: FlowEndReason.FORCED_END, flags: SYN | ACK, startMs: 1000, endMs: 1002 },
      { src: '2:80', dst: '1:1000', packets: 1, octets: 60, reason: FlowEndReason.FORCED_END, flags: SYN | ACK, startMs: 1001, endMs: 1001 },
    ]);
    assert.equal(table.activeFlows, 0);
  });

  it('separates flows by VLAN and by interface', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options(), new UniflowSplitter(sink), clock);
    const tagged = packet(1, 1, 2, 2, 17);
    tagged.vlanId = 10;
    feed(table, packet(1, 1, 2, 2, 17), 0, 0, 0);
    feed(table, tagged, 0, 0, 0);
    feed(table, packet(1, 1, 2, 2, 17), 1, 0, 0);
    assert.equal(table.activeFlows, 3);
  });

  it('one link over two ports (TAP A and B): one flow, each record with its own ingressInterface', () => {
    const records: { src: number; ingress: number; packets: number }[] = [];
    const sink: FlowRecordSink = { add: (r) => records.push({ src: r.srcAddr[0]!, ingress: r.ingressInterface, packets: r.packets }), flush() {} };
    const table = new FlowTable(options(), new UniflowSplitter(sink), clock);
    clock[0] = 1;
    const out = packet(1, 1000, 2, 80, 6, SYN);
    const back = packet(2, 80, 1, 1000, 6, SYN | ACK);
    table.update(out, 0, 7);
    table.update(back, 0, 8);
    table.update(out, 0, 7);
    assert.equal(table.activeFlows, 1);
    table.flushAll();
    assert.deepEqual(records, [
      { src: 1, ingress: 7, packets: 2 },
      { src: 2, ingress: 8, packets: 1 },
    ]);
  });

  it('expires idle flows per protocol class with flowEndReason idleTimeout', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options(), new UniflowSplitter(sink), clock);
    feed(table, packet(1, 1, 2, 2, 17), 0, 0, 0); // UDP, 20 s
    feed(table, packet(1, 0, 2, 0x0800, 1), 0, 0, 0); // ICMP, 10 s
    feed(table, packet(1, 5, 2, 6, 6, ACK), 0, 0, 0); // TCP, 30 s
    table.expire(9.999 * SECOND_US);
    assert.equal(sink.records.length, 0);
    table.expire(10 * SECOND_US);
    assert.deepEqual(sink.records.map((r) => r.dst), ['2:2048']);
    table.expire(20 * SECOND_US);
    assert.deepEqual(sink.records.map((r) => r.dst), ['2:2048', '2:2']);
    table.expire(30 * SECOND_US);
    assert.equal(sink.records.length, 3);
    assert.ok(sink.records.every((r) => r.reason === FlowEndReason.IDLE_TIMEOUT));
  });

  it('ends TCP flows after FIN both ways or RST with flowEndReason endOfFlow', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options(), new UniflowSplitter(sink), clock);
    feed(table, packet(1, 1, 2, 80, 6, FIN | ACK), 0, 0, 0);
    feed(table, packet(3, 1, 2, 80, 6, RST), 0, 0, 0);
    table.expire(4 * SECOND_US);
    assert.equal(sink.records.length, 1, 'RST flow ends after 2 s; one FIN is not the end');
    assert.equal(sink.records[0]!.src, '3:1');
    feed(table, packet(2, 80, 1, 1, 6, FIN | ACK), 0, 4 * SECOND_US, 4 * SECOND_US);
    table.expire(8.9 * SECOND_US);
    assert.equal(sink.records.length, 1);
    table.expire(9 * SECOND_US);
    assert.equal(sink.records.length, 3);
    assert.ok(sink.records.every((r) => r.reason === FlowEndReason.END_OF_FLOW));
  });

  it('splits long flows at the active timeout and conserves packets and octets', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options({ activeTimeoutUs: 10 * SECOND_US }), new UniflowSplitter(sink), clock);
    let sent = 0;
    for (let t = 0; t < 35 * SECOND_US; t += 100_000) {
      feed(table, packet(1, 1, 2, 2, 17, 0, 200), 0, t, t);
      sent++;
      table.expire(t);
    }
    table.flushAll();
    const active = sink.records.filter((r) => r.reason === FlowEndReason.ACTIVE_TIMEOUT);
    assert.equal(active.length, 3);
    assert.equal(sink.records.at(-1)!.reason, FlowEndReason.FORCED_END);
    assert.equal(sink.records.reduce((sum, r) => sum + r.packets, 0), sent);
    assert.equal(sink.records.reduce((sum, r) => sum + r.octets, 0), sent * 200);
    for (let i = 1; i < sink.records.length; i++) assert.ok(sink.records[i]!.startMs > sink.records[i - 1]!.endMs);
  });

  it('when full, exports the flow nearest its idle deadline with lackOfResources and counts it', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options({ maxFlows: 16 }), new UniflowSplitter(sink), clock);
    for (let i = 0; i < 16; i++) feed(table, packet(1, i, 2, 2, 6, ACK), 0, i, i); // TCP, 30 s idle
    feed(table, packet(9, 9, 2, 2, 17), 0, 20, 20); // UDP: 20 s idle → slot needed, evicts TCP port 0
    assert.equal(table.counters.evictions, 1);
    assert.equal(table.activeFlows, 16);
    assert.deepEqual(sink.records.map((r) => [r.src, r.reason]), [['1:0', FlowEndReason.LACK_OF_RESOURCES]]);
    feed(table, packet(9, 10, 2, 2, 17), 0, 21, 21);
    // Now the UDP flow (deadline 20 s + 20 µs) is nearer than TCP port 1 (30 s + 1 µs).
    assert.equal(sink.records[1]!.src, '9:9');
  });

  it('exports at most maxFlows per expire/flushAll call and reports what is left', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options(), new UniflowSplitter(sink), clock);
    for (let i = 0; i < 50; i++) feed(table, packet(1, i, 2, 2, 17), 0, 0, 0);
    assert.equal(table.expire(20 * SECOND_US, 20), false);
    assert.equal(sink.records.length, 20);
    assert.equal(table.expire(20 * SECOND_US, 20), false);
    assert.equal(table.expire(20 * SECOND_US, 20), true);
    assert.equal(sink.records.length, 50);
    for (let i = 0; i < 30; i++) feed(table, packet(1, i, 2, 2, 17), 0, 0, 0);
    assert.equal(table.flushAll(FlowEndReason.FORCED_END, 25), false);
    assert.equal(table.flushAll(FlowEndReason.FORCED_END, 25), true);
    assert.equal(table.activeFlows, 0);
    assert.equal(sink.records.length, 80);
  });

  it('starts a new flow when a SYN reuses the 5-tuple of a finished connection', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options(), new UniflowSplitter(sink), clock);
    feed(table, packet(1, 1, 2, 80, 6, RST), 0, 0, 0);
    feed(table, packet(1, 1, 2, 80, 6, SYN), 0, 1000, 1000);
    assert.equal(table.counters.tcpPortReuses, 1);
    assert.equal(sink.records.length, 1);
    assert.equal(sink.records[0]!.reason, FlowEndReason.END_OF_FLOW);
  });

  it('stays consistent under random churn (index deletes) against a Map model', () => {
    const sink = new CollectingSink();
    const table = new FlowTable(options({ maxFlows: 512 }), new UniflowSplitter(sink), clock);
    let seed = 12345;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const model = new Map<string, number>();
    let now = 0;
    for (let i = 0; i < 50_000; i++) {
      now += 1000;
      const a = rand(40);
      const b = rand(40);
      const reverse = rand(2) === 1;
      const view = reverse ? packet(100 + b, 7, 100 + a, 9, 17) : packet(100 + a, 9, 100 + b, 7, 17);
      feed(table, view, 0, now, now);
      const key = a < b || (a === b && !reverse) ? `${a}-${b}` : `${b}-${a}`;
      model.set(key, (model.get(key) ?? 0) + 1);
      if (rand(100) === 0) table.expire(now + 19.99 * SECOND_US);
    }
    table.flushAll();
    const perPair = new Map<string, number>();
    for (const r of sink.records) {
      const ends = [Number(r.src.split(':')[0]) - 100, Number(r.dst.split(':')[0]) - 100].sort((x, y) => x - y);
      const key = `${ends[0]}-${ends[1]}`;
      perPair.set(key, (perPair.get(key) ?? 0) + r.packets);
    }
    assert.deepEqual(new Map([...perPair].sort()), new Map([...model].sort()));
    assert.equal(table.activeFlows, 0);
    assert.ok(table.counters.flowsCreated >= model.size);
  });

  it('exports the same records whatever the hash seed (replays are deterministic)', () => {
    const run = (seed: number) => {
      const sink = new CollectingSink();
      const table = new FlowTable(options({ hashSeed: seed, maxFlows: 32 }), new UniflowSplitter(sink), clock);
      for (let i = 0; i < 2000; i++) {
        feed(table, packet(i % 50, i % 7, 1000, 80, 6, i % 13 === 0 ? FIN : ACK), 0, i * 10_000, i * 10_000);
        table.expire(i * 10_000);
      }
      table.flushAll();
      return sink.records;
    };
    assert.deepEqual(run(1), run(0xdeadbeef));
  });
});
