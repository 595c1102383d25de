/**
 * NetFlow v5 builder against independent readers:
 * - tshark 4.0 decodes random records with no malformed packet and no expert info (its flow
 *   sequence check included, across the uint32 wrap); every value (times recomputed from tshark's
 *   own header fields) equals the input; counters above 2^32 - 1 arrive as the fewest records whose
 *   sums are exact; IPv6 flows are skipped and counted;
 * - nfcapd/nfdump 1.7.1 stores the same per-flow and total packets/bytes over UDP, and scales them
 *   by the header's sampling interval;
 * - nothing is allocated per record.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { MessageTransport } from '../../../src/export/message-transport.js';
import { NetflowV5MessageBuilder } from '../../../src/export/netflow-v5/v5-message-builder.js';
import { V5_MAX_PACKET_BYTES } from '../../../src/export/netflow-v5/v5-record-encoder.js';
import { UdpTransport } from '../../../src/export/udp-transport.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { hasTool, NFCAPD_MISSING, nfdumpFlows, startNfcapd, tempDir, TSHARK_MISSING, writeUdpPcap } from '../../helpers/collectors.js';
import { fillRecord, ipv4Text, NullTransport, RecordingTransport, type FlowSnapshot } from './export-test-kit.js';
import { absoluteMs, dataRecords, meteredFlows, nfdumpFlagLetters, tsharkDecodeNetflow, type NetflowDecode, type NetflowHeader } from './netflow-test-kit.js';

const noTshark = hasTool('tshark') ? false : TSHARK_MISSING;
const noNfcapd = hasTool('nfcapd') && hasTool('nfdump') ? false : NFCAPD_MISSING;
const UDP_PORT_IN_PCAP = 2056;
const TWO_POW_32 = 4_294_967_296;
const MAX_COUNTER = TWO_POW_32 - 1;

/**
 * Random flows with counters a real link can produce within one record (at most ~5 * 2^32 octets,
 * at least 16 packets): the near-2^53 values of randomFlows would need ~2M v5 records each.
 */
function v5Flows(count: number, seed: number): FlowSnapshot[] {
  return meteredFlows(count, seed).map((flow) => ({
    ...flow,
    octets: flow.octets > MAX_COUNTER ? TWO_POW_32 + (flow.octets % (4 * TWO_POW_32)) : flow.octets,
    packets: Math.max(16, flow.packets > MAX_COUNTER ? TWO_POW_32 + (flow.packets % (2 * TWO_POW_32)) : flow.packets),
  }));
}

/** The fewest v5 records that carry `flow` with 32-bit counters. */
function piecesOf(flow: FlowSnapshot): number {
  return Math.max(1, Math.ceil(flow.packets / MAX_COUNTER), Math.ceil(flow.octets / MAX_COUNTER));
}

function buildV5(flows: readonly FlowSnapshot[], options: Partial<ConstructorParameters<typeof NetflowV5MessageBuilder>[0]> = {}) {
  const recording = new RecordingTransport();
  const builder = new NetflowV5MessageBuilder({ ...options, transports: [recording, ...(options.transports ?? [])] });
  builder.flush(Math.min(...flows.map((flow) => flow.startMs)));
  const rec = new FlowRecord();
  for (let start = 0; start < flows.length; start += 500) {
    const chunk = flows.slice(start, start + 500);
    for (const flow of chunk) builder.add(fillRecord(rec, flow));
    builder.flush(Math.max(...chunk.map((flow) => flow.endMs)));
  }
  return { builder, recording };
}

