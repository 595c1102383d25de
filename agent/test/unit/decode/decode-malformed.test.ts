import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DECODE_STATUS_NAMES } from '../../../src/decode/decode-status.js';
import { decode } from './decode-test-helpers.js';
import { hex, repeat } from './hex-fixture.js';
import { ETH_IPV4, ETH_IPV6, ethernet, ipv6, IPV4_OPTIONS_TCP, IPV4_TCP, TCP_SYN, UDP_4_BYTES } from './packet-fixtures.js';

interface Case {
  name: string;
  bytes: Uint8Array;
  expected: string;
  linkType?: number;
  /** Defaults to the captured length; larger means the snaplen cut the frame. */
  wireLen?: number;
}

const IPV4_TCP_PACKET = hex(ETH_IPV4, IPV4_TCP, TCP_SYN);
const V4_ADDRESSES = '0a000001 0a000002';
const BIG_WIRE = 14 + 40 + 70_000;
const destinationOptions = (next: string): string => `
  # Destination Options: next ${next} | length 0 | PadN 4
  ${next} 00 01 04 00000000`;

const cases: Case[] = [
  // link layer
  { name: 'Ethernet header cut at 13 bytes', bytes: IPV4_TCP_PACKET.subarray(0, 13), wireLen: 54, expected: 'truncated_link' },
  { name: '802.1Q tag cut after the TCI', bytes: hex(ethernet('8100', '802.1Q'), '0064'), wireLen: 60, expected: 'truncated_link' },
  { name: 'MPLS label cut', bytes: hex(ethernet('8847', 'MPLS'), '003e'), wireLen: 60, expected: 'truncated_link' },
  { name: 'MPLS stack fills the capture', bytes: hex(ethernet('8847', 'MPLS'), '# label 16, S 1\n00010140'), wireLen: 60, expected: 'truncated_link' },
  { name: 'PPPoE header without the PPP protocol', bytes: hex(ethernet('8864', 'PPPoE'), '11 00 1234 0036'), wireLen: 60, expected: 'truncated_link' },
  { name: 'SLL header cut at 15 bytes', bytes: hex('0000 0001 0006 66778899aabb 0000 08'), linkType: 113, wireLen: 60, expected: 'truncated_link' },
  { name: 'SLL2 header cut at 19 bytes', bytes: hex('0800 0000 00000002 0001 00 06 66778899aabb 00'), linkType: 276, wireLen: 60, expected: 'truncated_link' },
  { name: 'NULL header cut at 3 bytes', bytes: hex('020000'), linkType: 0, wireLen: 44, expected: 'truncated_link' },
  {
    name: 'nine VLAN tags',
    bytes: hex(ethernet('8100', '802.1Q'), repeat('# VID 7, next 0x8100\n0007 8100', 8), '# VID 7, next IPv4\n0007 0800', IPV4_TCP, TCP_SYN),
    expected: 'too_many_link_layers',
  },
  { name: 'seventeen MPLS labels', bytes: hex(ethernet('8847', 'MPLS'), repeat('# label 16, S 0\n00010040', 17), IPV4_TCP, TCP_SYN), expected: 'too_many_link_layers' },
  { name: 'ARP', bytes: hex(ethernet('0806', 'ARP'), repeat('00', 28)), expected: 'not_ip' },
  { name: 'link type 105 (802.11)', bytes: IPV4_TCP_PACKET, linkType: 105, expected: 'unsupported_link' },

  // IP layer
  { name: 'frame ends after the EtherType', bytes: IPV4_TCP_PACKET.subarray(0, 14), wireLen: 54, expected: 'truncated_ip' },
  { name: 'IPv4 header cut at 19 bytes', bytes: IPV4_TCP_PACKET.subarray(0, 14 + 19), wireLen: 54, expected: 'truncated_ip' },
  { name: 'IPv4 options not captured (IHL 6, 20 bytes)', bytes: hex(ETH_IPV4, IPV4_OPTIONS_TCP).subarray(0, 14 + 20), wireLen: 58, expected: 'truncated_ip' },
  { name: 'IPv6 header cut at 39 bytes', bytes: hex(ETH_IPV6, ipv6('0014', '06', 'TCP')).subarray(0, 14 + 39), wireLen: 74, expected: 'truncated_ip' },
  { name: 'EtherType IPv4 carrying version 6', bytes: hex(ETH_IPV4, ipv6('000c', '11', 'UDP'), UDP_4_BYTES), expected: 'bad_ip_version' },
  { name: 'EtherType IPv6 carrying version 4', bytes: hex(ETH_IPV6, IPV4_TCP, TCP_SYN), expected: 'bad_ip_version' },
  { name: 'IPv4 IHL 4', bytes: hex(ETH_IPV4, `# IPv4: IHL 4 (16 bytes) | total length 40 | TTL 64 | TCP\n44 00 0028 0001 0000 40 06 0000 ${V4_ADDRESSES}`, TCP_SYN), expected: 'bad_ipv4_header_length' },
  { name: 'IPv4 total length beyond the wire', bytes: hex(ETH_IPV4, `# IPv4: total length 256 in a 40-byte packet\n45 00 0100 0001 0000 40 06 0000 ${V4_ADDRESSES}`, TCP_SYN), expected: 'bad_ip_length' },
  { name: 'IPv4 total length below the header', bytes: hex(ETH_IPV4, `# IPv4: total length 16 < IHL * 4\n45 00 0010 0001 0000 40 06 0000 ${V4_ADDRESSES}`, TCP_SYN), expected: 'bad_ip_length' },
  { name: 'IPv6 payload length beyond the wire', bytes: hex(ETH_IPV6, ipv6('0100', '11', 'UDP'), UDP_4_BYTES), expected: 'bad_ip_length' },
  {
    name: 'Jumbo Payload below 65536',
    bytes: hex(ETH_IPV6, ipv6('0000', '00', 'Hop-by-Hop'), '# HBH: next TCP | len 0 | Jumbo 65535\n06 00 c2 04 0000ffff', TCP_SYN),
    wireLen: BIG_WIRE,
    expected: 'bad_ip_length',
  },
  {
    name: 'payload length 0 with Hop-by-Hop but no Jumbo Payload',
    bytes: hex(ETH_IPV6, ipv6('0000', '00', 'Hop-by-Hop'), '# HBH: next TCP | len 0 | PadN 4\n06 00 01 04 00000000', TCP_SYN),
    wireLen: BIG_WIRE,
    expected: 'bad_ip_length',
  },

  // IPv6 extension headers
  { name: 'capture ends where a Hop-by-Hop header starts', bytes: hex(ETH_IPV6, ipv6('0014', '00', 'Hop-by-Hop')), wireLen: 94, expected: 'truncated_ipv6_extension' },
  {
    name: 'Hop-by-Hop (16 bytes) cut by the snaplen at 8',
    bytes: hex(ETH_IPV6, ipv6('0018', '00', 'Hop-by-Hop'), '# HBH: next UDP | length 1 (16 bytes) | PadN 4 (first 8 bytes only)\n11 01 01 04 00000000'),
    wireLen: 14 + 40 + 24,
    expected: 'truncated_ipv6_extension',
  },
  {
    name: 'Destination Options running past the payload length',
    bytes: hex(ETH_IPV6, ipv6('0008', '3c', 'Destination Options'), '# DO: next 59 | length 1 (16 bytes) | PadN 14\n3b 01 01 0e 0000000000000000 00000000'),
    expected: 'truncated_ipv6_extension',
  },
  {
    name: 'nine extension headers',
    bytes: hex(ETH_IPV6, ipv6('0054', '3c', 'Destination Options'), repeat(destinationOptions('3c'), 8), destinationOptions('11'), UDP_4_BYTES),
    expected: 'too_many_ipv6_extensions',
  },

  // transport
  { name: 'TCP ports cut at 3 bytes', bytes: IPV4_TCP_PACKET.subarray(0, 14 + 20 + 3), wireLen: 54, expected: 'truncated_transport' },
  { name: 'TCP data offset 3', bytes: hex(ETH_IPV4, IPV4_TCP, '# TCP: 1234 -> 80 | seq | ack | data offset 3 (!), SYN | window | csum | urg\n04d2 0050 00000001 00000000 3002 ffff 0000 0000'), expected: 'bad_transport_header' },
  { name: 'TCP data offset 15 in a 20-byte payload', bytes: hex(ETH_IPV4, IPV4_TCP, '# TCP: data offset 15 (60 bytes) (!)\n04d2 0050 00000001 00000000 f002 ffff 0000 0000'), expected: 'bad_transport_header' },
  {
    name: 'TCP in a 12-byte IP payload (not a fragment)',
    bytes: hex(ETH_IPV4, `# IPv4: total length 32 | TCP\n45 00 0020 0001 0000 40 06 0000 ${V4_ADDRESSES}`, '# TCP, 12 bytes\n04d2 0050 00000001 00000000'),
    expected: 'bad_transport_header',
  },
  {
    name: 'UDP length 7',
    bytes: hex(ETH_IPV4, `# IPv4: total length 32 | UDP\n45 00 0020 0001 0000 40 11 0000 ${V4_ADDRESSES}`, '# UDP: 5353 -> 53 | length 7 (!) | checksum | 4 bytes\n14e9 0035 0007 0000 deadbeef'),
    expected: 'bad_transport_header',
  },
];

describe('malformed packets get their status', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.expected}`, () => {
      assert.equal(decode(c.bytes, c.linkType ?? 1, c.wireLen ?? c.bytes.length).status, c.expected);
    });
  }

  it('every status except ok appears in the table above', () => {
    const covered = new Set(cases.map((c) => c.expected));
    assert.deepEqual(DECODE_STATUS_NAMES.filter((name) => name !== 'ok' && !covered.has(name)), []);
  });

  it('eight extension headers are still followed (the bound is inclusive)', () => {
    const eight = hex(ETH_IPV6, ipv6('004c', '3c', 'Destination Options'), repeat(destinationOptions('3c'), 7), destinationOptions('11'), UDP_4_BYTES);
    const { status, view } = decode(eight);
    assert.equal(status, 'ok');
    assert.equal(view.dstPort, 53);
  });
});
