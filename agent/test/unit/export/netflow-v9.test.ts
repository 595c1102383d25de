/**
 * NetFlow v9 builder (RFC 3954) against independent readers:
 * - tshark 4.0 decodes thousands of random records with no malformed packet and no expert info
 *   (its per-source sequence check included, across the uint32 wrap), templates come first, and
 *   every decoded value (times recomputed from tshark's own header fields) equals the input;
 * - nfcapd/nfdump 1.7.1 stores the same flows and totals over UDP;
 * - the sampling options record (34/35) is decoded by tshark;
 * - nothing is allocated per record.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { NetflowV9MessageBuilder } from '../../../src/export/netflow-v9/v9-message-builder.js';
import { V9_IPV4_TEMPLATE, V9_IPV6_TEMPLATE } from '../../../src/export/netflow-v9/v9-templates.js';
import { UdpTransport } from '../../../src/export/udp-transport.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { hasTool, NFCAPD_MISSING, nfdumpFlows, startNfcapd, tempDir, TSHARK_MISSING, writeUdpPcap, type NfdumpFlow } from '../../helpers/collectors.js';
import { fillRecord, ipv4Text, ipv6Text, macText, NullTransport, RecordingTransport, type FlowSnapshot } from './export-test-kit.js';
import { absoluteMs, dataRecords, meteredFlows, nfdumpFlagLetters, tsharkDecodeNetflow, type NetflowDecode, type NetflowHeader } from './netflow-test-kit.js';

const noTshark = hasTool('tshark') ? false : TSHARK_MISSING;
const noNfcapd = hasTool('nfcapd') && hasTool('nfdump') ? false : NFCAPD_MISSING;
const UDP_PORT_IN_PCAP = 2055;
const TWO_POW_32 = 4_294_967_296;

/** Build v9 packets for `flows` in chunks, flushing the chunk's latest end time like the meter's tick. */
function buildV9(flows: readonly FlowSnapshot[], options: Partial<ConstructorParameters<typeof NetflowV9MessageBuilder>[0]> = {}) {
  const recording = new RecordingTransport();
  const builder = new NetflowV9MessageBuilder({ ...options, transports: [recording, ...(options.transports ?? [])] });
  builder.flush(Math.min(...flows.map((flow) => flow.startMs))); // the meter's first packet: uptime 0
  const rec = new FlowRecord();
  for (let start = 0; start < flows.length; start += 500) {
    const chunk = flows.slice(start, start + 500);
    for (const flow of chunk) builder.add(fillRecord(rec, flow));
    builder.flush(Math.max(...chunk.map((flow) => flow.endMs)));
  }
  return { builder, recording };
}

function assertSameFlow(header: NetflowHeader, decoded: Record<string, string>, flow: FlowSnapshot, label: string): void {
  const v6 = flow.ipVersion === 6;
  assert.deepEqual(
    {
      octets: decoded['cflow.octets'],
      packets: decoded['cflow.packets'],
      start: absoluteMs(header, decoded['cflow.timestart']),
      end: absoluteMs(header, decoded['cflow.timeend']),
      src: decoded[v6 ? 'cflow.srcaddrv6' : 'cflow.srcaddr'],
      dst: decoded[v6 ? 'cflow.dstaddrv6' : 'cflow.dstaddr'],
      srcPort: Number(decoded['cflow.srcport']),
      dstPort: Number(decoded['cflow.dstport']),
      protocol: Number(decoded['cflow.protocol']),
      // ICMP_TYPE (32) in both templates; tshark names it after IPFIX's IPv4 element.
      icmp: Number(decoded['cflow.icmp_type_code_ipv4']),
      tcpFlags: Number(decoded['cflow.tcpflags']),
      tos: Number(decoded['cflow.tos']),
      ttl: [Number(decoded['cflow.ttl_min']), Number(decoded['cflow.ttl_max'])],
      macs: [decoded['cflow.srcmac'], decoded['cflow.dstmac']],
      vlan: Number(decoded['cflow.vlanid']),
      ifIndex: Number(decoded['cflow.inputint']),
      ipVersion: Number(decoded['cflow.ip_version']),
      endReason: Number(decoded['cflow.flow_end_reason']),
    },
    {
      octets: String(flow.octets),
      packets: String(flow.packets),
      start: flow.startMs,
      end: flow.endMs,
      src: v6 ? ipv6Text(flow.srcAddr) : ipv4Text(flow.srcAddr[0] ?? 0),
      dst: v6 ? ipv6Text(flow.dstAddr) : ipv4Text(flow.dstAddr[0] ?? 0),
      srcPort: flow.srcPort,
      dstPort: flow.dstPort,
      protocol: flow.protocol,
      icmp: flow.icmpTypeCode,
      tcpFlags: flow.tcpFlags & 0xff, // v9 TCP_FLAGS is one byte
      tos: flow.tos,
      ttl: [flow.minTtl, flow.maxTtl],
      macs: [macText(flow.srcMac), macText(flow.dstMac)],
      vlan: flow.vlanId,
      ifIndex: flow.ingressInterface,
      ipVersion: flow.ipVersion,
      endReason: flow.endReason,
    },
    label,
  );
}

