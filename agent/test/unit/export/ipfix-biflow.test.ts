/**
 * RFC 5103 biflow export (IpfixMessageBuilder `biflow: true`, templates 258/259): random flows with
 * generated reverse directions (some with an empty reverse, some with an empty forward direction)
 * decoded by tshark 4.0 (IPFIX file and UDP datagrams), by nfcapd/nfdump 1.7.1, by our parser and
 * `tapflow inspect`. The expected values come from the generator, never from the encoder.
 *
 * What the tools do (checked below):
 * - tshark names every reverse element like its forward one, marked "(Reverse Type N ...)" in the
 *   data record and "[Reverse]" in the template (PEN 29305); the reverse timestamps carry no mark,
 *   so they are told apart by the template's field order.
 * - nfcapd 1.7.1 maps reverseOctetDeltaCount / reversePacketDeltaCount to out_bytes / out_packets,
 *   and reads every other reverse element as its forward element (tapflow puts each reverse element
 *   before its forward one, so the forward values are the ones nfdump keeps).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { runInspect } from '../../../src/cli/inspect-command.js';
import { FileTransport } from '../../../src/export/file-transport.js';
import type { FlowMessageBuilder } from '../../../src/export/flow-message-builder.js';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { IpfixParser, parseIpfixRecords } from '../../../src/export/ipfix/message-parser.js';
import { openUdpTransport } from '../../../src/export/udp-transport.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import {
  captureUdpExport,
  hasTool,
  NFCAPD_MISSING,
  startNfcapd,
  tempDir,
  TSHARK_MISSING,
  tsharkDecodeIpfix,
  tsharkTimeToMs,
  writeUdpPcap,
  type TsharkIpfixDecode,
} from '../../helpers/collectors.js';
import {
  expectedIpfixValues,
  fillRecord,
  ipv4Text,
  ipv6Text,
  macText,
  randomFlows,
  RecordingTransport,
  seededRandom,
  type FlowSnapshot,
} from './export-test-kit.js';

const execFileAsync = promisify(execFile);
const EXPORT_TIME_S = 1_700_000_000;

interface BiflowSnapshot extends FlowSnapshot {
  reversePackets: number;
  reverseOctets: number;
  reverseTcpFlags: number;
  reverseTos: number;
  reverseMinTtl: number;
  reverseMaxTtl: number;
  reverseSrcMac: number;
  reverseDstMac: number;
  reverseIngressInterface: number;
  reverseStartMs: number;
  reverseEndMs: number;
}

/** randomFlows' forward directions plus seeded reverse directions: every 7th reverse empty, every 11th forward empty. */
function randomBiflows(count: number, seed: number): BiflowSnapshot[] {
  const random = seededRandom(seed ^ 0x5a5a5a5a);
  const int = (below: number) => Math.floor(random() * below);
  return randomFlows(count, seed).map((flow, i) => {
    const reverseEmpty = i % 7 === 3;
    const forwardEmpty = !reverseEmpty && i % 11 === 5;
    const minTtl = 1 + int(255);
    const bigness = random();
    const reverseStartMs = flow.startMs - 2_000 + int(4_000);
    const reverse = {
      reversePackets: 1 + int(bigness < 0.9 ? 5_000 : 4_294_967_296 * 3),
      reverseOctets: bigness < 0.8 ? 40 + int(1_000_000) : bigness < 0.95 ? 4_294_967_296 + int(1e12) : Number.MAX_SAFE_INTEGER - int(1000),
      reverseTcpFlags: flow.protocol === 6 ? int(512) : 0,
      reverseTos: int(256),
      reverseMinTtl: minTtl,
      reverseMaxTtl: minTtl + int(256 - minTtl),
      reverseSrcMac: flow.dstMac,
      reverseDstMac: random() < 0.1 ? int(2 ** 48) : flow.srcMac,
      reverseIngressInterface: random() < 0.1 ? 4_294_967_295 : int(64),
      reverseStartMs,
      reverseEndMs: reverseStartMs + int(3_600_000),
    };
    if (reverseEmpty) for (const key of Object.keys(reverse) as Array<keyof typeof reverse>) reverse[key] = 0;
    const forward = forwardEmpty
      ? { octets: 0, packets: 0, tcpFlags: 0, tos: 0, minTtl: 0, maxTtl: 0, srcMac: 0, dstMac: 0, ingressInterface: 0, startMs: 0, endMs: 0 }
      : {};
    return { ...flow, ...forward, ...reverse };
  });
}

