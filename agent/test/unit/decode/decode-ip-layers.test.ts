import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from './decode-test-helpers.js';
import { hex } from './hex-fixture.js';
import {
  ETH_IPV4, ETH_IPV6, ipv6, IPV4_FIRST_FRAGMENT_TCP_8_BYTES, IPV4_FIRST_FRAGMENT_UDP, IPV4_LAST_FRAGMENT_UDP, IPV4_OPTIONS_TCP,
  IPV4_TCP, IPV6_AH_UDP, IPV6_DST, IPV6_EXTENSION_CHAIN_TCP, IPV6_FIRST_FRAGMENT_UDP, IPV6_JUMBO_TCP, IPV6_LAST_FRAGMENT_UDP,
  IPV6_SRC, TCP_SYN, UDP_4_BYTES,
} from './packet-fixtures.js';

const ETH_BYTES = 14;

describe('IPv4', () => {
  it('IHL 6: options skipped, transport found after them', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_OPTIONS_TCP, TCP_SYN));
    assert.equal(status, 'ok');
    assert.equal(view.l4Offset, ETH_BYTES + 24);
    assert.equal(view.srcPort, 1234);
    assert.equal(view.dstPort, 80);
    assert.equal(view.tos, 0x10);
    assert.equal(view.ttl, 63);
    assert.equal(view.ipLength, 44);
  });

  it('Ethernet padding after a short packet is not counted or read', () => {
    const padded = hex(ETH_IPV4, IPV4_TCP, TCP_SYN, '# Ethernet padding\n000000000000');
    const { status, view } = decode(padded);
    assert.equal(status, 'ok');
    assert.equal(view.ipLength, 40);
    assert.equal(view.payloadLength, 0);
  });

  it('total length 0 (TSO / BIG TCP): the IP length comes from the wire length', () => {
    const tso = hex(ETH_IPV4, `
      # IPv4: IHL 5 | total length 0 (TSO: filled in by the NIC) | id 1 | DF | TTL 64 | TCP
      45 00 0000 0001 4000 40 06 0000 0a000001 0a000002`, TCP_SYN);
    const wireLen = ETH_BYTES + 80_000;
    const { status, view } = decode(tso, 1, wireLen);
    assert.equal(status, 'ok');
    assert.equal(view.ipLength, 80_000);
    assert.equal(view.payloadLength, 80_000 - 40);
    assert.equal(view.srcPort, 1234);
  });

  it('first fragment: ports read, fragment fields set', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_FIRST_FRAGMENT_UDP, UDP_4_BYTES));
    assert.equal(status, 'ok');
    assert.deepEqual([view.isFragment, view.fragmentOffset, view.moreFragments, view.fragmentId], [1, 0, 1, 0x4321]);
    assert.deepEqual([view.srcPort, view.dstPort], [5353, 53]);
  });

  it('non-first fragment: no transport header, ports 0', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_LAST_FRAGMENT_UDP));
    assert.equal(status, 'ok');
    assert.deepEqual([view.isFragment, view.fragmentOffset, view.moreFragments, view.fragmentId], [1, 185, 0, 0x4321]);
    assert.deepEqual([view.protocol, view.srcPort, view.dstPort, view.l4Offset], [17, 0, 0, -1]);
    assert.equal(view.payloadLength, 16);
  });

  it('first fragment holding only 8 bytes of TCP: ports and seq, flags unknown (0), not malformed', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_FIRST_FRAGMENT_TCP_8_BYTES));
    assert.equal(status, 'ok');
    assert.deepEqual([view.srcPort, view.dstPort, view.tcpSeq, view.tcpFlags], [1234, 80, 1, 0]);
  });
});