/** Check the `pieces` consecutive decoded records that carry `flow`. */
function assertFlowRecords(decoded: Array<{ header: NetflowHeader; record: Record<string, string> }>, flow: FlowSnapshot, label: string): void {
  let packets = 0n;
  let octets = 0n;
  for (const { header, record } of decoded) {
    const recordPackets = Number(record['cflow.packets']);
    const recordOctets = Number(record['cflow.octets']);
    assert.ok(recordPackets <= MAX_COUNTER && recordOctets <= MAX_COUNTER, label);
    packets += BigInt(recordPackets);
    octets += BigInt(recordOctets);
    assert.deepEqual(
      {
        start: absoluteMs(header, record['cflow.timestart']),
        end: absoluteMs(header, record['cflow.timeend']),
        src: record['cflow.srcaddr'],
        dst: record['cflow.dstaddr'],
        nextHop: record['cflow.nexthop'],
        input: Number(record['cflow.inputint']),
        output: Number(record['cflow.outputint']),
        srcPort: Number(record['cflow.srcport']),
        dstPort: Number(record['cflow.dstport']),
        tcpFlags: Number(record['cflow.tcpflags']),
        protocol: Number(record['cflow.protocol']),
        tos: Number(record['cflow.tos']),
        as: [Number(record['cflow.srcas']), Number(record['cflow.dstas'])],
        masks: [Number(record['cflow.srcmask']), Number(record['cflow.dstmask'])],
      },
      {
        start: flow.startMs,
        end: flow.endMs,
        src: ipv4Text(flow.srcAddr[0] ?? 0),
        dst: ipv4Text(flow.dstAddr[0] ?? 0),
        nextHop: '0.0.0.0',
        input: flow.ingressInterface > 0xffff ? 0 : flow.ingressInterface,
        output: 0,
        srcPort: flow.srcPort,
        dstPort: flow.dstPort, // ICMP: type << 8 | code (Cisco convention)
        tcpFlags: flow.tcpFlags & 0xff,
        protocol: flow.protocol,
        tos: flow.tos,
        as: [0, 0],
        masks: [0, 0],
      },
      label,
    );
  }
  assert.deepEqual({ packets, octets }, { packets: BigInt(flow.packets), octets: BigInt(flow.octets) }, `${label}: sums`);
}

/** Packets whose decoded header differs from what v5 requires (flow_sequence = records before it). */
function headerMismatches(decoded: NetflowDecode, firstSequence: number): string[] {
  const mismatches: string[] = [];
  let before = firstSequence;
  decoded.frames.forEach((frame, i) => {
    const records = frame.flowSets.reduce((sum, flowSet) => sum + flowSet.records.length, 0);
    const actual = {
      version: frame.header.version,
      count: frame.header.count,
      sequence: frame.header.sequence,
      engine: [frame.header.engineType, frame.header.engineId],
      sampling: [frame.header.samplingMode, frame.header.sampleRate],
    };
    const expected = { version: 5, count: records, sequence: before, engine: [0, 1], sampling: [1, 64] };
    if (records < 1 || records > 30 || JSON.stringify(actual) !== JSON.stringify(expected)) {
      mismatches.push(`packet ${i}: ${JSON.stringify(actual)} expected ${JSON.stringify(expected)}`);
    }
    before = (before + records) % TWO_POW_32;
  });
  return mismatches;
}

const gc = (globalThis as { gc?: () => void }).gc;

test('1M records (some split, some IPv6): no GC, young generation grows < 64 KiB', { skip: gc === undefined ? 'needs node --expose-gc' : false }, async (t) => {
  const builder = new NetflowV5MessageBuilder({ transports: [new NullTransport()], sampling: { interval: 10, algorithm: 'deterministic' } });
  const pool = v5Flows(256, 5).map((flow) => fillRecord(new FlowRecord(), flow));
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      builder.add(pool[i & 255] as FlowRecord);
      if ((i & 1023) === 1023) builder.flush(1_700_000_000_000 + i);
    }
  };
  run(200_000);
  run(200_000);
  gc?.();
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const newSpace = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_used_size ?? 0;
  const before = newSpace();
  const started = performance.now();
  run(1_000_000);
  const elapsedMs = performance.now() - started;
  const growth = newSpace() - before;
  await new Promise((resolve) => setImmediate(resolve));
  observer.disconnect();
  assert.equal(collections, 0, `${collections} GCs while encoding`);
  assert.ok(growth < 64 * 1024, `young generation grew by ${growth} bytes`);
  assert.ok(builder.splitRecords > 0 && builder.notExportable > 0, 'the split and IPv6 paths ran');
  t.diagnostic(`v5: 1M records in ${elapsedMs.toFixed(0)} ms; new space +${growth} B`);
});