function assertClean(decoded: NetflowDecode): void {
  assert.deepEqual(
    { malformed: decoded.malformed, errors: decoded.expertErrors, warnings: decoded.expertWarnings },
    { malformed: 0, errors: 0, warnings: 0 },
    decoded.expertMessages.slice(0, 5).join('; '),
  );
}

const gc = (globalThis as { gc?: () => void }).gc;

test('1M records: no GC, young generation grows < 64 KiB', { skip: gc === undefined ? 'needs node --expose-gc' : false }, async (t) => {
  const builder = new NetflowV9MessageBuilder({ transports: [new NullTransport()], sampling: { interval: 10, algorithm: 'random' } });
  const pool = meteredFlows(256, 5).map((flow) => fillRecord(new FlowRecord(), flow));
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
  t.diagnostic(`v9: 1M records in ${elapsedMs.toFixed(0)} ms; new space +${growth} B`);
});

describe('tshark decodes tapflow NetFlow v9', { skip: noTshark }, () => {
  const RECORDS = 4_000;
  const flows = meteredFlows(RECORDS, 9090);
  const tmp = tempDir();
  const pcapPath = join(tmp.dir, 'v9.pcap');
  const FIRST_SEQUENCE = TWO_POW_32 - 40; // wraps after 40 packets
  let recording: RecordingTransport;
  let builder: NetflowV9MessageBuilder;
  let decoded: NetflowDecode;

  before(async () => {
    // Refresh by packet count only: random flows make the builder clock jump by hours.
    ({ builder, recording } = buildV9(flows, { firstSequenceNumber: FIRST_SEQUENCE, templateRefresh: { messages: 20, ms: Number.POSITIVE_INFINITY } }));
    writeUdpPcap(pcapPath, recording.messages, UDP_PORT_IN_PCAP);
    decoded = await tsharkDecodeNetflow(pcapPath, UDP_PORT_IN_PCAP);
  });
  after(() => tmp.remove());

  test(`${RECORDS} records: no malformed packet, no expert info (sequence checked across the wrap)`, () => {
    assert.ok(recording.messages.length > 60, `only ${recording.messages.length} packets: the wrap is not crossed`);
    assert.equal(decoded.frames.length, recording.messages.length);
    assertClean(decoded);
    assert.ok(recording.messages.every((message) => message.length <= builder.mtuBytes));
  });

  test('header: Package Sequence counts packets (mod 2^32), Count counts every record, source id 1', () => {
    decoded.frames.forEach((frame, i) => {
      const records = frame.flowSets.reduce((sum, flowSet) => sum + (flowSet.id === 0 ? 2 : flowSet.records.length), 0);
      assert.deepEqual(
        { version: frame.header.version, sequence: frame.header.sequence, count: frame.header.count, sourceId: frame.header.sourceId },
        { version: 9, sequence: (FIRST_SEQUENCE + i) % TWO_POW_32, count: records, sourceId: 1 },
        `packet ${i}`,
      );
    });
    assert.equal(builder.nextSequenceNumber, (FIRST_SEQUENCE + decoded.frames.length) % TWO_POW_32);
  });

  test('templates come first and are refreshed every 20 packets', () => {
    const withTemplates = decoded.frames.flatMap((frame, i) => (frame.flowSets.some((flowSet) => flowSet.id === 0) ? [i] : []));
    assert.deepEqual(withTemplates, decoded.frames.map((_, i) => i).filter((i) => i % 20 === 0));
    for (const i of withTemplates) assert.equal(decoded.frames[i]?.flowSets[0]?.id, 0, `packet ${i} starts with the Template FlowSet`);
    assert.equal(builder.stats.template_sets_total, withTemplates.length);
  });

  test('every decoded value equals the generated flow (times via tshark header fields)', () => {
    const records = dataRecords(decoded);
    assert.equal(records.length, RECORDS);
    assert.equal(builder.stats.records_total, RECORDS);
    assert.deepEqual(recording.recordCounts.reduce((a, b) => a + b, 0), RECORDS);
    records.forEach(({ header, record }, i) => assertSameFlow(header, record, flows[i]!, `record ${i}`));
  });

  test('control: the same checks catch a damaged FlowSet and a wrong sequence number', async () => {
    const damaged = recording.messages.slice(0, 10).map((message) => Buffer.from(message));
    damaged[3]?.writeUInt16BE(3, 20 + 2); // first FlowSet of packet 4 claims 3 bytes
    damaged[6]?.writeUInt32BE((damaged[6].readUInt32BE(12) + 1) >>> 0, 12);
    const path = join(tmp.dir, 'damaged.pcap');
    writeUdpPcap(path, damaged, UDP_PORT_IN_PCAP);
    const bad = await tsharkDecodeNetflow(path, UDP_PORT_IN_PCAP);
    assert.ok(bad.malformed + bad.expertErrors >= 1, 'damaged FlowSet detected');
    assert.ok(bad.expertMessages.some((message) => /sequence/i.test(message)), bad.expertMessages.join('; '));
  });
});

