import { type Random, pick } from './mutations.js';

/**
 * Random inputs for the fuzzer that need no seed capture: plain random bytes, and pcap / pcapng
 * files whose framing is right (so the reader delivers every packet) while what they frame is
 * random: packets (a third behind a plausible Ethernet + IPv4/IPv6 start, so the decoder goes
 * deeper), pcapng byte orders, sections, interfaces with extreme if_tsresol / if_tsoffset values,
 * packets on interfaces that do not exist, blocks of unknown types. Written from the format drafts.
 */

/** Link types the random packets are given: the decoder's own ones plus a few it must refuse. */
const LINK_TYPES = [1, 1, 1, 0, 9, 12, 14, 101, 104, 108, 113, 228, 229, 276, 105, 127, 239];
const IP_PROTOCOLS = [6, 17, 1, 58, 0, 43, 44, 60, 51, 47, 50, 59, 132, 33, 136];
const TSRESOL_VALUES = [6, 9, 0, 3, 0x80, 0x80 | 10, 0x80 | 127, 127, 0xff, 19];
const TSOFFSET_WORDS = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];

function below(limit: number, random: Random): number {
  return Math.floor(random() * limit);
}

export function randomBytes(random: Random, maxBytes: number): Uint8Array {
  const bytes = new Uint8Array(below(maxBytes, random));
  for (let i = 0; i < bytes.length; i++) bytes[i] = below(256, random);
  return bytes;
}

/** Where each link type's IP header starts, and how to announce IPv4 / IPv6 in its link header. */
function writeLinkHeader(packet: Uint8Array, linkType: number, ipv6: boolean): number {
  const etherType = ipv6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case 1: // Ethernet: EtherType at 12
      packet[12] = etherType >>> 8;
      packet[13] = etherType & 0xff;
      return 14;
    case 113: // Linux SLL: protocol at 14
      packet[14] = etherType >>> 8;
      packet[15] = etherType & 0xff;
      return 16;
    case 276: // Linux SLL2: protocol at 0
      packet[0] = etherType >>> 8;
      packet[1] = etherType & 0xff;
      return 20;
    case 0: // NULL: host-order address family
      packet.set(ipv6 ? [30, 0, 0, 0] : [2, 0, 0, 0], 0);
      return 4;
    case 108: // LOOP: network-order family
      packet.set(ipv6 ? [0, 0, 0, 24] : [0, 0, 0, 2], 0);
      return 4;
    default: // raw IP link types (and ones the decoder refuses)
      return 0;
  }
}

/**
 * Random bytes; half the time behind a link header and an IPv4/IPv6 header whose version and
 * lengths agree with the packet (so the transport decoder and the hint parsers get random input).
 */
function randomPacket(random: Random, linkType: number): Uint8Array {
  const packet = randomBytes(random, 240);
  if (packet.length < 60 || random() < 0.5) return packet;
  const ipv6 = random() < 0.4;
  const ip = writeLinkHeader(packet, linkType, ipv6);
  const ipBytes = packet.length - ip - (random() < 0.2 ? below(8, random) : 0); // sometimes link padding
  if (ipBytes < (ipv6 ? 40 : 20)) return packet;
  const protocol = pick(IP_PROTOCOLS, random);
  const view = new DataView(packet.buffer);
  if (ipv6) {
    packet[ip] = 0x60 | (packet[ip]! & 0x0f);
    view.setUint16(ip + 4, ipBytes - 40);
    packet[ip + 6] = protocol;
  } else {
    packet[ip] = random() < 0.8 ? 0x45 : 0x40 | (5 + below(11, random));
    view.setUint16(ip + 2, ipBytes);
    if (random() < 0.7) view.setUint16(ip + 6, 0); // not a fragment
    packet[ip + 9] = protocol;
  }
  return packet;
}

