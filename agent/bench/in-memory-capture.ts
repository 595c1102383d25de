import { readFileSync } from 'node:fs';

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

/**
 * A little-endian classic pcap held in memory and indexed once (typed arrays only), so a
 * benchmark can feed its packets again and again without reading or allocating per packet.
 */
export class InMemoryCapture {
  readonly data: Buffer;
  readonly linkType: number;
  readonly count: number;
  /** Byte offset in `data` of each packet. */
  readonly offsets: Float64Array;
  readonly capLens: Int32Array;
  readonly wireLens: Int32Array;
  readonly tsUs: Float64Array;
  /** Last timestamp minus first, µs: the shift applied per pass when cycling. */
  readonly spanUs: number;

  constructor(path: string) {
    const data = readFileSync(path);
    const magic = data.readUInt32LE(0);
    if (magic !== MAGIC_US && magic !== MAGIC_NS) throw new Error(`${path}: not a little-endian classic pcap`);
    const usPerFraction = magic === MAGIC_NS ? 1e-3 : 1;
    let count = 0;
    for (let at = 24; at + 16 <= data.length; at += 16 + data.readUInt32LE(at + 8)) count++;
    this.offsets = new Float64Array(count);
    this.capLens = new Int32Array(count);
    this.wireLens = new Int32Array(count);
    this.tsUs = new Float64Array(count);
    let at = 24;
    for (let i = 0; i < count; i++) {
      this.tsUs[i] = data.readUInt32LE(at) * 1e6 + data.readUInt32LE(at + 4) * usPerFraction;
      this.capLens[i] = data.readUInt32LE(at + 8);
      this.wireLens[i] = data.readUInt32LE(at + 12);
      this.offsets[i] = at + 16;
      at += 16 + this.capLens[i]!;
    }
    this.data = data;
    this.linkType = data.readUInt32LE(20) & 0xffff;
    this.count = count;
    this.spanUs = count > 0 ? this.tsUs[count - 1]! - this.tsUs[0]! : 0;
  }
}