function fillBiflow(rec: FlowRecord, flow: BiflowSnapshot): FlowRecord {
  const { srcAddr, dstAddr, ...scalars } = flow;
  Object.assign(rec, scalars);
  rec.srcAddr.set(srcAddr);
  rec.dstAddr.set(dstAddr);
  return rec;
}

/** The biflow's span (RFC 5103 §4 record describes the whole biflow): earliest start, latest end of the non-empty directions. */
function spanOf(flow: BiflowSnapshot): { startMs: number; endMs: number } {
  if (flow.reversePackets === 0) return { startMs: flow.startMs, endMs: flow.endMs };
  if (flow.packets === 0) return { startMs: flow.reverseStartMs, endMs: flow.reverseEndMs };
  return { startMs: Math.min(flow.startMs, flow.reverseStartMs), endMs: Math.max(flow.endMs, flow.reverseEndMs) };
}

/** What our parser (IANA names, reverse<Name> for PEN 29305) should decode for `flow`. */
function expectedBiflowValues(flow: BiflowSnapshot): Record<string, number | string> {
  const span = spanOf(flow);
  return {
    ...expectedIpfixValues(flow),
    flowStartMilliseconds: span.startMs,
    flowEndMilliseconds: span.endMs,
    reverseOctetDeltaCount: flow.reverseOctets,
    reversePacketDeltaCount: flow.reversePackets,
    reverseFlowStartMilliseconds: flow.reverseStartMs,
    reverseFlowEndMilliseconds: flow.reverseEndMs,
    reverseIngressInterface: flow.reverseIngressInterface,
    reverseSourceMacAddress: macText(flow.reverseSrcMac),
    reverseDestinationMacAddress: macText(flow.reverseDstMac),
    reverseTcpControlBits: flow.reverseTcpFlags,
    reverseIpClassOfService: flow.reverseTos,
    reverseMinimumTTL: flow.reverseMinTtl,
    reverseMaximumTTL: flow.reverseMaxTtl,
    paddingOctets: '000000',
  };
}

// ---- tshark PDML: one entry per data record, reverse fields told apart ----

interface PdmlRecord {
  frame: number;
  setId: number;
  /** cflow field name → values in wire order; reverse elements under `name@reverse`. */
  values: Map<string, string[]>;
}

function unescapeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/**
 * Data records as tshark dissects them. Data records mark reverse elements "(Reverse Type ...)"
 * except timestamps; those take the [Reverse] flags of the template's flowStart/End fields in order.
 */
