/**
 * The summary's TCP connection figures (issue 7, item 5) against independent truth:
 * - the connection-rush generator (agent/test/helpers/connection-rush.ts) knows every connection's
 *   outcome, handshake RTT halves, server response times and retransmissions; the rush is replayed
 *   through the real FlowMeter into a TrafficSummary, and per service the outcome counts must equal
 *   the truth exactly, p50/p95 within the histogram's documented error of the truth's quantiles,
 *   retransmission rates exactly. A second replay with a short active timeout splits connections
 *   into parts and closing records: outcomes and handshake RTTs are still counted once each.
 * - hand-made packets through a FlowTable: a connection with an active-timeout part, then silence,
 *   is counted once, from its closing record, with its final outcome;
 * - a sketch slot handed to a new service starts with empty histograms.
 */
import { tcpPacketView } from '../../helpers/tcp-packet-view.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { defaultConfig } from '../../../src/config/load.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import type { LatencyQuantiles, TcpOutcomes } from '../../../src/fleet/fleet-messages.js';
import { FlowRecord, type FlowRecordSink } from '../../../src/flow/flow-record.js';
import { FlowTable } from '../../../src/flow/flow-table.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../../../src/meter/flow-meter.js';
import { summarizingSink, TrafficSummary, type SummaryTake } from '../../../src/summary/traffic-summary.js';
import { tempDir } from '../../helpers/collectors.js';
import { type ConnectionOutcome as RushOutcome, type ConnectionTruth, writeConnectionRush } from '../../helpers/connection-rush.js';
import { readClassicPcap, toCapturedPackets } from '../../helpers/read-classic-pcap.js';
import { emptyOutcomes, exactQuantile, OUTCOMES, withinHistogramError } from './summary-test-kit.js';

const RUSH = { seed: 7305, connections: 1500, ipv6Share: 0.3, vlanShare: 0.2, retransmitShare: 0.3, outOfOrderShare: 0.2 } as const;

/** The generator's outcome → the summary's counter. */
const SUMMARY_OUTCOME: Record<RushOutcome, keyof TcpOutcomes> = {
  completed: 'completed',
  reset_by_server: 'resetByServer',
  reset_by_client: 'resetByClient',
  rejected: 'rejected',
  syn_unanswered: 'synUnanswered',
  mid_stream: 'midStream',
};

/** Counts what reaches the next sink: records, and closing records (no packets). */
class CountingSink implements FlowRecordSink {
  records = 0;
  closing = 0;
  add(rec: FlowRecord): void {
    this.records++;
    if (rec.packets + rec.reversePackets === 0) this.closing++;
  }
  flush(): void {}
}

interface ServiceTruth {
  outcomes: Record<keyof TcpOutcomes, number>;
  handshakeRtt: number[];
  handshakeServerRtt: number[];
  /** Each connection's mean turn time, once per turn (what the summary gets from one record per connection). */
  responseMeans: number[];
  /** Every turn's own time. */
  responseTurns: number[];
  packets: number;
  retransmitted: number;
}

function truthByService(truths: ConnectionTruth[]): Map<string, ServiceTruth> {
  const services = new Map<string, ServiceTruth>();
  for (const t of truths) {
    const key = `${t.serverAddr}|${t.serverPort}`;
    let s = services.get(key);
    if (s === undefined) {
      s = { outcomes: emptyOutcomes(), handshakeRtt: [], handshakeServerRtt: [], responseMeans: [], responseTurns: [], packets: 0, retransmitted: 0 };
      services.set(key, s);
    }
    s.outcomes[SUMMARY_OUTCOME[t.outcome]]++;
    if (t.serverRttUs !== null) s.handshakeServerRtt.push(t.serverRttUs);
    if (t.serverRttUs !== null && t.clientRttUs !== null) s.handshakeRtt.push(t.serverRttUs + t.clientRttUs);
    const turns = t.serverResponseUs;
    const mean = turns.reduce((a, b) => a + b, 0) / turns.length;
    for (const turn of turns) {
      s.responseMeans.push(mean);
      s.responseTurns.push(turn);
    }
    s.packets += t.toServer.packets + t.toClient.packets;
    s.retransmitted += t.toServer.retransmittedPackets + t.toClient.retransmittedPackets;
  }
  return services;
}

function capturedPacketsOf(path: string): CapturedPacket[] {
  const capture = readClassicPcap(path);
  assert.ok(capture !== null);
  return toCapturedPackets(capture);
}

