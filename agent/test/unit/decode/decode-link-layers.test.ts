import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLinkedPacket } from '../../../src/decode/decode-packet.js';
import { linkDecoderFor } from '../../../src/decode/link-decoders.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { decode, statusName } from './decode-test-helpers.js';
import { hex, repeat } from './hex-fixture.js';
import {
  DST_MAC, ETH_IPV4, ethernet, IPV4_DST, IPV4_SRC, IPV4_TCP, IPV4_UDP, IPV6_SRC, IPV6_UDP, SRC_MAC, TCP_SYN, UDP_4_BYTES,
} from './packet-fixtures.js';

const IPV4_TCP_PACKET = IPV4_TCP + TCP_SYN;
const IPV4_UDP_PACKET = IPV4_UDP + UDP_4_BYTES;
const IPV6_UDP_PACKET = IPV6_UDP + UDP_4_BYTES;

function assertIpv4Tcp(view: PacketView): void {
  assert.equal(view.ipVersion, 4);
  assert.equal(view.srcAddr[0], IPV4_SRC);
  assert.equal(view.dstAddr[0], IPV4_DST);
  assert.equal(view.protocol, 6);
  assert.equal(view.srcPort, 1234);
  assert.equal(view.dstPort, 80);
}

describe('Ethernet', () => {
  it('Ethernet / IPv4 / TCP: MACs, addresses, ports, flags, lengths', () => {
    const { status, view } = decode(hex(ETH_IPV4, IPV4_TCP_PACKET));
    assert.equal(status, 'ok');
    assertIpv4Tcp(view);
    assert.equal(view.srcMac, SRC_MAC);
    assert.equal(view.dstMac, DST_MAC);
    assert.equal(view.tcpFlags, 0x02);
    assert.equal(view.tcpSeq, 1);
    assert.equal(view.tcpWindow, 0xffff);
    assert.equal(view.ipLength, 40);
    assert.equal(view.payloadLength, 0);
    assert.equal(view.ttl, 64);
    assert.equal(view.fragmentId, 0x1234);
    assert.equal(view.isFragment, 0);
    assert.equal(view.vlanId, 0);
    assert.equal(view.l3Offset, 14);
    assert.equal(view.l4Offset, 34);
  });

  it('802.1Q tag: VLAN id from the TCI (PCP/DEI bits masked off)', () => {
    const tagged = hex(ethernet('8100', '802.1Q'), `
      # 802.1Q TCI: PCP 5, DEI 1, VID 100 | EtherType 0x0800
      b064 0800`, IPV4_UDP_PACKET);
    const { status, view } = decode(tagged);
    assert.equal(status, 'ok');
    assert.equal(view.vlanId, 100);
    assert.equal(view.innerVlanId, 0);
    assert.equal(view.srcPort, 5353);
    assert.equal(view.l3Offset, 18);
  });

  it('QinQ (802.1ad S-tag + 802.1Q C-tag): outer and inner VLAN ids', () => {
    const qinq = hex(ethernet('88a8', '802.1ad'), `
      # S-tag TCI: VID 200 | EtherType 0x8100
      00c8 8100
      # C-tag TCI: VID 300 | EtherType 0x0800
      012c 0800`, IPV4_TCP_PACKET);
    const { status, view } = decode(qinq);
    assert.equal(status, 'ok');
    assert.equal(view.vlanId, 200);
    assert.equal(view.innerVlanId, 300);
    assertIpv4Tcp(view);
  });

  it('triple tag (0x9100, 0x88a8, 0x8100): outermost two ids kept, IP still found', () => {
    const triple = hex(ethernet('9100', 'legacy QinQ'), `
      # tag 1: VID 10 | next 0x88a8
      000a 88a8
      # tag 2: VID 20 | next 0x8100
      0014 8100
      # tag 3: VID 30 | next 0x0800
      001e 0800`, IPV4_TCP_PACKET);
    const { status, view } = decode(triple);
    assert.equal(status, 'ok');
    assert.equal(view.vlanId, 10);
    assert.equal(view.innerVlanId, 20);
    assert.equal(view.l3Offset, 26);
    assertIpv4Tcp(view);
  });

  it('eight tags decode; a ninth is too many link layers', () => {
    const tag = `
      # 802.1Q TCI VID 7 | next 0x8100
      0007 8100`;
    const lastTag = `
      # 802.1Q TCI VID 7 | next 0x0800
      0007 0800`;
    assert.equal(decode(hex(ethernet('8100', '802.1Q'), repeat(tag, 7), lastTag, IPV4_TCP_PACKET)).status, 'ok');
    assert.equal(decode(hex(ethernet('8100', '802.1Q'), repeat(tag, 8), lastTag, IPV4_TCP_PACKET)).status, 'too_many_link_layers');
  });

  it('MPLS, two labels, then IPv4 guessed from the version nibble', () => {
    const mpls = hex(ethernet('8847', 'MPLS unicast'), `
      # MPLS: label 1000, TC 0, S 0, TTL 64
      003e8040
      # MPLS: label 2000, TC 0, S 1 (bottom of stack), TTL 64
      007d0140`, IPV4_UDP_PACKET);
    const { status, view } = decode(mpls);
    assert.equal(status, 'ok');
    assert.equal(view.l3Offset, 22);
    assert.equal(view.srcPort, 5353);
    assert.equal(view.dstPort, 53);
  });

  it('MPLS multicast with IPv6 after the bottom label', () => {
    const mpls = hex(ethernet('8848', 'MPLS multicast'), `
      # MPLS: label 2 (IPv6 explicit null), S 1, TTL 64
      00002140`, IPV6_UDP_PACKET);
    const { status, view } = decode(mpls);
    assert.equal(status, 'ok');
    assert.equal(view.ipVersion, 6);
  });

  it('MPLS pseudowire (control word, then Ethernet) is not IP', () => {
    const pseudowire = hex(ethernet('8847', 'MPLS'), `
      # MPLS: label 16, S 1, TTL 64
      00010140
      # pseudowire control word (first nibble 0)
      00000000`, ethernet('0800', 'inner Ethernet'), IPV4_TCP_PACKET);
    assert.equal(decode(pseudowire).status, 'not_ip');
  });

  it('16 labels decode; 17 without bottom of stack are too many', () => {
    const label = `
      # MPLS: label 16, S 0, TTL 64
      00010040`;
    const bottom = `
      # MPLS: label 16, S 1, TTL 64
      00010140`;
    assert.equal(decode(hex(ethernet('8847', 'MPLS'), repeat(label, 15), bottom, IPV4_TCP_PACKET)).status, 'ok');
    assert.equal(decode(hex(ethernet('8847', 'MPLS'), repeat(label, 17), IPV4_TCP_PACKET)).status, 'too_many_link_layers');
  });

  it('PPPoE session carrying IPv4 and IPv6; LCP is not IP', () => {
    const pppoe = (protocol: string): string => `
      # PPPoE: version 1, type 1 | code 0 (session data) | session id 0x1234 | length
      11 00 1234 0036
      # PPP protocol ${protocol}
      ${protocol}`;
    const v4 = decode(hex(ethernet('8864', 'PPPoE session'), pppoe('0021'), IPV4_TCP_PACKET));
    assert.equal(v4.status, 'ok');
    assertIpv4Tcp(v4.view);
    assert.equal(decode(hex(ethernet('8864', 'PPPoE session'), pppoe('0057'), IPV6_UDP_PACKET)).view.ipVersion, 6);
    assert.equal(decode(hex(ethernet('8864', 'PPPoE session'), pppoe('c021'), '01 01 0004')).status, 'not_ip');
  });

  it('ARP and 802.3 length-field frames are not IP', () => {
    assert.equal(decode(hex(ethernet('0806', 'ARP'), '0001 0800 06 04 0001', repeat('00', 20))).status, 'not_ip');
    const llc = hex(ethernet('0026', '802.3 length 38'), `
      # LLC: DSAP 0x42, SSAP 0x42 (STP), control 0x03, then BPDU bytes
      42 42 03`, repeat('00', 35));
    assert.equal(decode(llc).status, 'not_ip');
  });
});