describe('tshark decodes tapflow NetFlow v5', { skip: noTshark }, () => {
  const flows = v5Flows(3_000, 5050);
  const ipv4 = flows.filter((flow) => flow.ipVersion === 4);
  const tmp = tempDir();
  const pcapPath = join(tmp.dir, 'v5.pcap');
  const FIRST_SEQUENCE = TWO_POW_32 - 1_000; // flow_sequence wraps after 1000 records
  let recording: RecordingTransport;
  let builder: NetflowV5MessageBuilder;
  let decoded: NetflowDecode;

  before(async () => {
    ({ builder, recording } = buildV5(flows, { firstSequenceNumber: FIRST_SEQUENCE, sampling: { interval: 64, algorithm: 'deterministic' } }));
    writeUdpPcap(pcapPath, recording.messages, UDP_PORT_IN_PCAP);
    decoded = await tsharkDecodeNetflow(pcapPath, UDP_PORT_IN_PCAP);
  });
  after(() => tmp.remove());

  test('no malformed packet, no expert info; packets <= 30 records', () => {
    assert.equal(decoded.frames.length, recording.messages.length);
    assert.deepEqual(
      { malformed: decoded.malformed, errors: decoded.expertErrors, warnings: decoded.expertWarnings },
      { malformed: 0, errors: 0, warnings: 0 },
      decoded.expertMessages.slice(0, 5).join('; '),
    );
    assert.ok(recording.messages.every((message) => message.length <= V5_MAX_PACKET_BYTES));
    assert.ok(builder.stats.records_total > 1_000, 'the sequence wrap is crossed');
  });

  test('header: flow_sequence counts records before the packet (mod 2^32), count, engine, sampling 01|64', () => {
    // tshark 4.0 does not check v5 sequence numbers (nor count vs. length): check its decoded headers here.
    assert.deepEqual(headerMismatches(decoded, FIRST_SEQUENCE), []);
    const total = decoded.frames.reduce((sum, frame) => sum + frame.header.count, 0);
    assert.equal(builder.nextSequenceNumber, (FIRST_SEQUENCE + total) % TWO_POW_32);
  });

  test('control: the header check catches a wrong flow_sequence', async () => {
    const damaged = recording.messages.slice(0, 10).map((message) => Buffer.from(message));
    damaged[6]?.writeUInt32BE((damaged[6].readUInt32BE(16) + 1) >>> 0, 16);
    const path = join(tmp.dir, 'damaged.pcap');
    writeUdpPcap(path, damaged, UDP_PORT_IN_PCAP);
    const mismatches = headerMismatches(await tsharkDecodeNetflow(path, UDP_PORT_IN_PCAP), FIRST_SEQUENCE);
    assert.deepEqual(mismatches.map((text) => text.split(':')[0]), ['packet 6'], mismatches.join('; '));
  });

  test('every IPv4 flow arrives as the fewest records with exact sums; IPv6 counted as not exportable', () => {
    const records = dataRecords(decoded);
    assert.equal(builder.notExportable, flows.length - ipv4.length);
    const split = ipv4.filter((flow) => piecesOf(flow) > 1);
    assert.ok(split.length > 50, `${split.length} split flows`);
    assert.equal(records.length, ipv4.reduce((sum, flow) => sum + piecesOf(flow), 0));
    assert.equal(builder.splitRecords, records.length - ipv4.length);
    assert.equal(builder.stats.records_total, records.length);
    assert.equal(recording.recordCounts.reduce((a, b) => a + b, 0), records.length);
    assert.equal(builder.interfaceOverflows, ipv4.filter((flow) => flow.ingressInterface > 0xffff).length);
    let at = 0;
    ipv4.forEach((flow, i) => {
      const pieces = piecesOf(flow);
      assertFlowRecords(records.slice(at, at + pieces), flow, `flow ${i}`);
      at += pieces;
    });
  });

});

