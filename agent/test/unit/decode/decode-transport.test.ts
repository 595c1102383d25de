import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from './decode-test-helpers.js';
import { hex } from './hex-fixture.js';
import {
  ETH_IPV4, ETH_IPV6, ICMP_ECHO, ICMPV6_ECHO, IPV4_ICMP, IPV4_SCTP, IPV4_TCP, IPV4_UDP, IPV6_ICMPV6, IPV6_TCP, SCTP_COMMON,
  TCP_AE_SYN_ACK, TCP_SYN, UDP_4_BYTES,
} from './packet-fixtures.js';

const FULL_TCP = hex(ETH_IPV4, IPV4_TCP, TCP_SYN);

describe('transport', () => {
  it('TCP flags include the AE bit as 0x100; seq, ack and window are read', () => {
    const { status, view } = decode(hex(ETH_IPV6, IPV6_TCP, TCP_AE_SYN_ACK));
    assert.equal(status, 'ok');
    assert.equal(view.tcpFlags, 0x1d2);
    assert.deepEqual([view.srcPort, view.dstPort], [80, 1234]);
    assert.equal(view.tcpSeq, 0x80000000); // u32, not negative
    assert.equal(view.tcpAck, 2);
    assert.equal(view.tcpWindow, 512);
  });

  it('ICMP: type/code as dstPort and icmpTypeCode, srcPort 0', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_ICMP, ICMP_ECHO));
    assert.equal(status, 'ok');
    assert.deepEqual([view.protocol, view.srcPort, view.dstPort, view.icmpTypeCode], [1, 0, 0x0800, 0x0800]);
  });

  it('ICMPv6: type/code the same way', () => {
    const { status, view } = decode(hex(ETH_IPV6, IPV6_ICMPV6, ICMPV6_ECHO));
    assert.equal(status, 'ok');
    assert.deepEqual([view.protocol, view.srcPort, view.dstPort, view.icmpTypeCode], [58, 0, 0x8000, 0x8000]);
  });

  it('SCTP: ports from the common header', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_SCTP, SCTP_COMMON));
    assert.equal(status, 'ok');
    assert.deepEqual([view.protocol, view.srcPort, view.dstPort], [132, 5000, 5001]);
  });

  it('UDP: ports and payload length', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_UDP, UDP_4_BYTES));
    assert.equal(status, 'ok');
    assert.deepEqual([view.srcPort, view.dstPort, view.payloadLength], [5353, 53, 4]);
  });

  it('tunnels are metered as the outer packet: GRE has protocol 47 and no ports', () => {
    const gre = hex(ETH_IPV4, `
      # outer IPv4: IHL 5 | total length 64 | TTL 64 | protocol 47 (GRE) | 192.0.2.1 -> 192.0.2.2
      45 00 0040 0001 0000 40 2f 0000 c0000201 c0000202
      # GRE: no flags, version 0 | protocol 0x0800 (IPv4)
      0000 0800`, IPV4_TCP, TCP_SYN);
    const { status, view } = decode(gre);
    assert.equal(status, 'ok');
    assert.deepEqual([view.protocol, view.srcPort, view.dstPort, view.srcAddr[0]], [47, 0, 0, 0xc0000201]);
  });
});

describe('snaplen-truncated packets still decode what they captured', () => {
  it('ports captured, flags not: OK with flags 0 and the IP length from the header', () => {
    const portsOnly = FULL_TCP.subarray(0, 14 + 20 + 4);
    const { status, view } = decode(portsOnly, 1, FULL_TCP.length);
    assert.equal(status, 'ok');
    assert.deepEqual([view.srcPort, view.dstPort, view.tcpFlags, view.tcpSeq, view.ipLength], [1234, 80, 0, 0, 40]);
  });

  it('flags captured, window not: flags read, window 0', () => {
    const upToFlags = FULL_TCP.subarray(0, 14 + 20 + 14);
    const { status, view } = decode(upToFlags, 1, FULL_TCP.length);
    assert.equal(status, 'ok');
    assert.deepEqual([view.tcpFlags, view.tcpAck, view.tcpWindow], [0x02, 0, 0]);
  });

  it('a 1500-byte packet cut to 64 bytes: IP length and payload length from the headers', () => {
    const bytes = hex(ETH_IPV4, `
      # IPv4: IHL 5 | total length 1500 | DF | TTL 64 | TCP
      45 00 05dc 0001 4000 40 06 0000 0a000001 0a000002`, TCP_SYN, '00000000 00000000 00000000 0000');
    const { status, view } = decode(bytes, 1, 14 + 1500);
    assert.equal(status, 'ok');
    assert.deepEqual([view.ipLength, view.payloadLength, view.dstPort], [1500, 1460, 80]);
  });

  it('ports not captured: truncated transport', () => {
    assert.equal(decode(FULL_TCP.subarray(0, 14 + 20 + 3), 1, FULL_TCP.length).status, 'truncated_transport');
    const icmp = hex(ETH_IPV4, IPV4_ICMP, ICMP_ECHO);
    assert.equal(decode(icmp.subarray(0, 14 + 20 + 1), 1, icmp.length).status, 'truncated_transport');
  });
});