/** A classic pcap (LE, usec, v2.4) with 1-24 random packets of one link type. */
export function randomPcapRecords(random: Random): Uint8Array {
  const linkType = pick(LINK_TYPES, random);
  const packets = Array.from({ length: 1 + below(24, random) }, () => randomPacket(random, linkType));
  const out = new Uint8Array(24 + packets.reduce((n, p) => n + 16 + p.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 65535, true);
  view.setUint32(20, linkType, true);
  let pos = 24;
  let seconds = 1_700_000_000;
  for (const packet of packets) {
    seconds += below(100, random);
    view.setUint32(pos, seconds, true);
    view.setUint32(pos + 4, below(1_000_000, random), true);
    view.setUint32(pos + 8, packet.length, true);
    view.setUint32(pos + 12, packet.length + (random() < 0.2 ? below(1500, random) : 0), true);
    out.set(packet, pos + 16);
    pos += 16 + packet.length;
  }
  return out;
}

/** Little builder of pcapng blocks in one byte order. */
class BlockWriter {
  readonly blocks: Uint8Array[] = [];
  constructor(private readonly le: boolean) {}

  /** A block {type, length, body padded to 4, length}; `fill` writes the body through a DataView. */
  block(type: number, bodyBytes: number, fill: (view: DataView, body: Uint8Array) => void): void {
    const total = 12 + ((bodyBytes + 3) & ~3);
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    view.setUint32(0, type, this.le);
    view.setUint32(4, total, this.le);
    fill(new DataView(out.buffer, 8, bodyBytes), out.subarray(8, 8 + bodyBytes));
    view.setUint32(total - 4, total, this.le);
    this.blocks.push(out);
  }
}

/** A pcapng file of 1-3 sections, each with 0-4 interfaces and 1-12 packet or other blocks. */
export function randomPcapngBlocks(random: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  const sections = 1 + below(3, random);
  for (let s = 0; s < sections; s++) {
    const le = random() < 0.6;
    const writer = new BlockWriter(le);
    writer.block(0x0a0d0d0a, 16, (view) => {
      view.setUint32(0, 0x1a2b3c4d, le);
      view.setUint16(4, random() < 0.95 ? 1 : 2, le); // major version
      view.setInt32(8, -1, le); // section length unknown
      view.setInt32(12, -1, le);
    });
    const interfaces = below(5, random);
    const linkTypes: number[] = [];
    for (let i = 0; i < interfaces; i++) {
      const linkType = pick(LINK_TYPES, random);
      linkTypes.push(linkType);
      // Options: if_tsresol (1 byte), if_tsoffset (8 bytes), opt_endofopt.
      writer.block(1, 8 + 8 + 12 + 4, (view) => {
        view.setUint16(0, linkType, le);
        view.setUint32(4, pick([0, 65535, 64, 14, 262144], random), le);
        view.setUint16(8, 9, le);
        view.setUint16(10, 1, le);
        view.setUint8(12, pick(TSRESOL_VALUES, random));
        view.setUint16(16, 14, le);
        view.setUint16(18, 8, le);
        view.setUint32(20, pick(TSOFFSET_WORDS, random), le);
        view.setUint32(24, pick(TSOFFSET_WORDS, random), le);
      });
    }
    const blocks = 1 + below(12, random);
    for (let b = 0; b < blocks; b++) writeRandomBlock(writer, random, le, linkTypes);
    parts.push(...writer.blocks);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

function writeRandomBlock(writer: BlockWriter, random: Random, le: boolean, linkTypes: readonly number[]): void {
  const choice = random();
  // Mostly interfaces that exist, sometimes one past the end.
  const interfaceId = below(linkTypes.length + (random() < 0.1 ? 2 : 0) || 1, random);
  const packet = randomPacket(random, linkTypes[interfaceId] ?? 1);
  if (choice < 0.6 || choice >= 0.9) {
    const obsolete = choice >= 0.95;
    writer.block(obsolete ? 2 : 6, 20 + packet.length, (view, body) => {
      if (obsolete) view.setUint16(0, interfaceId, le);
      else view.setUint32(0, interfaceId, le);
      view.setUint32(4, pick(TSOFFSET_WORDS, random) & (random() < 0.7 ? 0x3ff : 0xffffffff), le); // timestamp high
      view.setUint32(8, below(0x1_0000_0000, random), le); // timestamp low
      view.setUint32(12, packet.length, le);
      view.setUint32(16, packet.length + (random() < 0.2 ? below(1500, random) : 0), le);
      body.set(packet, 20);
    });
  } else if (choice < 0.75) {
    writer.block(3, 4 + packet.length, (view, body) => {
      view.setUint32(0, packet.length, le); // SPB: original length
      body.set(packet, 4);
    });
  } else {
    // Known blocks the reader skips (NRB, ISB, custom) and unknown ones.
    const body = randomBytes(random, 64);
    writer.block(pick([4, 5, 7, 9, 10, 0xbad, 0x40000bad, 0x1234, 0x80000001], random), body.length, (_view, bytes) => bytes.set(body));
  }
}