async function tsharkPdmlRecords(path: string, udpPort?: number): Promise<PdmlRecord[]> {
  const args = ['-r', path, '-T', 'pdml'];
  if (udpPort !== undefined) args.push('-d', `udp.port==${udpPort},cflow`);
  const { stdout } = await execFileAsync('tshark', args, { maxBuffer: 1024 * 1024 * 1024 });
  const timeFlags = new Map<number, { start: boolean[]; end: boolean[] }>();
  const records: PdmlRecord[] = [];
  let frame = 0;
  let setId = 0;
  let templateFlags: { start: boolean[]; end: boolean[] } | null = null;
  let record: PdmlRecord | null = null;
  let timeIndex = { start: 0, end: 0 };
  for (const line of stdout.split('\n')) {
    if (line.includes('<packet>')) {
      frame++;
      record = null;
      continue;
    }
    const set = /<field name="" show="Set \d+ \[id=(\d+)\]/.exec(line);
    if (set !== null) {
      setId = Number(set[1]);
      record = null;
      continue;
    }
    const template = /show="(?:Options )?Template \(Id = (\d+)/.exec(line);
    if (template !== null) {
      templateFlags = { start: [], end: [] };
      timeFlags.set(Number(template[1]), templateFlags);
      continue;
    }
    const fieldSpec = /<field name="" show="Field \(\d+\/\d+\)(?: \[Scope\])?: ([^"]*?)( \[Reverse\])?"/.exec(line);
    if (fieldSpec !== null && templateFlags !== null) {
      if (fieldSpec[1] === 'flowStartMilliseconds') templateFlags.start.push(fieldSpec[2] !== undefined);
      if (fieldSpec[1] === 'flowEndMilliseconds') templateFlags.end.push(fieldSpec[2] !== undefined);
      continue;
    }
    if (setId >= 256 && /<field name="" show="Flow \d+"/.test(line)) {
      record = { frame, setId, values: new Map() };
      records.push(record);
      timeIndex = { start: 0, end: 0 };
      continue;
    }
    const field = /<field name="(cflow\.[^"]+)" showname="([^"]*)"[^>]*? show="([^"]*)"/.exec(line);
    if (field === null || record === null) continue;
    const [, name = '', showname = '', show = ''] = field;
    let reverse = showname.includes('(Reverse Type');
    if (name === 'cflow.abstimestart' || name === 'cflow.abstimeend') {
      const which = name === 'cflow.abstimestart' ? 'start' : 'end';
      reverse = timeFlags.get(record.setId)?.[which][timeIndex[which]++] ?? false;
    }
    const key = reverse ? `${name}@reverse` : name;
    const list = record.values.get(key) ?? [];
    list.push(unescapeXml(show));
    record.values.set(key, list);
  }
  return records;
}

function first(record: PdmlRecord, key: string): string {
  return record.values.get(key)?.[0] ?? '';
}

function assertSameBiflow(record: PdmlRecord, flow: BiflowSnapshot, label: string): void {
  const v6 = flow.ipVersion === 6;
  const span = spanOf(flow);
  const actual = {
    templateId: record.setId,
    octets: first(record, 'cflow.octets'),
    packets: first(record, 'cflow.packets'),
    start: tsharkTimeToMs(first(record, 'cflow.abstimestart')),
    end: tsharkTimeToMs(first(record, 'cflow.abstimeend')),
    src: first(record, v6 ? 'cflow.srcaddrv6' : 'cflow.srcaddr'),
    dst: first(record, v6 ? 'cflow.dstaddrv6' : 'cflow.dstaddr'),
    ports: [Number(first(record, 'cflow.srcport')), Number(first(record, 'cflow.dstport'))],
    protocol: Number(first(record, 'cflow.protocol')),
    tcpFlags: Number(first(record, 'cflow.tcpflags')),
    tos: Number(first(record, 'cflow.tos')),
    ttl: [Number(first(record, 'cflow.ttl_min')), Number(first(record, 'cflow.ttl_max'))],
    macs: [first(record, 'cflow.srcmac'), first(record, 'cflow.dstmac')],
    ifIndex: Number(first(record, 'cflow.inputint')),
    reverseOctets: first(record, 'cflow.octets@reverse'),
    reversePackets: first(record, 'cflow.packets@reverse'),
    reverseStart: tsharkTimeToMs(first(record, 'cflow.abstimestart@reverse')),
    reverseEnd: tsharkTimeToMs(first(record, 'cflow.abstimeend@reverse')),
    reverseTcpFlags: Number(first(record, 'cflow.tcpflags@reverse')),
    reverseTos: Number(first(record, 'cflow.tos@reverse')),
    reverseTtl: [Number(first(record, 'cflow.ttl_min@reverse')), Number(first(record, 'cflow.ttl_max@reverse'))],
    reverseMacs: [first(record, 'cflow.srcmac@reverse'), first(record, 'cflow.dstmac@reverse')],
    reverseIfIndex: Number(first(record, 'cflow.inputint@reverse')),
  };
  assert.deepEqual(
    actual,
    {
      templateId: v6 ? 259 : 258,
      octets: String(flow.octets),
      packets: String(flow.packets),
      start: span.startMs,
      end: span.endMs,
      src: v6 ? ipv6Text(flow.srcAddr) : ipv4Text(flow.srcAddr[0] ?? 0),
      dst: v6 ? ipv6Text(flow.dstAddr) : ipv4Text(flow.dstAddr[0] ?? 0),
      ports: [flow.srcPort, flow.dstPort],
      protocol: flow.protocol,
      tcpFlags: flow.tcpFlags,
      tos: flow.tos,
      ttl: [flow.minTtl, flow.maxTtl],
      macs: [macText(flow.srcMac), macText(flow.dstMac)],
      ifIndex: flow.ingressInterface,
      reverseOctets: String(flow.reverseOctets),
      reversePackets: String(flow.reversePackets),
      reverseStart: flow.reverseStartMs,
      reverseEnd: flow.reverseEndMs,
      reverseTcpFlags: flow.reverseTcpFlags,
      reverseTos: flow.reverseTos,
      reverseTtl: [flow.reverseMinTtl, flow.reverseMaxTtl],
      reverseMacs: [macText(flow.reverseSrcMac), macText(flow.reverseDstMac)],
      reverseIfIndex: flow.reverseIngressInterface,
    },
    label,
  );
  // Exactly the 11 RFC 5103 reverse elements, each marked reverse by tshark itself.
  const reverseKeys = [...record.values.keys()].filter((key) => key.endsWith('@reverse') && !key.startsWith('cflow.tcpflags.'));
  assert.equal(reverseKeys.length, 11, `${label}: ${reverseKeys.join(', ')}`);
}

