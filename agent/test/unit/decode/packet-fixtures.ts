/**
 * Hand-made layers for the decoder tests, each field commented. Checksums are zero: the decoder
 * never verifies them. Addresses: 10.0.0.1 → 10.0.0.2 and 2001:db8::1 → 2001:db8::2; MACs
 * 66:77:88:99:aa:bb → 00:11:22:33:44:55.
 */
import { hex } from './hex-fixture.js';

export const SRC_MAC = 0x66778899aabb;
export const DST_MAC = 0x001122334455;
export const IPV4_SRC = 0x0a000001;
export const IPV4_DST = 0x0a000002;
export const IPV6_SRC = [0x20010db8, 0, 0, 1];
export const IPV6_DST = [0x20010db8, 0, 0, 2];

export const ethernet = (etherType: string, what: string): string => `
  # Ethernet II: dst 00:11:22:33:44:55 | src 66:77:88:99:aa:bb | EtherType ${etherType} (${what})
  001122334455 66778899aabb ${etherType}`;

export const ETH_IPV4 = ethernet('0800', 'IPv4');
export const ETH_IPV6 = ethernet('86dd', 'IPv6');

const V4_ADDRESSES = `
  # src 10.0.0.1 | dst 10.0.0.2
  0a000001 0a000002`;
const V6_ADDRESSES = `
  # src 2001:db8::1
  20010db8 00000000 00000000 00000001
  # dst 2001:db8::2
  20010db8 00000000 00000000 00000002`;

// ---- IPv4 headers (20 bytes unless said) ----

export const IPV4_TCP = `
  # IPv4: version 4, IHL 5 | TOS 0 | total length 40 | id 0x1234 | DF, offset 0 | TTL 64 | protocol 6 (TCP) | checksum
  45 00 0028 1234 4000 40 06 0000 ${V4_ADDRESSES}`;

export const IPV4_OPTIONS_TCP = `
  # IPv4: version 4, IHL 6 (24 bytes) | TOS 0x10 | total length 44 | id 0x1235 | DF | TTL 63 | protocol 6 (TCP) | checksum
  46 10 002c 1235 4000 3f 06 0000 ${V4_ADDRESSES}
  # options: NOP, NOP, NOP, End of Option List
  01 01 01 00`;

export const IPV4_UDP = `
  # IPv4: version 4, IHL 5 | TOS 0 | total length 32 | id 0x1236 | no flags | TTL 64 | protocol 17 (UDP) | checksum
  45 00 0020 1236 0000 40 11 0000 ${V4_ADDRESSES}`;

export const IPV4_ICMP = `
  # IPv4: IHL 5 | total length 28 | id 0x1237 | TTL 64 | protocol 1 (ICMP)
  45 00 001c 1237 0000 40 01 0000 ${V4_ADDRESSES}`;

export const IPV4_SCTP = `
  # IPv4: IHL 5 | total length 32 | id 0x1238 | TTL 64 | protocol 132 (SCTP)
  45 00 0020 1238 0000 40 84 0000 ${V4_ADDRESSES}`;

export const IPV4_FIRST_FRAGMENT_UDP = `
  # IPv4: IHL 5 | total length 32 | id 0x4321 | MF, offset 0 (first fragment) | TTL 64 | protocol 17 (UDP)
  45 00 0020 4321 2000 40 11 0000 ${V4_ADDRESSES}`;

export const IPV4_LAST_FRAGMENT_UDP = `
  # IPv4: IHL 5 | total length 36 | id 0x4321 | offset 185 (1480 bytes), MF clear | TTL 64 | protocol 17 (UDP)
  45 00 0024 4321 00b9 40 11 0000 ${V4_ADDRESSES}
  # 16 bytes of the datagram's middle: no UDP header here
  00112233 44556677 8899aabb ccddeeff`;

export const IPV4_FIRST_FRAGMENT_TCP_8_BYTES = `
  # IPv4: IHL 5 | total length 28 (only 8 bytes of TCP) | id 0x4322 | MF, offset 0 | TTL 64 | protocol 6 (TCP)
  45 00 001c 4322 2000 40 06 0000 ${V4_ADDRESSES}
  # TCP, first 8 bytes: src port 1234 | dst port 80 | seq 1 (the rest is in the next fragment)
  04d2 0050 00000001`;

// ---- IPv6 headers (40 bytes) ----

export const ipv6 = (payloadLength: string, nextHeader: string, what: string): string => `
  # IPv6: version 6, traffic class 0, flow label 0 | payload length 0x${payloadLength} | next header ${nextHeader} (${what}) | hop limit 64
  60000000 ${payloadLength} ${nextHeader} 40 ${V6_ADDRESSES}`;

export const IPV6_UDP = ipv6('000c', '11', 'UDP');
export const IPV6_TCP = ipv6('0014', '06', 'TCP');
export const IPV6_ICMPV6 = ipv6('0008', '3a', 'ICMPv6');

export const IPV6_EXTENSION_CHAIN_TCP = (fragmentField: string, what: string): string => `
  # IPv6: version 6, traffic class 0xb8 (EF), flow 0 | payload length 52 | next header 0 (Hop-by-Hop) | hop limit 64
  6b800000 0034 00 40 ${V6_ADDRESSES}
  # Hop-by-Hop: next 43 (Routing) | length 0 (8 bytes) | PadN option with 4 bytes
  2b 00 01 04 00000000
  # Routing: next 44 (Fragment) | length 0 | routing type 3 | segments left 0 | reserved
  2c 00 03 00 00000000
  # Fragment: next 60 (Destination Options) | reserved | offset and M: ${fragmentField} (${what}) | identification 0xdeadbeef
  3c 00 ${fragmentField} deadbeef
  # Destination Options: next 6 (TCP) | length 0 | PadN 4
  06 00 01 04 00000000`;