describe('IPv6', () => {
  it('Hop-by-Hop, Routing, Fragment (first), Destination Options, then TCP', () => {
    const { status, view } = decode(hex(ETH_IPV6, IPV6_EXTENSION_CHAIN_TCP('0001', 'offset 0, M 1: first fragment'), TCP_SYN));
    assert.equal(status, 'ok');
    assert.equal(view.ipVersion, 6);
    assert.deepEqual([...view.srcAddr], IPV6_SRC);
    assert.deepEqual([...view.dstAddr], IPV6_DST);
    assert.equal(view.tos, 0xb8);
    assert.equal(view.protocol, 6);
    assert.equal(view.l4Offset, ETH_BYTES + 40 + 32);
    assert.deepEqual([view.srcPort, view.dstPort, view.tcpFlags], [1234, 80, 0x02]);
    assert.deepEqual([view.isFragment, view.fragmentOffset, view.moreFragments, view.fragmentId], [1, 0, 1, 0xdeadbeef]);
    assert.equal(view.ipLength, 92);
  });

  it('an atomic fragment (offset 0, M 0) is not a fragment', () => {
    const { status, view } = decode(hex(ETH_IPV6, IPV6_EXTENSION_CHAIN_TCP('0000', 'atomic fragment'), TCP_SYN));
    assert.equal(status, 'ok');
    assert.equal(view.isFragment, 0);
    assert.equal(view.dstPort, 80);
  });

  it('AH: length in 4-octet units + 2, then UDP', () => {
    const { status, view } = decode(hex(ETH_IPV6, IPV6_AH_UDP, UDP_4_BYTES));
    assert.equal(status, 'ok');
    assert.equal(view.protocol, 17);
    assert.equal(view.l4Offset, ETH_BYTES + 40 + 24);
    assert.deepEqual([view.srcPort, view.dstPort], [5353, 53]);
  });

  it('ESP ends the walk: protocol 50, no ports, OK', () => {
    const esp = hex(ETH_IPV6, ipv6('0010', '32', 'ESP'), '# ESP: SPI 0x100 | sequence 1 | 8 encrypted bytes\n00000100 00000001 0011223344556677');
    const { status, view } = decode(esp);
    assert.equal(status, 'ok');
    assert.deepEqual([view.protocol, view.srcPort, view.dstPort], [50, 0, 0]);
  });

  it('Jumbo Payload: IP length from the option (packet cut by the snaplen)', () => {
    const bytes = hex(ETH_IPV6, IPV6_JUMBO_TCP, TCP_SYN);
    const { status, view } = decode(bytes, 1, ETH_BYTES + 40 + 70_000);
    assert.equal(status, 'ok');
    assert.equal(view.ipLength, 70_040);
    assert.equal(view.payloadLength, 70_000 - 8 - 20);
    assert.equal(view.dstPort, 80);
  });

  it('payload length 0 without Hop-by-Hop: BIG TCP when the frame exceeds 64 KiB, else bad length', () => {
    const bigTcp = hex(ETH_IPV6, ipv6('0000', '06', 'TCP'), TCP_SYN);
    const big = decode(bigTcp, 1, ETH_BYTES + 40 + 70_000);
    assert.equal(big.status, 'ok');
    assert.equal(big.view.ipLength, 70_040);
    assert.equal(decode(bigTcp, 1, ETH_BYTES + 40 + 1_000).status, 'bad_ip_length');
  });

  it('payload length 0 with No Next Header is an empty 40-byte packet', () => {
    const empty = hex(ETH_IPV6, ipv6('0000', '3b', 'No Next Header'), '# Ethernet padding\n000000000000');
    const { status, view } = decode(empty);
    assert.equal(status, 'ok');
    assert.deepEqual([view.protocol, view.ipLength], [59, 40]);
  });

  it('first fragment: ports; non-first fragment: protocol from the fragment header, ports 0', () => {
    const first = decode(hex(ETH_IPV6, IPV6_FIRST_FRAGMENT_UDP, UDP_4_BYTES));
    assert.equal(first.status, 'ok');
    assert.deepEqual([first.view.isFragment, first.view.moreFragments, first.view.fragmentId, first.view.dstPort], [1, 1, 0xabcd, 53]);
    const last = decode(hex(ETH_IPV6, IPV6_LAST_FRAGMENT_UDP));
    assert.equal(last.status, 'ok');
    assert.deepEqual([last.view.isFragment, last.view.fragmentOffset, last.view.moreFragments, last.view.fragmentId], [1, 23, 0, 0xabcd]);
    assert.deepEqual([last.view.protocol, last.view.srcPort, last.view.dstPort, last.view.l4Offset], [17, 0, 0, -1]);
    assert.equal(last.view.ipLength, 64);
  });
});
