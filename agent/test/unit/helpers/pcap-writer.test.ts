/**
 * The pcap writer and packet builders, checked by tshark (with checksum validation on): header
 * fields, checksums of every transport, VLAN tags, ns timestamps, snaplen truncation, and files
 * much larger than the writer's 1 MiB buffer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FrameSpec, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, PcapWriter, TCP_ACK, TCP_FIN, TCP_PSH, frameBytesFor, ipLengthBytes, writeFrame,
} from '../../helpers/pcap-writer.js';
import { EXPERT_ERROR_SEVERITY, maxExpertSeverity, tsharkAvailable, tsharkRows } from './tshark-frames.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapflow-pcapw-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function address(spec: FrameSpec, which: 'src' | 'dst', bytes: number[]): void {
  (which === 'src' ? spec.srcAddr : spec.dstAddr).set(bytes);
}

const V6_SRC = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 2];

describe('pcap writer and builders agree with tshark', { skip: tsharkAvailable() ? false : 'tshark not installed: skipped' }, () => {
  test('one frame of each kind: fields and checksums', async () => {
    const path = join(dir, 'kinds.pcap');
    const writer = new PcapWriter(path);
    const frame = new Uint8Array(frameBytesFor(2000));
    const spec = new FrameSpec();
    const write = (tsUs: number) => writer.writePacket(frame, writeFrame(frame, spec), tsUs);

    // 1: IPv4 TCP FIN|PSH|ACK with data, VLAN 42
    spec.vlanId = 42;
    address(spec, 'src', [192, 0, 2, 1]);
    address(spec, 'dst', [198, 51, 100, 7]);
    Object.assign(spec, { protocol: IPPROTO_TCP, srcPort: 40000, dstPort: 443, tcpFlags: TCP_FIN | TCP_PSH | TCP_ACK, tcpSeq: 0xfffffff0, tcpAck: 12345, payloadBytes: 1000, ipId: 77 });
    write(1_700_000_000_000_000);
    // 2: IPv4 UDP, untagged, odd payload length
    spec.vlanId = 0;
    Object.assign(spec, { protocol: IPPROTO_UDP, srcPort: 5353, dstPort: 8125, payloadBytes: 333 });
    write(1_700_000_000_000_001);
    // 3: IPv4 ICMP echo request
    Object.assign(spec, { protocol: IPPROTO_ICMP, icmpType: 8, icmpCode: 0, icmpId: 9, icmpSeq: 1, payloadBytes: 56 });
    write(1_700_000_000_000_002);
    // 4: IPv6 UDP with VLAN 4094
    spec.ipVersion = 6;
    spec.vlanId = 4094;
    address(spec, 'src', V6_SRC);
    address(spec, 'dst', V6_DST);
    Object.assign(spec, { protocol: IPPROTO_UDP, srcPort: 1234, dstPort: 8125, payloadBytes: 101 });
    write(1_700_000_000_000_003);
    // 5: ICMPv6 echo reply
    spec.vlanId = 0;
    Object.assign(spec, { protocol: IPPROTO_ICMPV6, icmpType: 129, icmpCode: 0, payloadBytes: 16 });
    write(1_700_000_000_000_004);
    // 6: IPv6 TCP pure ACK
    Object.assign(spec, { protocol: IPPROTO_TCP, srcPort: 1, dstPort: 65535, tcpFlags: TCP_ACK, tcpSeq: 1, tcpAck: 2, payloadBytes: 0 });
    write(1_700_000_000_000_005);
    writer.close();

    const rows = await tsharkRows(path);
    assert.equal(rows.length, 6);
    for (const [i, row] of rows.entries()) assert.ok(maxExpertSeverity(row) < EXPERT_ERROR_SEVERITY, `frame ${i + 1} has an expert error`);
    const [tcp4, udp4, icmp4, udp6, icmp6, tcp6] = rows as [typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0]];

    assert.deepEqual([tcp4['vlan.id'], tcp4['ip.src'], tcp4['ip.dst'], tcp4['ip.len'], tcp4['tcp.flags'], tcp4['tcp.seq_raw'], tcp4['tcp.ack_raw']],
      ['42', '192.0.2.1', '198.51.100.7', '1040', '0x0019', String(0xfffffff0), '12345']);
    assert.equal(tcp4['frame.len'], String(18 + 1040));
    assert.deepEqual([udp4['vlan.id'], udp4['ip.len'], udp4['udp.srcport'], udp4['udp.dstport']], ['', '361', '5353', '8125']);
    assert.deepEqual([icmp4['icmp.type'], icmp4['icmp.code'], icmp4['ip.len']], ['8', '0', '84']);
    assert.deepEqual([udp6['vlan.id'], udp6['ipv6.src'], udp6['ipv6.dst'], udp6['ipv6.plen']], ['4094', '2001:db8::1', '2001:db8:1::abcd:2', '109']);
    assert.deepEqual([icmp6['icmpv6.type'], icmp6['ipv6.plen']], ['129', '24']);
    assert.deepEqual([tcp6['tcp.srcport'], tcp6['tcp.dstport'], tcp6['ipv6.plen'], tcp6['tcp.flags']], ['1', '65535', '20', '0x0010']);

    // Checksum status 1 = good (epan/proto.h PROTO_CHECKSUM_E_GOOD).
    const status = rows.map((r) => [r['ip.checksum.status'], r['tcp.checksum.status'], r['udp.checksum.status'], r['icmp.checksum.status'], r['icmpv6.checksum.status']].join('/'));
    assert.deepEqual(status, ['1/1///', '1//1//', '1///1/', '//1//', '////1', '/1///']);
    assert.equal(ipLengthBytes(spec), 60);
  });

  test('ns timestamps and snaplen truncation', async () => {
    const path = join(dir, 'ns.pcap');
    const writer = new PcapWriter(path, { resolution: 'ns', snapLenBytes: 96 });
    const frame = new Uint8Array(frameBytesFor(1500));
    const spec = new FrameSpec();
    spec.srcAddr.set([10, 0, 0, 1]);
    spec.dstAddr.set([10, 0, 0, 2]);
    Object.assign(spec, { protocol: IPPROTO_UDP, srcPort: 1000, dstPort: 8125, payloadBytes: 1472 });
    writer.writePacket(frame, writeFrame(frame, spec), 1_700_000_000_123_456.5);
    spec.payloadBytes = 10;
    writer.writePacket(frame, writeFrame(frame, spec), 1_700_000_001_000_000);
    writer.close();
    const rows = await tsharkRows(path);
    assert.deepEqual(rows.map((r) => [r['frame.time_epoch'], r['frame.len'], r['frame.cap_len'], r['ip.len']]), [
      ['1700000000.123456500', '1514', '96', '1500'],
      ['1700000001.000000000', '52', '52', '38'],
    ]);
  });

  test('a file many times the 1 MiB buffer holds every packet in order', async () => {
    const path = join(dir, 'big.pcap');
    const writer = new PcapWriter(path);
    const frame = new Uint8Array(frameBytesFor(1500));
    const spec = new FrameSpec();
    spec.srcAddr.set([10, 0, 0, 1]);
    spec.dstAddr.set([10, 0, 0, 2]);
    spec.protocol = IPPROTO_UDP;
    spec.dstPort = 8125;
    const packets = 5000;
    for (let i = 0; i < packets; i++) {
      spec.srcPort = 1 + (i % 60000);
      spec.payloadBytes = i % 1473;
      writer.writePacket(frame, writeFrame(frame, spec), 1_700_000_000_000_000 + i);
    }
    writer.close();
    assert.equal(writer.packetsWritten, packets);
    assert.equal(statSync(path).size, writer.bytesWritten);
    assert.ok(writer.bytesWritten > 3 * 1024 * 1024);
    const rows = await tsharkRows(path);
    assert.equal(rows.length, packets);
    rows.forEach((row, i) => {
      if (row['udp.srcport'] !== String(1 + (i % 60000)) || row['ip.len'] !== String(28 + (i % 1473))) assert.fail(`frame ${i + 1} out of place`);
    });
  });
});