describe('NetFlow v5 edge cases', () => {
  test('a 2^53 - 1 octet flow is split into records whose sums are exact', () => {
    /** Sums dPkts / dOctets of every record it is given (BigInt per packet: each packet sum is < 2^38). */
    class SummingTransport extends NullTransport implements MessageTransport {
      packets = 0n;
      octets = 0n;
      records = 0;
      override send(message: Uint8Array, length: number): void {
        super.send(message, length);
        const view = new DataView(message.buffer, message.byteOffset, length);
        const count = view.getUint16(2);
        let packets = 0;
        let octets = 0;
        for (let i = 0; i < count; i++) {
          packets += view.getUint32(24 + i * 48 + 16);
          octets += view.getUint32(24 + i * 48 + 20);
        }
        this.packets += BigInt(packets);
        this.octets += BigInt(octets);
        this.records += count;
      }
    }
    const sums = new SummingTransport();
    const builder = new NetflowV5MessageBuilder({ transports: [sums] });
    const [flow] = v5Flows(1, 8);
    const huge = { ...flow!, ipVersion: 4, octets: Number.MAX_SAFE_INTEGER, packets: 2 ** 52 + 12_345 };
    builder.add(fillRecord(new FlowRecord(), huge));
    builder.flush(huge.endMs);
    assert.equal(sums.records, Math.ceil(Number.MAX_SAFE_INTEGER / MAX_COUNTER));
    assert.deepEqual({ packets: sums.packets, octets: sums.octets }, { packets: BigInt(huge.packets), octets: BigInt(huge.octets) });
    assert.equal(builder.splitRecords, sums.records - 1);
  });

  test('header sampling field: 0 unsampled, 2 << 14 | N random; intervals above 14 bits are refused', () => {
    const header = (sampling: { interval: number; algorithm: 'random' | 'deterministic' } | null) => {
      const recording = new RecordingTransport();
      const builder = new NetflowV5MessageBuilder({ transports: [recording], sampling, sourceId: 0x1234 });
      const [flow] = v5Flows(1, 3);
      builder.add(fillRecord(new FlowRecord(), { ...flow!, ipVersion: 4 }));
      builder.flush(flow!.endMs);
      const message = Buffer.from(recording.messages[0] ?? []);
      return { sampling: message.readUInt16BE(22), engineId: message.readUInt8(21) };
    };
    assert.deepEqual(header(null), { sampling: 0, engineId: 0x34 });
    assert.deepEqual(header({ interval: 1, algorithm: 'random' }), { sampling: 0, engineId: 0x34 });
    assert.deepEqual(header({ interval: 16_383, algorithm: 'random' }), { sampling: (2 << 14) | 16_383, engineId: 0x34 });
    assert.throws(() => new NetflowV5MessageBuilder({ transports: [], sampling: { interval: 16_384, algorithm: 'deterministic' } }), {
      code: 'TAPFLOW_E_EXPORT_SAMPLING',
    });
  });

  test('mtuBytes below 1464 lowers the records per packet', () => {
    const recording = new RecordingTransport();
    const builder = new NetflowV5MessageBuilder({ transports: [recording], mtuBytes: 1_400 });
    assert.equal(builder.maxRecordsPerPacket, 28);
    const rec = new FlowRecord();
    for (const flow of v5Flows(200, 12).filter((f) => f.ipVersion === 4 && piecesOf(f) === 1)) builder.add(fillRecord(rec, flow));
    builder.flush(0);
    assert.ok(recording.messages.every((message) => message.length <= 1_400));
    assert.equal(recording.messages[0]?.length, 24 + 28 * 48);
  });
});

