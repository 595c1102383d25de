import { readFileSync } from 'node:fs';
import { CapturedPacket } from '../../src/capture/captured-packet.js';

/** One record of a classic pcap file (tests only: allocates freely). */
export interface TestPacket {
  data: Uint8Array;
  wireLen: number;
  tsUs: number;
}

export interface TestCapture {
  linkType: number;
  packets: TestPacket[];
}

/**
 * Minimal classic-pcap reader for tests (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-03.html):
 * either byte order, microsecond or nanosecond magic. Returns null for anything else (pcapng); a
 * record running past the end of the file ends the list. Independent of the product's capture reader.
 */
export function readClassicPcap(path: string): TestCapture | null {
  const file = readFileSync(path);
  if (file.length < 24) return null;
  const magicLe = file.readUInt32LE(0);
  const littleEndian = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
  const magic = littleEndian ? magicLe : file.readUInt32BE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) return null;
  const fractionPerUs = magic === 0xa1b23c4d ? 1000 : 1;
  const u32 = (at: number): number => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linkType = u32(20) & 0xffff;
  const packets: TestPacket[] = [];
  for (let at = 24; at + 16 <= file.length; ) {
    const capLen = u32(at + 8);
    if (at + 16 + capLen > file.length) break;
    const data = new Uint8Array(file.buffer, file.byteOffset + at + 16, capLen);
    packets.push({ data, wireLen: u32(at + 12), tsUs: u32(at) * 1e6 + u32(at + 4) / fractionPerUs });
    at += 16 + capLen;
  }
  return { linkType, packets };
}

/** The capture's packets as the meter takes them (one CapturedPacket each). */
export function toCapturedPackets(capture: TestCapture): CapturedPacket[] {
  return capture.packets.map((p) => {
    const packet = new CapturedPacket();
    packet.data = p.data;
    packet.capLen = p.data.length;
    packet.wireLen = p.wireLen;
    packet.tsUs = p.tsUs;
    packet.linkType = capture.linkType;
    return packet;
  });
}