/** Replays the packets through a default meter with these timeouts into one summary interval. */
function replay(packets: CapturedPacket[], activeTimeoutUs: number, expiryTickUs: number): { taken: SummaryTake; next: CountingSink } {
  const options = flowMeterOptionsFromConfig(defaultConfig());
  options.flowTable.activeTimeoutUs = activeTimeoutUs;
  options.flowTable.hashSeed = 1;
  options.expiryTickUs = expiryTickUs;
  const summary = new TrafficSummary({ topN: 20, capacity: 64 });
  const next = new CountingSink();
  const meter = new FlowMeter(options, summarizingSink(summary, next));
  for (const packet of packets) meter.handlePacket(packet);
  while (!meter.flushSome()) {
    // batches until the table is empty
  }
  return { taken: summary.take(0, 1, true), next };
}

function checkQuantiles(label: string, q: LatencyQuantiles, samples: number[]): string {
  assert.equal(q.samples, samples.length, `${label}: samples`);
  const p50 = exactQuantile(samples, 0.5);
  const p95 = exactQuantile(samples, 0.95);
  assert.ok(withinHistogramError(q.p50Us, p50), `${label} p50: ${q.p50Us} vs truth ${p50}`);
  assert.ok(withinHistogramError(q.p95Us, p95), `${label} p95: ${q.p95Us} vs truth ${p95}`);
  return `${label} p50 ${q.p50Us} (truth ${Math.round(p50 ?? 0)}) p95 ${q.p95Us} (truth ${Math.round(p95 ?? 0)})`;
}

let tmp: { dir: string; remove(): void };
let truths: ConnectionTruth[];
let packets: CapturedPacket[];
let services: Map<string, ServiceTruth>;

before(() => {
  tmp = tempDir('tapflow-connection-summary-');
  const path = join(tmp.dir, 'rush.pcap');
  truths = writeConnectionRush(path, RUSH);
  packets = capturedPacketsOf(path);
  services = truthByService(truths);
});
after(() => tmp.remove());

describe('summary of a generated connection rush, per service', () => {
  it('one record per connection: outcomes exact, RTT and response p50/p95 within the histogram error, retransmission rate exact', (t) => {
    const { taken, next } = replay(packets, 3600_000_000, 1_000_000);
    assert.equal(next.closing, 0, 'no active-timeout parts, so no closing records');
    assert.equal(taken.totals.records, truths.length);
    assert.equal(taken.totals.connections, truths.length);
    const tcpServices = taken.services.filter((s) => s.protocol === 6);
    assert.equal(tcpServices.length, services.size);
    let checkedTurns = 0;
    for (const s of tcpServices) {
      const key = `${s.address}|${s.port}`;
      const truth = services.get(key);
      assert.ok(truth !== undefined, key);
      assert.equal(s.error, 0);
      assert.deepEqual(Object.fromEntries(OUTCOMES.map((o) => [o, s[o]])), truth.outcomes, `${key} outcomes`);
      const lines = [
        checkQuantiles('handshake RTT', s.handshakeRtt, truth.handshakeRtt),
        checkQuantiles('server RTT', s.handshakeServerRtt, truth.handshakeServerRtt),
        checkQuantiles('response (connection means)', s.serverResponse, truth.responseMeans),
      ];
      // How far the documented approximation (per-record means) moves the quantiles from the per-turn ones: printed, not asserted.
      const turnP50 = exactQuantile(truth.responseTurns, 0.5)!;
      const turnP95 = exactQuantile(truth.responseTurns, 0.95)!;
      lines.push(`per-turn truth p50 ${turnP50} p95 ${turnP95}`);
      assert.equal(s.packets, truth.packets, `${key} packets`);
      assert.equal(s.retransmittedPackets, truth.retransmitted, `${key} retransmitted`);
      assert.equal(s.retransmissionRate, truth.retransmitted / truth.packets, `${key} rate`);
      lines.push(`retransmission ${truth.retransmitted}/${truth.packets} = ${s.retransmissionRate?.toFixed(4)}`);
      t.diagnostic(`${key}: ${JSON.stringify(Object.fromEntries(OUTCOMES.map((o) => [o, s[o]])))}; ${lines.join('; ')}`);
      checkedTurns += truth.responseMeans.length;
    }
    // Totals: the sum over services.
    const all = [...services.values()];
    for (const outcome of OUTCOMES) assert.equal(taken.totals.tcp[outcome], all.reduce((sum, s) => sum + s.outcomes[outcome], 0), outcome);
    checkQuantiles('totals handshake RTT', taken.totals.tcp.handshakeRtt, all.flatMap((s) => s.handshakeRtt));
    checkQuantiles('totals response', taken.totals.tcp.serverResponse, all.flatMap((s) => s.responseMeans));
    assert.equal(taken.totals.tcp.retransmittedPackets, all.reduce((sum, s) => sum + s.retransmitted, 0));
    assert.equal(taken.totals.tcp.packets, all.reduce((sum, s) => sum + s.packets, 0));
    // The test had substance: every generator outcome, many samples, retransmissions.
    for (const outcome of Object.values(SUMMARY_OUTCOME)) assert.ok(taken.totals.tcp[outcome] > 10, `${outcome}: ${taken.totals.tcp[outcome]}`);
    assert.ok(checkedTurns > 1000 && taken.totals.tcp.retransmittedPackets > 100);
  });

  it('short active timeout: parts and closing records, yet every connection counted once with its outcome and one RTT sample', (t) => {
    const { taken, next } = replay(packets, 250_000, 50_000);
    t.diagnostic(`${next.records} records reached the exporters' sink, ${next.closing} of them closing records`);
    assert.ok(next.closing > 50, `${next.closing} closing records`);
    assert.ok(next.records > truths.length + next.closing);
    assert.equal(taken.totals.records, next.records - next.closing, 'closing records are not exported records');
    assert.equal(taken.totals.connections, truths.length);
    const all = [...services.values()];
    assert.equal(taken.totals.packets, all.reduce((sum, s) => sum + s.packets, 0));
    assert.equal(taken.totals.tcp.retransmittedPackets, all.reduce((sum, s) => sum + s.retransmitted, 0), 'retransmissions from every part');
    assert.equal(taken.totals.tcp.serverResponse.samples, all.reduce((sum, s) => sum + s.responseTurns.length, 0), 'every turn, from whichever part holds it');
    for (const s of taken.services.filter((v) => v.protocol === 6)) {
      const key = `${s.address}|${s.port}`;
      const truth = services.get(key)!;
      assert.deepEqual(Object.fromEntries(OUTCOMES.map((o) => [o, s[o]])), truth.outcomes, `${key} outcomes`);
      assert.equal(s.connections, truth.handshakeServerRtt.length + truth.outcomes.rejected + truth.outcomes.synUnanswered + truth.outcomes.midStream);
      checkQuantiles(`${key} handshake RTT`, s.handshakeRtt, truth.handshakeRtt);
      checkQuantiles(`${key} server RTT`, s.handshakeServerRtt, truth.handshakeServerRtt);
    }
  });
});