function assertClean(decoded: TsharkIpfixDecode, frames: number): void {
  assert.deepEqual(
    { frames: decoded.frames, malformed: decoded.malformed, errors: decoded.expertErrors, warnings: decoded.expertWarnings },
    { frames, malformed: 0, errors: 0, warnings: 0 },
    decoded.expertMessages.slice(0, 5).join('; '),
  );
}

test('IpfixMessageBuilder is a FlowMessageBuilder; biflow templates carry PEN 29305 and 128/152-byte records', () => {
  const transport = new RecordingTransport();
  const builder: FlowMessageBuilder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0, biflow: true, templateRefresh: null });
  assert.equal(builder.notExportable, 0);
  const flows = randomBiflows(40, 3);
  const rec = new FlowRecord();
  for (const flow of flows) builder.add(fillBiflow(rec, flow));
  builder.flush(0);
  const parser = new IpfixParser();
  const messages = transport.messages.map((message) => parser.parseMessage(message, 0));
  const templates = messages[0]?.templates ?? [];
  assert.deepEqual(
    templates.map((template) => [template.templateId, template.fields.length, template.fields.filter((field) => field.enterpriseNumber === 29_305).length]),
    [
      [258, 32, 11],
      [259, 32, 11],
    ],
  );
  const recordBytes = (templateId: number) =>
    (templates.find((template) => template.templateId === templateId)?.fields ?? []).reduce((sum, field) => sum + field.lengthBytes, 0);
  assert.deepEqual([recordBytes(258), recordBytes(259)], [128, 152]);
  const records = messages.flatMap((message) => message.records);
  assert.equal(records.length, flows.length, 'one record per flow, empty directions included');
  records.forEach((record, i) => assert.deepEqual(record.values, expectedBiflowValues(flows[i]!), `record ${i}`));
  assert.equal(builder.stats.records_total, flows.length);
});

test('the builder clock follows the reverse direction too; uniflow builders ignore reverse fields', () => {
  const flow = randomBiflows(1, 9)[0]!;
  flow.packets = 3;
  flow.reversePackets = 2;
  flow.endMs = 1_700_000_000_000;
  flow.reverseEndMs = 1_700_000_500_000;
  const rec = fillBiflow(new FlowRecord(), flow);
  const biflow = new IpfixMessageBuilder({ transports: [], exportTimeSeconds: () => 0, biflow: true });
  biflow.add(rec);
  assert.equal(biflow.lastTimeMs, 1_700_000_500_000);
  const uniflowTransport = new RecordingTransport();
  const uniflow = new IpfixMessageBuilder({ transports: [uniflowTransport], exportTimeSeconds: () => 0 });
  uniflow.add(rec);
  uniflow.flush(0);
  assert.equal(uniflow.lastTimeMs, 1_700_000_000_000);
  assert.deepEqual(parseIpfixRecords(uniflowTransport.concat())[0]?.values, expectedIpfixValues(flow));
});

