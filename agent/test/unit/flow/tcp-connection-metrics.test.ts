/**
 * Per-TCP-connection metrics and the connection outcome (issue 7, items 1 and 2), against the
 * connection-rush generator's truth (agent/test/helpers/connection-rush.ts, itself checked against
 * tshark): the rush is replayed through a FlowMeter with the default configuration, and every
 * connection's record(s) must carry its outcome, SYN retries, handshake RTT halves, server
 * response turns, retransmissions, out-of-order segments and IP size range exactly. A second
 * replay with a short active timeout checks that the parts of a connection carry the outcome
 * (open until decided) and add up to the truth. Hand-made packets cover what the rush does not
 * produce: idle, forced end of an open connection, zero windows, non-TCP flows.
 * (tcp-metrics-allocation.test.ts proves the packet path with TCP tracking allocates nothing.)
 */
import { tcpPacketView } from '../../helpers/tcp-packet-view.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { defaultConfig } from '../../../src/config/load.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { UniflowSplitter } from '../../../src/export/uniflow-splitter.js';
import { ConnectionOutcome, FlowEndReason, FlowRecord, type FlowRecordSink } from '../../../src/flow/flow-record.js';
import { FlowTable } from '../../../src/flow/flow-table.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../../../src/meter/flow-meter.js';
import { tempDir } from '../../helpers/collectors.js';
import { type ConnectionTruth, RUSH_OUTCOME_CODES, writeConnectionRush } from '../../helpers/connection-rush.js';
import { readClassicPcap, toCapturedPackets } from '../../helpers/read-classic-pcap.js';
import { canonicalAddress } from '../../helpers/tshark-truth.js';

const RUSH = { seed: 7007, connections: 400, ipv6Share: 0.3, vlanShare: 0.3, retransmitShare: 0.3, outOfOrderShare: 0.3 } as const;

const OUTCOME_OF = RUSH_OUTCOME_CODES;

/** A copy of every field of one (two-direction) record. */
type Copied = { [K in keyof FlowRecord]: FlowRecord[K] extends Uint32Array ? number[] : FlowRecord[K] };

function copyRecord(r: FlowRecord): Copied {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(r)) copy[name] = value instanceof Uint32Array ? [...value] : value;
  return copy as Copied;
}

class RecordingSink implements FlowRecordSink {
  readonly records: Copied[] = [];
  add(r: FlowRecord): void {
    this.records.push(copyRecord(r));
  }
  flush(): void {}
}

/** Both the whole records and what the uniflow splitter makes of them. */
class TeeSink implements FlowRecordSink {
  readonly whole = new RecordingSink();
  readonly uniflow = new RecordingSink();
  private readonly splitter = new UniflowSplitter(this.uniflow);
  add(r: FlowRecord): void {
    this.whole.add(r);
    this.splitter.add(r);
  }
  flush(): void {}
}

function addressText(ipVersion: number, words: number[]): string {
  if (ipVersion === 4) return [24, 16, 8, 0].map((shift) => (words[0]! >>> shift) & 0xff).join('.');
  return canonicalAddress(words.flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).join(':'));
}

function recordKey(r: Copied): string {
  return `${r.vlanId}|${addressText(r.ipVersion, r.srcAddr)}|${r.srcPort}|${addressText(r.ipVersion, r.dstAddr)}|${r.dstPort}`;
}

function truthKey(t: ConnectionTruth): string {
  return `${t.vlanId}|${t.clientAddr}|${t.clientPort}|${t.serverAddr}|${t.serverPort}`;
}


/** Replays the capture through a meter with default settings but these timeouts; returns the records per connection, in order. */
function replay(packets: CapturedPacket[], activeTimeoutUs: number, expiryTickUs: number): { byConnection: Map<string, Copied[]>; sink: TeeSink } {
  const options = flowMeterOptionsFromConfig(defaultConfig());
  options.flowTable.activeTimeoutUs = activeTimeoutUs;
  options.flowTable.hashSeed = 1;
  options.expiryTickUs = expiryTickUs;
  const sink = new TeeSink();
  const meter = new FlowMeter(options, sink);
  for (const packet of packets) meter.handlePacket(packet);
  while (!meter.flushSome()) {
    // batches until the table is empty
  }
  const byConnection = new Map<string, Copied[]>();
  for (const r of sink.whole.records) {
    const key = recordKey(r);
    const list = byConnection.get(key) ?? [];
    list.push(r);
    byConnection.set(key, list);
  }
  return { byConnection, sink };
}