const SECOND_US = 1_000_000;
const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

function tcpPacket(fromClient: boolean, flags: number, seq: number, ack: number, payload: number): PacketView {
  return tcpPacketView(8443, fromClient, flags, seq, ack, payload);
}

describe('closing records through a real flow table', () => {
  const activeUs = 10 * SECOND_US; // below the idle timeout: the part is cut before the flow goes idle
  const idleUs = 30 * SECOND_US;
  function setup(): { table: FlowTable; summary: TrafficSummary; next: CountingSink; send(atUs: number, ...args: Parameters<typeof tcpPacket>): void } {
    const summary = new TrafficSummary({ topN: 5, capacity: 16 });
    const next = new CountingSink();
    const clock = new Float64Array(1);
    const idle = { tcp: idleUs, tcpFin: idleUs, tcpRst: idleUs, udp: idleUs, icmp: idleUs, other: idleUs };
    const table = new FlowTable({ maxFlows: 16, activeTimeoutUs: activeUs, idleTimeoutUs: idle, hashSeed: 3 }, summarizingSink(summary, next), clock);
    const send = (atUs: number, ...args: Parameters<typeof tcpPacket>): void => {
      const view = tcpPacket(...args);
      clock[0] = view.tsUs = atUs;
      table.update(view, 0, 0);
    };
    return { table, summary, next, send };
  }
  function handshake(send: ReturnType<typeof setup>['send']): void {
    send(1 * SECOND_US, true, SYN, 100, 0, 0);
    send(1 * SECOND_US + 2_000, false, SYN | ACK, 5000, 101, 0);
    send(1 * SECOND_US + 3_000, true, ACK, 101, 5001, 0);
    send(1 * SECOND_US + 4_000, true, ACK | PSH, 101, 5001, 50);
    send(1 * SECOND_US + 24_000, false, ACK | PSH, 5001, 151, 300);
  }
  const outcomesOf = (o: TcpOutcomes): Record<string, number> => Object.fromEntries(OUTCOMES.map((name) => [name, o[name]]).filter(([, n]) => n !== 0));

  it('answered, an active-timeout part, then silence: one connection, idle, counted from the closing record', () => {
    const { table, summary, next, send } = setup();
    handshake(send);
    table.expire(1 * SECOND_US + activeUs); // the part: open at the active timeout
    assert.deepEqual([next.records, next.closing], [1, 0]);
    table.expire(200 * SECOND_US); // silence until the idle timeout: the closing record
    assert.deepEqual([next.records, next.closing], [2, 1]);
    const taken = summary.take(0, 1, true);
    assert.deepEqual([taken.totals.records, taken.totals.connections, taken.totals.packets], [1, 1, 5]);
    assert.deepEqual(outcomesOf(taken.totals.tcp), { idle: 1 });
    assert.equal(taken.protocols[0]!.records, 1);
    assert.equal(taken.talkers.byFlows[0]!.value, 1, 'the closing record adds no flow');
    const service = taken.services[0]!;
    // The part came before the service was listed (only final records create entries): its packets
    // and response turn count in the totals only.
    assert.deepEqual([service.address, service.port, service.connections, service.packets], ['10.0.0.2', 8443, 1, 0]);
    assert.deepEqual(outcomesOf(service), { idle: 1 });
    // SYN → SYN/ACK 2 ms, SYN/ACK → ACK 1 ms: one sample of 3000 µs, from the closing record.
    assert.equal(service.handshakeRtt.samples, 1);
    assert.ok(withinHistogramError(service.handshakeRtt.p50Us, 3_000) && withinHistogramError(service.handshakeServerRtt.p50Us, 2_000));
    assert.equal(service.handshakeServerRtt.samples, 1);
    assert.deepEqual([service.serverResponse.samples, taken.totals.tcp.serverResponse.samples], [0, 1]);
    assert.equal(taken.totals.tcp.handshakeRtt.samples, 1);
    assert.ok(withinHistogramError(taken.totals.tcp.serverResponse.p50Us, 20_000));
  });

  it('an unanswered SYN with an active-timeout part, then silence: one connection, synUnanswered (not counted at the part)', () => {
    const { table, summary, next, send } = setup();
    send(1 * SECOND_US, true, SYN, 100, 0, 0);
    table.expire(1 * SECOND_US + activeUs);
    table.expire(200 * SECOND_US);
    assert.deepEqual([next.records, next.closing], [2, 1]);
    const taken = summary.take(0, 1, true);
    assert.deepEqual([taken.totals.records, taken.totals.connections], [1, 1]);
    assert.deepEqual(outcomesOf(taken.totals.tcp), { synUnanswered: 1 });
    assert.deepEqual(outcomesOf(taken.services[0]!), { synUnanswered: 1 });
    assert.equal(taken.services[0]!.handshakeRtt.samples, 0);
  });

  it('an active-timeout part, then more packets and FIN both ways: one connection, completed, from the last part', () => {
    const { table, summary, next, send } = setup();
    handshake(send);
    table.expire(1 * SECOND_US + activeUs);
    send(15 * SECOND_US, true, FIN | ACK, 151, 5301, 0);
    send(15 * SECOND_US + 1_000, false, FIN | ACK, 5301, 152, 0);
    send(15 * SECOND_US + 2_000, true, ACK, 152, 5302, 0);
    table.expire(200 * SECOND_US);
    assert.deepEqual([next.records, next.closing], [2, 0]);
    const taken = summary.take(0, 1, true);
    assert.deepEqual([taken.totals.records, taken.totals.connections, taken.totals.packets], [2, 1, 8]);
    assert.deepEqual(outcomesOf(taken.totals.tcp), { completed: 1 });
    assert.equal(taken.services[0]!.handshakeRtt.samples, 1, 'one RTT sample per connection, not per part');
  });
});