test('tapflow inspect --json names the reverse fields', async () => {
  const tmp = tempDir();
  try {
    const path = join(tmp.dir, 'biflows.ipfix');
    const file = new FileTransport(path);
    const builder = new IpfixMessageBuilder({ transports: [file], exportTimeSeconds: () => EXPORT_TIME_S, biflow: true, templateRefresh: null });
    const flows = randomBiflows(200, 17);
    const rec = new FlowRecord();
    for (const flow of flows) builder.add(fillBiflow(rec, flow));
    builder.flush(0);
    await file.close();
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out += chunk.toString();
        callback();
      },
    });
    const code = await runInspect(path, { json: true }, sink, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
    assert.equal(code, 0);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, flows.length);
    lines.forEach((line, i) => assert.deepEqual(JSON.parse(line), expectedBiflowValues(flows[i]!), `line ${i}`));
  } finally {
    tmp.remove();
  }
});

describe('tshark decodes biflow IPFIX', { skip: hasTool('tshark') ? false : TSHARK_MISSING }, () => {
  const flows = randomBiflows(1_500, 5103);
  const tmp = tempDir();
  const filePath = join(tmp.dir, 'biflows.ipfix');
  const pcapPath = join(tmp.dir, 'biflows.pcap');
  const UDP_PORT_IN_PCAP = 47_391;
  const udpMessages = new RecordingTransport();
  const fileMessages = new RecordingTransport();

  before(async () => {
    const capture = await captureUdpExport();
    const udp = await openUdpTransport(`127.0.0.1:${capture.port}`);
    const file = new FileTransport(filePath);
    const udpBuilder = new IpfixMessageBuilder({ transports: [udp, udpMessages], exportTimeSeconds: () => EXPORT_TIME_S, biflow: true });
    const fileBuilder = new IpfixMessageBuilder({ transports: [file, fileMessages], exportTimeSeconds: () => EXPORT_TIME_S, biflow: true, templateRefresh: null });
    const rec = new FlowRecord();
    for (let start = 0; start < flows.length; start += 250) {
      for (const flow of flows.slice(start, start + 250)) {
        fillBiflow(rec, flow);
        udpBuilder.add(rec);
        fileBuilder.add(rec);
      }
      udpBuilder.flush(start);
      fileBuilder.flush(start);
      await udp.drain();
    }
    await udp.close();
    await file.close();
    await capture.waitFor(udpMessages.messages.length);
    await capture.stop();
    assert.equal(udp.stats.dropped_total + udp.stats.errors_total, 0);
    assert.ok(capture.datagrams.every((datagram, i) => datagram.equals(udpMessages.messages[i] ?? new Uint8Array())));
    writeUdpPcap(pcapPath, capture.datagrams, UDP_PORT_IN_PCAP);
  });

  after(() => tmp.remove());

  test('IPFIX file: no malformed packet, no expert info; every forward and reverse field as generated', async () => {
    assertClean(await tsharkDecodeIpfix(filePath), fileMessages.messages.length);
    const records = await tsharkPdmlRecords(filePath);
    assert.equal(records.length, flows.length);
    records.forEach((record, i) => assertSameBiflow(record, flows[i]!, `record ${i}`));
  });

  test('UDP export: no malformed packet, no expert info (sequence numbers included); sampled records as generated', async () => {
    assertClean(await tsharkDecodeIpfix(pcapPath, { udpPort: UDP_PORT_IN_PCAP }), udpMessages.messages.length);
    const records = await tsharkPdmlRecords(pcapPath, UDP_PORT_IN_PCAP);
    assert.equal(records.length, flows.length);
    for (let i = 0; i < flows.length; i += 13) assertSameBiflow(records[i]!, flows[i]!, `record ${i}`);
    assert.ok(udpMessages.messages.every((message) => message.length <= 1_400));
  });
});