export const IPV6_AH_UDP = `
  # IPv6: payload length 36 | next header 51 (AH) | hop limit 64
  60000000 0024 33 40 ${V6_ADDRESSES}
  # AH: next 17 (UDP) | payload length 4 (= (4 + 2) * 4 = 24 bytes) | reserved | SPI 0x100 | sequence 1
  11 04 0000 00000100 00000001
  # ICV, 12 bytes
  00000000 00000000 00000000`;

export const IPV6_JUMBO_TCP = `
  # IPv6: payload length 0 (jumbogram) | next header 0 (Hop-by-Hop) | hop limit 64
  60000000 0000 00 40 ${V6_ADDRESSES}
  # Hop-by-Hop: next 6 (TCP) | length 0 | Jumbo Payload option type 0xc2, length 4, jumbo length 70000
  06 00 c2 04 00011170`;

export const IPV6_FIRST_FRAGMENT_UDP = `
  # IPv6: payload length 20 | next header 44 (Fragment) | hop limit 64
  60000000 0014 2c 40 ${V6_ADDRESSES}
  # Fragment: next 17 (UDP) | reserved | offset 0, M 1 | identification 0x0000abcd
  11 00 0001 0000abcd`;

export const IPV6_LAST_FRAGMENT_UDP = `
  # IPv6: payload length 24 | next header 44 (Fragment) | hop limit 64
  60000000 0018 2c 40 ${V6_ADDRESSES}
  # Fragment: next 17 (UDP) | reserved | offset 23 (0x00b8 >> 3, 184 bytes), M 0 | identification 0x0000abcd
  11 00 00b8 0000abcd
  # 16 bytes of the datagram's middle
  00112233 44556677 8899aabb ccddeeff`;

// ---- transport headers ----

export const TCP_SYN = `
  # TCP: src port 1234 | dst port 80 | seq 1 | ack 0 | data offset 5, flags SYN | window 65535 | checksum | urgent
  04d2 0050 00000001 00000000 5002 ffff 0000 0000`;

export const TCP_AE_SYN_ACK = `
  # TCP: src port 80 | dst port 1234 | seq 0x80000000 | ack 2 | data offset 5 + AE bit | CWR ECE SYN ACK (0xd2) | window 512
  0050 04d2 80000000 00000002 51d2 0200 0000 0000`;

export const UDP_4_BYTES = `
  # UDP: src port 5353 | dst port 53 | length 12 | checksum | 4 bytes payload
  14e9 0035 000c 0000 deadbeef`;

export const ICMP_ECHO = `
  # ICMP: type 8 (echo request) | code 0 | checksum | id 1 | sequence 1
  08 00 0000 0001 0001`;

export const ICMPV6_ECHO = `
  # ICMPv6: type 128 (echo request) | code 0 | checksum | id 1 | sequence 1
  80 00 0000 0001 0001`;

export const SCTP_COMMON = `
  # SCTP common header: src port 5000 | dst port 5001 | verification tag 1 | checksum
  1388 1389 00000001 00000000`;

/** One packet of every fixture family (link type, bytes), for the never-throw sweeps and the allocation test. */
export const SWEEP_FIXTURES: [number, Uint8Array][] = [
  [1, hex(ETH_IPV4, IPV4_TCP, TCP_SYN)],
  [1, hex(ethernet('8100', '802.1Q'), '0064 0800', IPV4_TCP, TCP_AE_SYN_ACK)],
  [1, hex(ethernet('88a8', 'QinQ'), '00c8 8100 012c 0800', IPV4_UDP, UDP_4_BYTES)],
  [1, hex(ethernet('8847', 'MPLS'), '003e8040 007d0140', IPV4_UDP, UDP_4_BYTES)],
  [1, hex(ethernet('8864', 'PPPoE'), '1100 1234 0036 0021', IPV4_TCP, TCP_SYN)],
  [1, hex(ETH_IPV6, IPV6_EXTENSION_CHAIN_TCP('0001', 'first fragment'), TCP_SYN)],
  [1, hex(ETH_IPV6, IPV6_AH_UDP, UDP_4_BYTES)],
  [1, hex(ETH_IPV6, IPV6_JUMBO_TCP, TCP_SYN)],
  [1, hex(ETH_IPV4, IPV4_FIRST_FRAGMENT_UDP, UDP_4_BYTES)],
  [1, hex(ETH_IPV4, IPV4_LAST_FRAGMENT_UDP)],
  [113, hex('0000 0001 0006 66778899aabb 0000 0800', IPV4_TCP, TCP_SYN)],
  [276, hex('86dd 0000 00000002 0001 00 06 66778899aabb 0000', IPV6_AH_UDP, UDP_4_BYTES)],
  [0, hex('02000000', IPV4_TCP, TCP_SYN)],
  [108, hex('00000002', IPV4_UDP, UDP_4_BYTES)],
  [101, hex(IPV4_UDP, UDP_4_BYTES)],
];