describe('Linux cooked captures', () => {
  it('SLL (113): sender MAC and the IPv4 packet', () => {
    const sll = hex(`
      # SLL: packet type 0 (to us) | ARPHRD 1 (Ethernet) | address length 6 | address 66:77:88:99:aa:bb + 2 pad | protocol 0x0800
      0000 0001 0006 66778899aabb 0000 0800`, IPV4_TCP_PACKET);
    const { status, view } = decode(sll, 113);
    assert.equal(status, 'ok');
    assertIpv4Tcp(view);
    assert.equal(view.srcMac, SRC_MAC);
    assert.equal(view.dstMac, 0);
    assert.equal(view.l3Offset, 16);
  });

  it('SLL with an 802.1Q tag in the payload', () => {
    const sll = hex(`
      # SLL: packet type 4 (outgoing) | ARPHRD 1 | address length 6 | address + pad | protocol 0x8100
      0004 0001 0006 66778899aabb 0000 8100
      # 802.1Q: VID 42 | next 0x0800
      002a 0800`, IPV4_TCP_PACKET);
    const { status, view } = decode(sll, 113);
    assert.equal(status, 'ok');
    assert.equal(view.vlanId, 42);
  });

  it('SLL2 (276): protocol first, 20-byte header, IPv6', () => {
    const sll2 = hex(`
      # SLL2: protocol 0x86dd | reserved | interface index 2 | ARPHRD 1 | packet type 0 | address length 6 | address + 2 pad
      86dd 0000 00000002 0001 00 06 66778899aabb 0000`, IPV6_UDP_PACKET);
    const { status, view } = decode(sll2, 276);
    assert.equal(status, 'ok');
    assert.equal(view.ipVersion, 6);
    assert.deepEqual([...view.srcAddr], IPV6_SRC);
    assert.equal(view.srcMac, SRC_MAC);
    assert.equal(view.l3Offset, 20);
  });
});