describe('nfcapd 1.7.1 collects tapflow NetFlow v5', { skip: noNfcapd }, () => {
  async function collect(flows: readonly FlowSnapshot[], sampling: { interval: number; algorithm: 'random' | 'deterministic' } | null) {
    const nfcapd = await startNfcapd();
    try {
      // 30 records make 1464-byte packets: the UDP pool buffers must hold them (default 1400).
      const udp = new UdpTransport(`127.0.0.1:${nfcapd.port}`, { maxMessageBytes: V5_MAX_PACKET_BYTES });
      const sending = new NetflowV5MessageBuilder({ transports: [udp], sampling });
      sending.flush(Math.min(...flows.map((flow) => flow.startMs)));
      const rec = new FlowRecord();
      for (let start = 0; start < flows.length; start += 250) {
        const chunk = flows.slice(start, start + 250);
        for (const flow of chunk) sending.add(fillRecord(rec, flow));
        sending.flush(Math.max(...chunk.map((flow) => flow.endMs)));
        await udp.drain();
      }
      await udp.close();
      assert.deepEqual({ dropped: udp.stats.dropped_total, errors: udp.stats.errors_total }, { dropped: 0, errors: 0 });
      await nfcapd.stop();
      return { stored: await nfdumpFlows(nfcapd.dir), log: nfcapd.log(), builder: sending };
    } finally {
      await nfcapd.stop();
      nfcapd.remove();
    }
  }

  const keyOf = (src: string, dst: string, srcPort: number, dstPort: number, protocol: number, startMs: number) =>
    `${src}|${dst}|${srcPort}|${dstPort}|${protocol}|${startMs}`;

  test('nfdump shows every IPv4 flow with exact packets and bytes (split flows summed), IPv6 not exported', async () => {
    const flows = v5Flows(2_000, 606);
    // One realistic flow beyond 2^32 octets (1.5 KB packets): three records.
    flows.push({ ...flows[0]!, ipVersion: 4, protocol: 6, srcPort: 443, dstPort: 50_000, octets: 3 * TWO_POW_32 + 12_345, packets: 8_600_000 });
    const ipv4 = flows.filter((flow) => flow.ipVersion === 4);
    const { stored, log, builder } = await collect(flows, null);
    assert.equal(builder.notExportable, flows.length - ipv4.length);
    assert.match(log, new RegExp(`Flows: ${builder.stats.records_total}, .*Sequence Errors: 0, Bad Packets: 0`), log);
    assert.equal(stored.length, builder.stats.records_total);
    const sum = (values: number[]) => values.reduce((total, value) => total + BigInt(value), 0n);
    assert.equal(sum(stored.map((f) => f.packets)), sum(ipv4.map((f) => f.packets)));
    assert.equal(sum(stored.map((f) => f.bytes)), sum(ipv4.map((f) => f.octets)));

    const byKey = new Map<string, { packets: bigint; bytes: bigint; records: number; endMs: number; tcpFlags: string; icmp: number[]; input: number; tos: number }>();
    for (const f of stored) {
      const key = keyOf(f.srcAddr, f.dstAddr, f.srcPort, f.dstPort, f.protocol, f.startMs);
      const entry = byKey.get(key) ?? { packets: 0n, bytes: 0n, records: 0, endMs: f.endMs, tcpFlags: f.tcpFlags, icmp: [f.icmpType, f.icmpCode], input: f.inputInterface, tos: f.tos };
      entry.packets += BigInt(f.packets);
      entry.bytes += BigInt(f.bytes);
      entry.records++;
      byKey.set(key, entry);
    }
    ipv4.forEach((flow, i) => {
      const isIcmp = flow.protocol === 1;
      const found = byKey.get(keyOf(ipv4Text(flow.srcAddr[0] ?? 0), ipv4Text(flow.dstAddr[0] ?? 0), flow.srcPort, isIcmp ? 0 : flow.dstPort, flow.protocol, flow.startMs));
      assert.ok(found, `flow ${i} missing in nfdump output`);
      assert.deepEqual(
        {
          packets: found.packets,
          bytes: found.bytes,
          records: found.records,
          endMs: found.endMs,
          input: found.input,
          tos: found.tos,
          ...(flow.protocol === 6 ? { tcpFlags: found.tcpFlags } : {}),
          ...(isIcmp ? { icmp: found.icmp } : {}),
        },
        {
          packets: BigInt(flow.packets),
          bytes: BigInt(flow.octets),
          records: piecesOf(flow),
          endMs: flow.endMs,
          input: flow.ingressInterface > 0xffff ? 0 : flow.ingressInterface,
          tos: flow.tos,
          ...(flow.protocol === 6 ? { tcpFlags: nfdumpFlagLetters(flow.tcpFlags) } : {}),
          ...(isIcmp ? { icmp: [flow.icmpTypeCode >> 8, flow.icmpTypeCode & 0xff] } : {}),
        },
        `flow ${i}`,
      );
    });
  });

  test('control: nfcapd counts a wrong flow_sequence (so "Sequence Errors: 0" above means something)', async () => {
    const nfcapd = await startNfcapd();
    try {
      const { recording } = buildV5(v5Flows(200, 23).filter((flow) => flow.ipVersion === 4));
      const packets = recording.messages.map((message) => Buffer.from(message));
      assert.ok(packets.length >= 3);
      packets[1]?.writeUInt32BE((packets[1].readUInt32BE(16) + 7) >>> 0, 16);
      const socket = createSocket('udp4');
      for (const packet of packets) await new Promise((resolve) => socket.send(packet, nfcapd.port, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      await nfcapd.stop();
      assert.match(nfcapd.log(), /Sequence Errors: [1-9]/, nfcapd.log());
    } finally {
      await nfcapd.stop();
      nfcapd.remove();
    }
  });

  test('sampling in the header: nfcapd multiplies packets and bytes by the interval (mode 1 and 2)', async () => {
    for (const algorithm of ['deterministic', 'random'] as const) {
      const flows = v5Flows(100, 17).filter((flow) => flow.ipVersion === 4 && piecesOf(flow) === 1);
      const { stored } = await collect(flows, { interval: 100, algorithm });
      const sum = (values: number[]) => values.reduce((total, value) => total + BigInt(value), 0n);
      assert.equal(sum(stored.map((f) => f.packets)), 100n * sum(flows.map((f) => f.packets)), algorithm);
      assert.equal(sum(stored.map((f) => f.bytes)), 100n * sum(flows.map((f) => f.octets)), algorithm);
    }
  });
});
