/**
 * Golden IPFIX message: two hand-filled records (IPv4 + IPv6) must produce exactly the bytes
 * written out below from RFC 7011 §3 and the IANA registry, field by field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { fillRecord, RecordingTransport } from './export-test-kit.js';

function hex(text: string): Uint8Array {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

const EXPECTED = hex(`
  # ---- message header (16) ----
  000a                # version 10
  016c                # length 364 = 16 + 172 + 76 + 100
  6553f100            # export time 1700000000 s
  000003e8            # sequence 1000: data records before this message
  00000007            # observation domain 7
  # ---- template set (172) ----
  0002 00ac           # set id 2 (template set), length 172
  0100 0014           # template 256 (IPv4), 20 fields
  0001 0008  0002 0008  0098 0008  0099 0008   # octetDeltaCount, packetDeltaCount, flowStart/EndMilliseconds
  0008 0004  000c 0004  000a 0004              # sourceIPv4Address, destinationIPv4Address, ingressInterface
  0038 0006  0050 0006                         # sourceMacAddress, destinationMacAddress
  0007 0002  000b 0002  0020 0002  0006 0002  003a 0002   # ports, icmpTypeCodeIPv4, tcpControlBits, vlanId
  0004 0001  0005 0001  0034 0001  0035 0001  003c 0001  0088 0001   # proto, tos, min/maxTTL, ipVersion, flowEndReason
  0101 0014           # template 257 (IPv6), 20 fields
  0001 0008  0002 0008  0098 0008  0099 0008
  001b 0010  001c 0010  000a 0004              # sourceIPv6Address, destinationIPv6Address, ingressInterface
  0038 0006  0050 0006
  0007 0002  000b 0002  008b 0002  0006 0002  003a 0002   # icmpTypeCodeIPv6 (139)
  0004 0001  0005 0001  0034 0001  0035 0001  003c 0001  0088 0001
  # ---- data set, template 256 (4 + 72) ----
  0100 004c           # set id 256, length 76
  0000000123456789    # octetDeltaCount 4886718345 (high word 1)
  00000000000003e8    # packetDeltaCount 1000
  0000018bcfe5687b    # flowStartMilliseconds 1700000000123
  0000018bcfe65428    # flowEndMilliseconds 1700000060456
  c0000201            # 192.0.2.1
  c6336402            # 198.51.100.2
  00000003            # ingressInterface 3
  001122334455        # source MAC
  66778899aabb        # destination MAC
  c000                # source port 49152
  01bb                # destination port 443
  0000                # icmpTypeCodeIPv4 0
  001b                # tcpControlBits ACK|PSH|SYN|FIN
  0064                # vlanId 100
  06                  # TCP
  28                  # tos 0x28
  3c 40               # minimumTTL 60, maximumTTL 64
  04                  # ipVersion
  03                  # flowEndReason 3 endOfFlow
  # ---- data set, template 257 (4 + 96) ----
  0101 0064           # set id 257, length 100
  00000000000005dc    # octetDeltaCount 1500
  0000000000000001    # packetDeltaCount 1
  0000018bcfe56be8    # flowStartMilliseconds 1700000001000
  0000018bcfe56be8    # flowEndMilliseconds (same)
  20010db8000000000000000000000001   # 2001:db8::1
  20010db8000000000000000000000002   # 2001:db8::2
  fffffffe            # ingressInterface 4294967294
  02aabbccddee        # source MAC
  ffffffffffff        # destination MAC (broadcast: all 48 bits)
  0000 0000           # no ports
  8000                # icmpTypeCodeIPv6 128/0 echo request
  0000                # no TCP flags
  0fff                # vlanId 4095
  3a                  # ICMPv6
  00                  # tos
  ff ff               # min/max hop limit 255
  06                  # ipVersion
  01                  # flowEndReason 1 idleTimeout
`);

test('a message with one IPv4 and one IPv6 record matches the hand-written bytes', () => {
  const transport = new RecordingTransport();
  const builder = new IpfixMessageBuilder({
    transports: [transport],
    exportTimeSeconds: () => 1_700_000_000,
    observationDomainId: 7,
    firstSequenceNumber: 1000,
    templateRefresh: null,
  });
  const rec = new FlowRecord();
  builder.add(
    fillRecord(rec, {
      ipVersion: 4,
      srcAddr: [0xc0000201, 0, 0, 0],
      dstAddr: [0xc6336402, 0, 0, 0],
      srcPort: 49152,
      dstPort: 443,
      protocol: 6,
      icmpTypeCode: 0,
      octets: 4_886_718_345,
      packets: 1000,
      tcpFlags: 0x1b,
      tos: 0x28,
      minTtl: 60,
      maxTtl: 64,
      srcMac: 0x001122334455,
      dstMac: 0x66778899aabb,
      vlanId: 100,
      ingressInterface: 3,
      startMs: 1_700_000_000_123,
      endMs: 1_700_000_060_456,
      endReason: 3,
    }),
  );
  builder.add(
    fillRecord(rec, {
      ipVersion: 6,
      srcAddr: [0x20010db8, 0, 0, 1],
      dstAddr: [0x20010db8, 0, 0, 2],
      srcPort: 0,
      dstPort: 0,
      protocol: 58,
      icmpTypeCode: 0x8000,
      octets: 1500,
      packets: 1,
      tcpFlags: 0,
      tos: 0,
      minTtl: 255,
      maxTtl: 255,
      srcMac: 0x02aabbccddee,
      dstMac: 0xffffffffffff,
      vlanId: 4095,
      ingressInterface: 4_294_967_294,
      startMs: 1_700_000_001_000,
      endMs: 1_700_000_001_000,
      endReason: 1,
    }),
  );
  assert.equal(transport.messages.length, 0, 'nothing is sent before flush');
  builder.flush(0);
  assert.equal(transport.messages.length, 1);
  assert.equal(Buffer.from(transport.messages[0] ?? []).toString('hex'), Buffer.from(EXPECTED).toString('hex'));
  assert.equal(EXPECTED.length, 364);
  assert.equal(builder.nextSequenceNumber, 1002);
  assert.deepEqual(builder.stats, { messages_total: 1, records_total: 2, octets_total: 364, options_records_total: 0, template_sets_total: 1 });
});