describe('service histograms and the sketch', () => {
  it('a slot handed to a new service (eviction) starts with empty histograms', () => {
    const summary = new TrafficSummary({ topN: 1, capacity: 1 });
    const rec = new FlowRecord();
    rec.protocol = 6;
    rec.connectionOutcome = 1; // completed
    rec.endReason = 3;
    rec.packets = 4;
    rec.reversePackets = 3;
    rec.srcAddr[0] = 0x0a000001;
    rec.srcPort = 40000;
    rec.dstPort = 443;
    for (const [server, rttUs] of [[0x0a000002, 1_000], [0x0a000003, 50_000]] as const) {
      rec.dstAddr[0] = server;
      rec.handshakeServerRttUs = rttUs;
      rec.handshakeClientRttUs = rttUs;
      rec.serverResponseCount = 1;
      rec.serverResponseSumUs = rttUs;
      summary.add(rec);
    }
    const [service] = summary.take(0, 1, false).services;
    assert.ok(service !== undefined);
    assert.deepEqual([service.address, service.value, service.error, service.connections, service.completed], ['10.0.0.3', 2, 1, 1, 1]);
    assert.deepEqual([service.handshakeRtt.samples, service.handshakeServerRtt.samples, service.serverResponse.samples], [1, 1, 1]);
    assert.ok(withinHistogramError(service.handshakeRtt.p50Us, 100_000) && withinHistogramError(service.serverResponse.p95Us, 50_000));
  });
});
