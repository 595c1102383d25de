import { readFileSync } from 'node:fs';
import type { TestCapture } from '../../helpers/read-classic-pcap.js';

/**
 * Just enough pcapng for tests (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html):
 * Section Header (either byte order), Interface Description and Enhanced Packet blocks; every
 * other block is skipped. Returns null when the file is not pcapng or its interfaces use more than
 * one link type. Timestamps are not needed by the decode tests and are left 0.
 */
export function readSimplePcapng(path: string): TestCapture | null {
  const file = readFileSync(path);
  if (file.length < 12 || file.readUInt32LE(0) !== 0x0a0d0d0a) return null;
  let littleEndian = true;
  const u32 = (at: number): number => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const u16 = (at: number): number => (littleEndian ? file.readUInt16LE(at) : file.readUInt16BE(at));
  const capture: TestCapture = { linkType: -1, packets: [] };
  let interfaceLinkTypes: number[] = [];
  for (let at = 0; at + 12 <= file.length; ) {
    const type = file.readUInt32LE(at) === 0x0a0d0d0a ? 0x0a0d0d0a : u32(at);
    if (type === 0x0a0d0d0a) {
      littleEndian = file.readUInt32LE(at + 8) === 0x1a2b3c4d;
      interfaceLinkTypes = [];
    }
    const length = u32(at + 4);
    if (length < 12 || at + length > file.length) break;
    if (type === 1) {
      const linkType = u16(at + 8);
      if (capture.linkType !== -1 && capture.linkType !== linkType) return null;
      capture.linkType = linkType;
      interfaceLinkTypes.push(linkType);
    } else if (type === 6) {
      const capLen = u32(at + 20);
      const data = new Uint8Array(file.buffer, file.byteOffset + at + 28, Math.min(capLen, length - 28));
      capture.packets.push({ data, wireLen: u32(at + 24), tsUs: 0 });
    }
    at += length;
  }
  return capture.linkType === -1 ? null : capture;
}
