/**
 * Wireshark (tshark 4.0) as an independent IPFIX decoder: 5,000 random records exported to an
 * IPFIX file and over UDP (loopback) decode with no malformed packet, no expert error or warning
 * (tshark also checks the sequence numbers), and sampled field values equal the input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FileTransport } from '../../../src/export/file-transport.js';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { openUdpTransport } from '../../../src/export/udp-transport.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { captureUdpExport, hasTool, tempDir, TSHARK_MISSING, tsharkDecodeIpfix, tsharkTimeToMs, writeUdpPcap, type TsharkIpfixDecode } from '../../helpers/collectors.js';
import { fillRecord, ipv4Text, ipv6Text, macText, randomFlows, RecordingTransport, type FlowSnapshot } from './export-test-kit.js';

const RECORDS = 5_000;
const CHUNK = 500;
const skip = hasTool('tshark') ? false : TSHARK_MISSING;

function assertSameFlow(decoded: Record<string, string>, flow: FlowSnapshot, label: string): void {
  const v6 = flow.ipVersion === 6;
  const actual = {
    octets: decoded['cflow.octets'],
    packets: decoded['cflow.packets'],
    start: tsharkTimeToMs(decoded['cflow.abstimestart'] ?? ''),
    end: tsharkTimeToMs(decoded['cflow.abstimeend'] ?? ''),
    src: decoded[v6 ? 'cflow.srcaddrv6' : 'cflow.srcaddr'],
    dst: decoded[v6 ? 'cflow.dstaddrv6' : 'cflow.dstaddr'],
    srcPort: Number(decoded['cflow.srcport']),
    dstPort: Number(decoded['cflow.dstport']),
    protocol: Number(decoded['cflow.protocol']),
    icmp: v6
      ? (Number(decoded['cflow.icmp_ipv6_type']) << 8) | Number(decoded['cflow.icmp_ipv6_code'])
      : Number(decoded['cflow.icmp_type_code_ipv4']),
    tcpFlags: Number(decoded['cflow.tcpflags']),
    tos: Number(decoded['cflow.tos']),
    ttl: [Number(decoded['cflow.ttl_min']), Number(decoded['cflow.ttl_max'])],
    macs: [decoded['cflow.srcmac'], decoded['cflow.dstmac']],
    vlan: Number(decoded['cflow.vlanid']),
    ifIndex: Number(decoded['cflow.inputint']),
    ipVersion: Number(decoded['cflow.ip_version']),
    endReason: Number(decoded['cflow.flow_end_reason']),
  };
  assert.deepEqual(
    actual,
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
      tcpFlags: flow.tcpFlags,
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

function assertClean(decoded: TsharkIpfixDecode, frames: number, flows: readonly FlowSnapshot[]): void {
  assert.deepEqual(
    { frames: decoded.frames, records: decoded.records.length, malformed: decoded.malformed, errors: decoded.expertErrors, warnings: decoded.expertWarnings },
    { frames, records: flows.length, malformed: 0, errors: 0, warnings: 0 },
    decoded.expertMessages.slice(0, 5).join('; '),
  );
  for (let i = 0; i < flows.length; i += 37) assertSameFlow(decoded.records[i] ?? {}, flows[i]!, `record ${i}`);
  assertSameFlow(decoded.records.at(-1) ?? {}, flows.at(-1)!, 'last record');
}

describe('tshark decodes tapflow IPFIX', { skip }, () => {
  const flows = randomFlows(RECORDS, 4242);
  const tmp = tempDir();
  const udpMessages = new RecordingTransport();
  const fileMessages = new RecordingTransport();
  let datagrams: Buffer[] = [];
  const filePath = join(tmp.dir, 'flows.ipfix');
  const pcapPath = join(tmp.dir, 'udp.pcap');
  const UDP_PORT_IN_PCAP = 47_390;

  before(async () => {
    const capture = await captureUdpExport();
    const udp = await openUdpTransport(`127.0.0.1:${capture.port}`);
    const file = new FileTransport(filePath);
    const udpBuilder = new IpfixMessageBuilder({ transports: [udp, udpMessages], exportTimeSeconds: () => 1_700_000_000 });
    const fileBuilder = new IpfixMessageBuilder({ transports: [file, fileMessages], exportTimeSeconds: () => 1_700_000_000, templateRefresh: null });
    const rec = new FlowRecord();
    for (let start = 0; start < flows.length; start += CHUNK) {
      for (const flow of flows.slice(start, start + CHUNK)) {
        fillRecord(rec, flow);
        udpBuilder.add(rec);
        fileBuilder.add(rec);
      }
      udpBuilder.flush(start);
      fileBuilder.flush(start);
      await udp.drain(); // backpressure between chunks, as the replay loop does
    }
    await udp.close();
    await file.close();
    await capture.waitFor(udpMessages.messages.length);
    await capture.stop();
    datagrams = capture.datagrams;
    assert.equal(udp.stats.dropped_total + udp.stats.errors_total, 0);
    writeUdpPcap(pcapPath, datagrams, UDP_PORT_IN_PCAP);
  });

  test('the datagrams received are exactly the messages built', () => {
    assert.equal(datagrams.length, udpMessages.messages.length);
    assert.ok(datagrams.every((datagram, i) => datagram.equals(udpMessages.messages[i] ?? new Uint8Array())));
    assert.ok(datagrams.every((datagram) => datagram.length <= 1_400));
  });

  test(`IPFIX file: ${RECORDS} records, no malformed packet, no expert info`, async () => {
    const decoded = await tsharkDecodeIpfix(filePath);
    assert.deepEqual(decoded.warnings, []);
    assertClean(decoded, fileMessages.messages.length, flows);
  });

  test(`UDP export: ${RECORDS} records, no malformed packet, no expert info`, async () => {
    const decoded = await tsharkDecodeIpfix(pcapPath, { udpPort: UDP_PORT_IN_PCAP });
    assertClean(decoded, datagrams.length, flows);
  });

  test('control: the same checks catch a damaged set and a wrong sequence number', async () => {
    const damaged = datagrams.slice(0, 10).map((datagram) => Buffer.from(datagram));
    damaged[3]?.writeUInt16BE(1, 16 + 2); // first set of message 4 claims 1 byte
    damaged[6]?.writeUInt32BE((damaged[6].readUInt32BE(8) + 1) >>> 0, 8); // off-by-one sequence
    const path = join(tmp.dir, 'damaged.pcap');
    writeUdpPcap(path, damaged, UDP_PORT_IN_PCAP);
    const decoded = await tsharkDecodeIpfix(path, { udpPort: UDP_PORT_IN_PCAP });
    assert.ok(decoded.malformed >= 1, 'malformed set detected');
    assert.ok(decoded.expertMessages.some((message) => /Unexpected flow sequence/.test(message)), decoded.expertMessages.join('; '));
  });

  after(() => tmp.remove());
});