function sum(records: Copied[], field: keyof Copied): number {
  return records.reduce((total, r) => total + (r[field] as number), 0);
}

let tmp: { dir: string; remove(): void };
let truths: ConnectionTruth[];
let packets: CapturedPacket[];

before(() => {
  tmp = tempDir('tapflow-tcp-metrics-');
  const path = join(tmp.dir, 'rush.pcap');
  truths = writeConnectionRush(path, RUSH);
  const capture = readClassicPcap(path);
  assert.ok(capture !== null);
  packets = toCapturedPackets(capture);
});
after(() => tmp.remove());

describe('TCP connection metrics over a generated rush', () => {
  it('the rush covers what is tested: every outcome, IPv4/IPv6, VLANs, SYN retries, retransmissions both ways, out-of-order', () => {
    for (const outcome of Object.keys(OUTCOME_OF)) assert.ok(truths.some((t) => t.outcome === outcome), outcome);
    assert.ok(truths.some((t) => t.ipVersion === 6) && truths.some((t) => t.ipVersion === 4));
    assert.ok(truths.some((t) => t.vlanId !== 0) && truths.some((t) => t.vlanId === 0));
    assert.ok(truths.some((t) => t.synRetries > 0 && t.outcome === 'completed'));
    assert.ok(truths.some((t) => t.toServer.retransmittedBytes > 0) && truths.some((t) => t.toClient.retransmittedBytes > 0));
    assert.ok(truths.some((t) => t.toClient.outOfOrderPackets > 0));
    assert.ok(truths.some((t) => t.outcome === 'mid_stream' && t.toClient.outOfOrderPackets > 0), 'a reordering in a mid-stream connection');
  });

  it('one record per connection: outcome, SYN retries, handshake RTT halves, response turns, retransmissions, out-of-order and IP sizes equal the truth', () => {
    const { byConnection, sink } = replay(packets, 3600_000_000, 1_000_000);
    assert.equal(byConnection.size, truths.length);
    for (const truth of truths) {
      const records = byConnection.get(truthKey(truth));
      const what = `connection ${truth.index} (${truth.outcome})`;
      assert.ok(records !== undefined && records.length === 1, what);
      const r = records[0]!;
      assert.notEqual(r.endReason, FlowEndReason.ACTIVE_TIMEOUT, what);
      assert.equal(r.connectionOutcome, OUTCOME_OF[truth.outcome], what);
      assert.equal(r.synRetries, truth.synRetries, what);
      assert.equal(r.handshakeServerRttUs, truth.serverRttUs ?? 0, what);
      assert.equal(r.handshakeClientRttUs, truth.clientRttUs ?? 0, what);
      const responses = truth.serverResponseUs;
      assert.equal(r.serverResponseCount, responses.length, what);
      assert.equal(r.serverResponseSumUs, responses.reduce((a, b) => a + b, 0), what);
      assert.equal(r.serverResponseMinUs, responses.length === 0 ? 0 : Math.min(...responses), what);
      assert.equal(r.serverResponseMaxUs, responses.length === 0 ? 0 : Math.max(...responses), what);
      for (const [prefix, dir] of [['', truth.toServer], ['reverse', truth.toClient]] as const) {
        const field = (name: string): number => r[(prefix === '' ? name : prefix + name[0]!.toUpperCase() + name.slice(1)) as keyof Copied] as number;
        const side = `${what} ${prefix || 'forward'}`;
        assert.equal(field('packets'), dir.packets, side);
        assert.equal(field('octets'), dir.ipOctets, side);
        assert.equal(field('retransmittedPackets'), dir.retransmittedPackets, side);
        assert.equal(field('retransmittedOctets'), dir.retransmittedBytes, side);
        assert.equal(field('outOfOrderPackets'), dir.outOfOrderPackets, side);
        assert.equal(field('zeroWindowEvents'), 0, side); // the generator always advertises 65535
        assert.equal(field('minIpOctets'), dir.minIpBytes, side);
        assert.equal(field('maxIpOctets'), dir.maxIpBytes, side);
        assert.equal(field('minTtl'), dir.minTtl, side);
        assert.equal(field('maxTtl'), dir.maxTtl, side);
      }
    }
    // The uniflow splitter: the connection values in both records, each direction's in its own.
    const uniflow = sink.uniflow.records;
    let u = 0;
    for (const r of sink.whole.records) {
      for (const reverse of [false, true]) {
        if ((reverse ? r.reversePackets : r.packets) === 0) continue;
        const one = uniflow[u++]!;
        assert.equal(one.connectionOutcome, r.connectionOutcome);
        assert.equal(one.handshakeServerRttUs, r.handshakeServerRttUs);
        assert.equal(one.serverResponseSumUs, r.serverResponseSumUs);
        assert.equal(one.synRetries, r.synRetries);
        assert.equal(one.retransmittedPackets, reverse ? r.reverseRetransmittedPackets : r.retransmittedPackets);
        assert.equal(one.retransmittedOctets, reverse ? r.reverseRetransmittedOctets : r.retransmittedOctets);
        assert.equal(one.outOfOrderPackets, reverse ? r.reverseOutOfOrderPackets : r.outOfOrderPackets);
        assert.equal(one.minIpOctets, reverse ? r.reverseMinIpOctets : r.minIpOctets);
        assert.equal(one.maxIpOctets, reverse ? r.reverseMaxIpOctets : r.maxIpOctets);
        assert.equal(one.reverseRetransmittedPackets, 0);
        assert.equal(one.reverseMaxIpOctets, 0);
      }
    }
    assert.equal(u, uniflow.length);
  });

  it('with a short active timeout every part carries the outcome (open until decided) and the parts add up to the truth', () => {
    const { byConnection } = replay(packets, 250_000, 50_000);
    let multiPart = 0;
    let openParts = 0;
    let decidedParts = 0;
    for (const truth of truths) {
      const records = byConnection.get(truthKey(truth));
      const what = `connection ${truth.index} (${truth.outcome})`;
      assert.ok(records !== undefined, what);
      const final = OUTCOME_OF[truth.outcome];
      if (records.length > 1) multiPart++;
      let decided = false;
      records.forEach((r, i) => {
        const last = i === records.length - 1;
        if (r.endReason !== FlowEndReason.ACTIVE_TIMEOUT) {
          assert.ok(last, `${what}: only the last record ends the flow`);
          assert.equal(r.connectionOutcome, final, what);
        } else if (truth.outcome === 'mid_stream') {
          assert.equal(r.connectionOutcome, final, `${what}: mid-stream is known from the first packet`);
        } else if (decided) {
          assert.equal(r.connectionOutcome, final, `${what}: once decided, it stays`);
        } else {
          assert.ok(r.connectionOutcome === final || r.connectionOutcome === ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT, what);
        }
        if (r.endReason === FlowEndReason.ACTIVE_TIMEOUT) {
          if (r.connectionOutcome === ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT) openParts++;
          else decidedParts++;
        }
        decided ||= r.connectionOutcome === final;
        // Per-connection values appear once measured and never change.
        assert.ok(r.handshakeServerRttUs === 0 || r.handshakeServerRttUs === truth.serverRttUs, what);
        assert.ok(r.handshakeClientRttUs === 0 || r.handshakeClientRttUs === truth.clientRttUs, what);
        assert.ok(r.synRetries <= truth.synRetries, what);
      });
      const last = records[records.length - 1]!;
      assert.equal(last.handshakeServerRttUs, truth.serverRttUs ?? 0, what);
      assert.equal(last.handshakeClientRttUs, truth.clientRttUs ?? 0, what);
      if (truth.outcome !== 'syn_unanswered') assert.equal(last.synRetries, truth.synRetries, what);
      // Record values: per part, summed over the parts.
      assert.equal(sum(records, 'packets'), truth.toServer.packets, what);
      assert.equal(sum(records, 'reversePackets'), truth.toClient.packets, what);
      assert.equal(sum(records, 'retransmittedPackets'), truth.toServer.retransmittedPackets, what);
      assert.equal(sum(records, 'retransmittedOctets'), truth.toServer.retransmittedBytes, what);
      assert.equal(sum(records, 'reverseRetransmittedPackets'), truth.toClient.retransmittedPackets, what);
      assert.equal(sum(records, 'reverseRetransmittedOctets'), truth.toClient.retransmittedBytes, what);
      assert.equal(sum(records, 'reverseOutOfOrderPackets'), truth.toClient.outOfOrderPackets, what);
      assert.equal(sum(records, 'serverResponseCount'), truth.serverResponseUs.length, what);
      assert.equal(sum(records, 'serverResponseSumUs'), truth.serverResponseUs.reduce((a, b) => a + b, 0), what);
      const withTurns = records.filter((r) => r.serverResponseCount > 0);
      if (withTurns.length > 0) {
        assert.equal(Math.min(...withTurns.map((r) => r.serverResponseMinUs)), Math.min(...truth.serverResponseUs), what);
        assert.equal(Math.max(...withTurns.map((r) => r.serverResponseMaxUs)), Math.max(...truth.serverResponseUs), what);
      }
      const forwardParts = records.filter((r) => r.packets > 0);
      assert.equal(Math.max(...forwardParts.map((r) => r.maxIpOctets)), truth.toServer.maxIpBytes, what);
      assert.equal(Math.min(...forwardParts.map((r) => r.minIpOctets)), truth.toServer.minIpBytes, what);
    }
    assert.ok(multiPart > truths.length / 4, `${multiPart} connections in several parts`);
    assert.ok(openParts > 0 && decidedParts > 0, `${openParts} open parts, ${decidedParts} decided parts`);
  });
});