describe('NetFlow v9 times and sizes', { skip: noTshark }, () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  test('uptime wraps after 2^32 ms like a router; records on both sides still decode to their times', async () => {
    const bootMs = 1_700_000_000_000;
    const [a, b] = meteredFlows(2, 31);
    const early = { ...a!, startMs: bootMs + 1_000, endMs: bootMs + 61_000 };
    const late = { ...b!, startMs: bootMs + TWO_POW_32 + 5_000, endMs: bootMs + TWO_POW_32 + 9_123 };
    const recording = new RecordingTransport();
    const builder = new NetflowV9MessageBuilder({ transports: [recording] });
    builder.flush(bootMs + 400); // boot = the whole second before the first time learned
    assert.equal(builder.bootMs, bootMs);
    const rec = new FlowRecord();
    builder.add(fillRecord(rec, early));
    builder.flush(early.endMs);
    builder.add(fillRecord(rec, late));
    builder.flush(late.endMs + 200);
    const path = join(tmp.dir, 'wrap.pcap');
    writeUdpPcap(path, recording.messages, UDP_PORT_IN_PCAP);
    const decoded = await tsharkDecodeNetflow(path, UDP_PORT_IN_PCAP);
    assertClean(decoded);
    const records = dataRecords(decoded);
    // Header uptime: the clock floored to a whole second, minus the boot, modulo 2^32.
    assert.equal(records[1]?.header.sysUptimeMs, (Math.floor((late.endMs + 200) / 1000) * 1000 - bootMs) % TWO_POW_32);
    assert.ok((records[1]?.header.sysUptimeMs ?? TWO_POW_32) < 60_000, 'wrapped');
    assertSameFlow(records[0]!.header, records[0]!.record, early, 'before the wrap');
    assertSameFlow(records[1]!.header, records[1]!.record, late, 'after the wrap');
  });

  test('a record that started before the boot is clamped to uptime 0', () => {
    const recording = new RecordingTransport();
    const builder = new NetflowV9MessageBuilder({ transports: [recording], templateRefresh: null });
    builder.flush(1_700_000_010_000);
    const [flow] = meteredFlows(1, 2);
    const rec = fillRecord(new FlowRecord(), { ...flow!, ipVersion: 4, startMs: 1_700_000_000_000, endMs: 1_700_000_020_500 });
    builder.add(rec);
    builder.flush(1_700_000_021_000);
    const message = Buffer.from(recording.messages[0] ?? []);
    const dataAt = 20 + message.readUInt16BE(20 + 2); // after the Template FlowSet
    assert.equal(message.readUInt16BE(dataAt), 256);
    assert.equal(message.readUInt32BE(dataAt + 4 + 16), 0, 'FIRST_SWITCHED clamped');
    assert.equal(message.readUInt32BE(dataAt + 4 + 20), 10_500, 'LAST_SWITCHED');
    assert.equal(message.readUInt32BE(4), 11_000, 'sysUptime');
    assert.equal(message.readUInt32BE(8), 1_700_000_021, 'unix secs = the builder clock');
  });

  test('MTU bound, 4-byte padded FlowSets, refresh by time; small MTUs are refused', () => {
    const recording = new RecordingTransport();
    const mtuBytes = 20 + 172 + 4 + V9_IPV6_TEMPLATE.recordLengthBytes + 3 + 100;
    const builder = new NetflowV9MessageBuilder({ transports: [recording], mtuBytes, templateRefresh: { messages: 1_000, ms: 60_000 } });
    const flows = meteredFlows(300, 77).map((flow, i) => ({ ...flow, startMs: 1_700_000_000_000 + i * 1_000, endMs: 1_700_000_000_000 + i * 1_000 }));
    const rec = new FlowRecord();
    for (const flow of flows) {
      builder.add(fillRecord(rec, flow));
      builder.observeTime(flow.endMs);
    }
    builder.flush(flows.at(-1)!.endMs);
    let templates = 0;
    let dataRecordsSeen = 0;
    for (const message of recording.messages.map((m) => Buffer.from(m))) {
      assert.ok(message.length <= mtuBytes);
      for (let at = 20; at < message.length; ) {
        const id = message.readUInt16BE(at);
        const length = message.readUInt16BE(at + 2);
        assert.equal(length % 4, 0, `FlowSet ${id} length ${length}`);
        if (id === 0) templates++;
        if (id === 256) dataRecordsSeen += Math.floor((length - 4) / V9_IPV4_TEMPLATE.recordLengthBytes);
        if (id === 257) dataRecordsSeen += Math.floor((length - 4) / V9_IPV6_TEMPLATE.recordLengthBytes);
        at += length;
      }
    }
    assert.equal(dataRecordsSeen, flows.length);
    // 300 s of records, refresh every 60 s of builder clock: at start and about every minute after.
    assert.ok(templates >= 5 && templates <= 6, `${templates} template FlowSets`);
    assert.throws(() => new NetflowV9MessageBuilder({ transports: [], mtuBytes: 200 }), { code: 'TAPFLOW_E_EXPORT_MTU' });
  });

  test('sampling 1:100 random: options template (scope System) and 34/35 record, sent and refreshed with the templates', async () => {
    const flows = meteredFlows(600, 44);
    const { recording, builder } = buildV9(flows, { sampling: { interval: 100, algorithm: 'random' }, templateRefresh: { messages: 5, ms: Number.POSITIVE_INFINITY } });
    const path = join(tmp.dir, 'sampled.pcap');
    writeUdpPcap(path, recording.messages, UDP_PORT_IN_PCAP);
    const decoded = await tsharkDecodeNetflow(path, UDP_PORT_IN_PCAP);
    assertClean(decoded);
    let announcements = 0;
    decoded.frames.forEach((frame, i) => {
      const ids = frame.flowSets.map((flowSet) => flowSet.id);
      if (i % 5 !== 0) {
        assert.ok(!ids.includes(0) && !ids.includes(1) && !ids.includes(258), `packet ${i}: ${ids}`);
        return;
      }
      assert.deepEqual(ids.slice(0, 3), [0, 1, 258], `packet ${i}`);
      const options = frame.flowSets[2]?.records[0] ?? {};
      assert.deepEqual(
        { scope: options['cflow.scope_system'], interval: options['cflow.sampling_interval'], algorithm: options['cflow.sampling_algorithm'] },
        { scope: '00:00:00:01', interval: '100', algorithm: '2' },
      );
      assert.equal(frame.header.count, 4 + frame.flowSets.slice(3).reduce((sum, flowSet) => sum + flowSet.records.length, 0));
      announcements++;
    });
    assert.equal(announcements, builder.stats.template_sets_total);
    // Options data records count as records handed to the transports (loss accounting).
    assert.equal(recording.recordCounts.reduce((a, b) => a + b, 0), flows.length + announcements);
    assert.equal(dataRecords(decoded, [258]).length, flows.length);
  });
});