describe('loopback and raw IP links', () => {
  it('NULL (0): AF_INET in either byte order', () => {
    const littleEndian = decode(hex(`
      # NULL: family 2 (AF_INET), little-endian capture host
      02000000`, IPV4_TCP_PACKET), 0);
    const bigEndian = decode(hex(`
      # NULL: family 2 (AF_INET), big-endian capture host
      00000002`, IPV4_TCP_PACKET), 0);
    for (const { status, view } of [littleEndian, bigEndian]) {
      assert.equal(status, 'ok');
      assertIpv4Tcp(view);
      assert.equal(view.l3Offset, 4);
    }
  });

  it('NULL: the BSD AF_INET6 values 24, 28, 30; other families are not IP', () => {
    for (const family of ['18000000', '0000001c', '1e000000']) {
      assert.equal(decode(hex(`# NULL family ${family}\n${family}`, IPV6_UDP_PACKET), 0).view.ipVersion, 6, family);
    }
    assert.equal(decode(hex('# NULL family 7 (not an IP family)\n07000000', IPV4_TCP_PACKET), 0).status, 'not_ip');
  });

  it('LOOP (108): network byte order only', () => {
    assert.equal(decode(hex('# LOOP: AF_INET, network order\n00000002', IPV4_TCP_PACKET), 108).status, 'ok');
    assert.equal(decode(hex('# LOOP: 0x02000000 is no family\n02000000', IPV4_TCP_PACKET), 108).status, 'not_ip');
  });

  it('raw IP: 101, 12 and 14 by version nibble; 228 IPv4 only; 229 IPv6 only', () => {
    for (const linkType of [101, 12, 14]) {
      assert.equal(decode(hex(IPV4_TCP_PACKET), linkType).view.ipVersion, 4, `${linkType}`);
      assert.equal(decode(hex(IPV6_UDP_PACKET), linkType).view.ipVersion, 6, `${linkType}`);
    }
    const v4 = decode(hex(IPV4_TCP_PACKET), 228);
    assert.equal(v4.status, 'ok');
    assertIpv4Tcp(v4.view);
    assert.equal(v4.view.l3Offset, 0);
    assert.equal(decode(hex(IPV6_UDP_PACKET), 229).status, 'ok');
    assert.equal(decode(hex(IPV6_UDP_PACKET), 228).status, 'bad_ip_version');
    assert.equal(decode(hex(IPV4_TCP_PACKET), 229).status, 'bad_ip_version');
    assert.equal(decode(hex('# version 5\n55', repeat('00', 39)), 101).status, 'bad_ip_version');
  });

  it('other link types are unsupported', () => {
    for (const linkType of [9, 104, 105, 127, 239, 0x10001]) {
      assert.equal(decode(hex(IPV4_TCP_PACKET), linkType).status, 'unsupported_link', `${linkType}`);
    }
  });
});

describe('link decoder picked at start-up', () => {
  it('decodeLinkedPacket(linkDecoderFor(t)) matches decodePacket for every supported link type', () => {
    const view = new PacketView();
    const cases: [number, Uint8Array][] = [
      [1, hex(ETH_IPV4, IPV4_TCP_PACKET)],
      [0, hex('02000000', IPV4_TCP_PACKET)],
      [101, hex(IPV6_UDP_PACKET)],
    ];
    for (const [linkType, bytes] of cases) {
      const link = linkDecoderFor(linkType);
      assert.ok(link !== null);
      const status = decodeLinkedPacket(link, bytes, 0, bytes.length, bytes.length, view);
      const reference = decode(bytes, linkType);
      assert.equal(statusName(status), reference.status);
      assert.equal(view.dstPort, reference.view.dstPort);
    }
    assert.equal(linkDecoderFor(105), null);
  });
});