const SECOND_US = 1_000_000;
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;

function tcpPacket(fromClient: boolean, flags: number, seq: number, ack: number, payload: number, window = 1000): PacketView {
  return tcpPacketView(80, fromClient, flags, seq, ack, payload, window);
}

describe('TCP connection metrics, hand-made', () => {
  function table(sink: FlowRecordSink, clock: Float64Array): FlowTable {
    const t = 30 * SECOND_US;
    return new FlowTable({ maxFlows: 16, activeTimeoutUs: 3600 * SECOND_US, idleTimeoutUs: { tcp: t, tcpFin: t, tcpRst: t, udp: t, icmp: t, other: t }, hashSeed: 3 }, sink, clock);
  }
  function handshake(t: FlowTable, clock: Float64Array): void {
    const steps: [boolean, number, number, number, number][] = [
      [true, SYN, 100, 0, 0],
      [false, SYN | ACK, 5000, 101, 0],
      [true, ACK, 101, 5001, 0],
      [true, ACK | PSH, 101, 5001, 50],
      // The server's window closes (a zero-window event), then it answers.
      [false, ACK, 5001, 151, 0],
      [false, ACK | PSH, 5001, 151, 300],
    ];
    steps.forEach(([fromClient, flags, seq, ack, payload], i) => {
      const view = tcpPacket(fromClient, flags, seq, ack, payload, i === 4 ? 0 : 1000);
      clock[0] = view.tsUs = SECOND_US + i * 1000;
      t.update(view, 0, 0);
    });
  }

  it('an answered connection that goes quiet ends IDLE at the idle timeout; a forced end while open is OPEN_AT_ACTIVE_TIMEOUT', () => {
    for (const [expire, outcome, reason] of [[true, ConnectionOutcome.IDLE, FlowEndReason.IDLE_TIMEOUT], [false, ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT, FlowEndReason.FORCED_END]] as const) {
      const sink = new RecordingSink();
      const clock = new Float64Array(1);
      const t = table(sink, clock);
      handshake(t, clock);
      if (expire) t.expire(100 * SECOND_US);
      else t.flushAll();
      assert.equal(sink.records.length, 1);
      const r = sink.records[0]!;
      assert.equal(r.endReason, reason);
      assert.equal(r.connectionOutcome, outcome);
      assert.equal(r.handshakeServerRttUs, 1000);
      assert.equal(r.handshakeClientRttUs, 1000);
      assert.deepEqual([r.serverResponseCount, r.serverResponseSumUs, r.serverResponseMinUs, r.serverResponseMaxUs], [1, 2000, 2000, 2000]);
      assert.deepEqual([r.zeroWindowEvents, r.reverseZeroWindowEvents], [0, 1]);
      assert.deepEqual([r.minIpOctets, r.maxIpOctets, r.reverseMinIpOctets, r.reverseMaxIpOctets], [40, 90, 40, 340]);
      assert.deepEqual([r.retransmittedPackets, r.reverseRetransmittedPackets, r.outOfOrderPackets, r.reverseOutOfOrderPackets], [0, 0, 0, 0]);
    }
  });

  it('a non-TCP flow has outcome 0 and no TCP values, but its IP size range', () => {
    const sink = new RecordingSink();
    const clock = new Float64Array(1);
    const t = table(sink, clock);
    for (const size of [100, 60, 1500]) {
      const view = tcpPacket(true, 0, 0, 0, size - 28);
      view.protocol = 17;
      view.ipLength = size;
      t.update(view, 0, 0);
    }
    t.flushAll();
    const r = sink.records[0]!;
    assert.equal(r.connectionOutcome, ConnectionOutcome.NOT_TCP);
    assert.deepEqual([r.synRetries, r.handshakeServerRttUs, r.serverResponseCount, r.retransmittedPackets, r.zeroWindowEvents], [0, 0, 0, 0, 0]);
    assert.deepEqual([r.minIpOctets, r.maxIpOctets], [60, 1500]);
  });
});