describe('nfcapd 1.7.1 collects tapflow NetFlow v9', { skip: noNfcapd }, () => {
  function keyOf(src: string, dst: string, srcPort: number, dstPort: number, protocol: number, startMs: number): string {
    return `${src}|${dst}|${srcPort}|${dstPort}|${protocol}|${startMs}`;
  }

  async function collect(flows: readonly FlowSnapshot[], sampling: { interval: number; algorithm: 'random' | 'deterministic' } | null) {
    const nfcapd = await startNfcapd();
    try {
      const udp = new UdpTransport(`127.0.0.1:${nfcapd.port}`);
      const builder = new NetflowV9MessageBuilder({ transports: [udp], sampling });
      builder.flush(Math.min(...flows.map((flow) => flow.startMs)));
      const rec = new FlowRecord();
      for (let start = 0; start < flows.length; start += 250) {
        const chunk = flows.slice(start, start + 250);
        for (const flow of chunk) builder.add(fillRecord(rec, flow));
        builder.flush(Math.max(...chunk.map((flow) => flow.endMs)));
        await udp.drain();
      }
      await udp.close();
      assert.deepEqual({ dropped: udp.stats.dropped_total, errors: udp.stats.errors_total }, { dropped: 0, errors: 0 });
      await nfcapd.stop();
      return { stored: await nfdumpFlows(nfcapd.dir), log: nfcapd.log() };
    } finally {
      await nfcapd.stop();
      nfcapd.remove();
    }
  }

  test('nfdump shows the same flows, totals and per-flow values', async () => {
    const RECORDS = 3_000;
    const flows = meteredFlows(RECORDS, 777);
    const { stored, log } = await collect(flows, null);
    assert.match(log, new RegExp(`Flows: ${RECORDS}, .*Sequence Errors: 0, Bad Packets: 0`), log);
    assert.equal(stored.length, RECORDS);
    const sum = (values: number[]) => values.reduce((total, value) => total + BigInt(value), 0n);
    assert.equal(sum(stored.map((f) => f.packets)), sum(flows.map((f) => f.packets)));
    assert.equal(sum(stored.map((f) => f.bytes)), sum(flows.map((f) => f.octets)));
    const byKey = new Map<string, NfdumpFlow>();
    for (const f of stored) byKey.set(keyOf(f.srcAddr, f.dstAddr, f.srcPort, f.dstPort, f.protocol, f.startMs), f);
    for (let i = 0; i < flows.length; i += 7) {
      const flow = flows[i]!;
      const v6 = flow.ipVersion === 6;
      const src = v6 ? ipv6Text(flow.srcAddr) : ipv4Text(flow.srcAddr[0] ?? 0);
      const dst = v6 ? ipv6Text(flow.dstAddr) : ipv4Text(flow.dstAddr[0] ?? 0);
      const isIcmp = flow.protocol === 1 || flow.protocol === 58;
      // nfdump's JSON shows ICMP type/code instead of ports.
      const found = byKey.get(keyOf(src, dst, flow.srcPort, isIcmp ? 0 : flow.dstPort, flow.protocol, flow.startMs));
      assert.ok(found, `flow ${i} missing in nfdump output`);
      assert.deepEqual(
        {
          packets: found.packets,
          bytes: found.bytes,
          endMs: found.endMs,
          vlan: found.vlan,
          ifIndex: found.inputInterface,
          tos: found.tos,
          macs: [found.srcMac, found.dstMac],
          ...(flow.protocol === 6 ? { tcpFlags: found.tcpFlags } : {}),
          ...(isIcmp ? { icmp: [found.icmpType, found.icmpCode] } : {}),
        },
        {
          packets: flow.packets,
          bytes: flow.octets,
          endMs: flow.endMs,
          vlan: flow.vlanId,
          ifIndex: flow.ingressInterface,
          tos: flow.tos,
          macs: [macText(flow.srcMac), macText(flow.dstMac)],
          ...(flow.protocol === 6 ? { tcpFlags: nfdumpFlagLetters(flow.tcpFlags) } : {}),
          ...(isIcmp ? { icmp: [flow.icmpTypeCode >> 8, flow.icmpTypeCode & 0xff] } : {}),
        },
        `flow ${i}`,
      );
    }
  });

  test('sampling announced: nfcapd accepts the options records (whether it scales is reported, not assumed)', async (t) => {
    const flows = meteredFlows(200, 99);
    const { stored, log } = await collect(flows, { interval: 100, algorithm: 'deterministic' });
    assert.match(log, /Flows: 200, .*Sequence Errors: 0, Bad Packets: 0/, log);
    assert.equal(stored.length, flows.length);
    const sent = flows.reduce((total, flow) => total + BigInt(flow.packets), 0n);
    const seen = stored.reduce((total, flow) => total + BigInt(flow.packets), 0n);
    assert.ok(seen === sent || seen === sent * 100n, `packets ${seen} vs sent ${sent}`);
    t.diagnostic(`nfcapd ${seen === sent ? 'does not scale' : 'scales'} v9 counters by SAMPLING_INTERVAL 34 (packets ${seen}, sent ${sent})`);
  });
});