interface NfdumpBiflowRow {
  src4_addr?: string;
  src6_addr?: string;
  src_port?: number;
  dst_port?: number;
  in_packets?: number;
  in_bytes?: number;
  out_packets?: number;
  out_bytes?: number;
  tcp_flags?: string;
  src_tos?: number;
  input_snmp?: number;
  in_src_mac?: string;
  in_dst_mac?: string;
  first?: string;
  last?: string;
}

/** nfdump's TCP flag letters for the low 8 bits (CWR ECE URG ACK PSH RST SYN FIN), '.' when unset. */
function nfdumpFlagLetters(flags: number): string {
  return 'CEUAPRSF'
    .split('')
    .map((letter, bit) => (flags & (0x80 >> bit) ? letter : '.'))
    .join('');
}

describe('nfcapd 1.7.1 collects biflow IPFIX', { skip: hasTool('nfcapd') && hasTool('nfdump') ? false : NFCAPD_MISSING }, () => {
  test('reverse counters become out_packets/out_bytes; forward fields and the biflow span stay intact', async () => {
    const nfcapd = await startNfcapd();
    try {
      // Only flows with a non-empty forward direction: nfdump shows in_* = forward.
      const flows = randomBiflows(400, 77).filter((flow) => flow.packets > 0);
      const udp = await openUdpTransport(`127.0.0.1:${nfcapd.port}`);
      const builder = new IpfixMessageBuilder({ transports: [udp], exportTimeSeconds: () => Math.floor(Date.now() / 1000), biflow: true });
      const rec = new FlowRecord();
      for (const flow of flows) builder.add(fillBiflow(rec, flow));
      builder.flush(Date.now());
      await udp.close();
      await nfcapd.stop();
      assert.match(nfcapd.log(), /Sequence Errors: 0/);
      const { stdout } = await execFileAsync('nfdump', ['-R', nfcapd.dir, '-o', 'json'], { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC' } });
      const rows = (JSON.parse(stdout) as NfdumpBiflowRow[]).filter((row) => row.in_packets !== undefined);
      assert.equal(rows.length, flows.length);
      const key = (src: string, srcPort: number, dstPort: number) => `${src}|${srcPort}|${dstPort}`;
      const byKey = new Map(rows.map((row) => [key(row.src4_addr ?? row.src6_addr ?? '', row.src_port ?? 0, row.dst_port ?? 0), row]));
      for (const flow of flows) {
        const src = flow.ipVersion === 6 ? ipv6Text(flow.srcAddr) : ipv4Text(flow.srcAddr[0] ?? 0);
        const row = byKey.get(key(src, flow.srcPort, flow.dstPort));
        assert.ok(row, `flow ${src} ${flow.srcPort} → ${flow.dstPort} collected`);
        const span = spanOf(flow);
        assert.deepEqual(
          {
            inPackets: row.in_packets,
            inBytes: row.in_bytes,
            outPackets: row.out_packets ?? 0,
            outBytes: row.out_bytes ?? 0,
            tcpFlags: flow.protocol === 6 ? row.tcp_flags : '',
            tos: row.src_tos,
            ifIndex: row.input_snmp ?? 0,
            macs: [row.in_src_mac, row.in_dst_mac],
            first: Date.parse(`${row.first ?? ''}Z`),
            last: Date.parse(`${row.last ?? ''}Z`),
          },
          {
            inPackets: flow.packets,
            inBytes: flow.octets,
            outPackets: flow.reversePackets,
            outBytes: flow.reverseOctets,
            tcpFlags: flow.protocol === 6 ? nfdumpFlagLetters(flow.tcpFlags) : '',
            tos: flow.tos,
            ifIndex: flow.ingressInterface,
            macs: [macText(flow.srcMac), macText(flow.dstMac)],
            first: span.startMs,
            last: span.endMs,
          },
          `${src} ${flow.srcPort} → ${flow.dstPort}`,
        );
      }
    } finally {
      await nfcapd.stop();
      nfcapd.remove();
    }
  });
});
