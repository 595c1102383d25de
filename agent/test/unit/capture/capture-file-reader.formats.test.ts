import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCaptureFile, type CaptureReadResult } from '../../../src/capture/capture-file-reader.js';
import { epb, idb, opaqueBlock, opb, pcapFile, shb, spb, type PcapRecord } from './capture-file-builder.js';
import { TSHARK_MISSING, tsharkReadAll, type TsharkRead } from './tshark-reader.js';

/**
 * Hand-made files from capture-file-builder (which knows what it wrote): every format variant the
 * reader must handle, checked against the builder's values and, where tshark reads the same thing,
 * against tshark too.
 */

interface Expected {
  capLen: number;
  wireLen: number;
  tsUs: number;
  linkType: number;
  interfaceId?: number;
  /** Fill byte the builder used for the packet data. */
  fill: number;
}

interface Delivered extends Required<Expected> {
  offset: number;
}

async function readAll(path: string, options: { readBufferBytes?: number } = {}): Promise<{ packets: Delivered[]; result: CaptureReadResult }> {
  const packets: Delivered[] = [];
  const result = await readCaptureFile(
    path,
    (p) => {
      // Every delivered byte must be the builder's fill (the packet points at the right place).
      const first = p.capLen > 0 ? p.data[p.offset]! : -1;
      for (let i = 0; i < p.capLen; i++) assert.equal(p.data[p.offset + i], first, 'packet bytes');
      packets.push({ capLen: p.capLen, wireLen: p.wireLen, tsUs: p.tsUs, linkType: p.linkType, interfaceId: p.interfaceId, fill: first, offset: p.offset });
    },
    options,
  );
  return { packets, result };
}

function assertPackets(actual: readonly Delivered[], expected: readonly Expected[]): void {
  assert.equal(actual.length, expected.length, 'packet count');
  expected.forEach((want, i) => {
    const got = actual[i]!;
    const where = `packet ${i + 1}`;
    assert.equal(got.capLen, want.capLen, `${where} capLen`);
    assert.equal(got.wireLen, want.wireLen, `${where} wireLen`);
    assert.ok(Math.abs(got.tsUs - want.tsUs) < 0.5, `${where} tsUs ${got.tsUs} vs ${want.tsUs}`);
    assert.equal(got.linkType, want.linkType, `${where} linkType`);
    assert.equal(got.interfaceId, want.interfaceId ?? 0, `${where} interfaceId`);
    if (want.capLen > 0) assert.equal(got.fill, want.fill, `${where} data`);
  });
}

const T0 = 1_700_000_000;
const usecRecords: PcapRecord[] = [
  { tsSec: T0, fraction: 123_456, capLen: 60, wireLen: 60, fill: 1 },
  { tsSec: T0 + 1, fraction: 999_999, capLen: 100, wireLen: 1514, fill: 2 },
  { tsSec: T0 + 2, fraction: 0, capLen: 1514, wireLen: 1514, fill: 3 },
];
const nsecRecords: PcapRecord[] = [
  { tsSec: T0, fraction: 123_456_789, capLen: 60, wireLen: 60, fill: 1 },
  { tsSec: T0 + 1, fraction: 999_999_999, capLen: 100, wireLen: 1514, fill: 2 },
  { tsSec: T0 + 2, fraction: 1, capLen: 1514, wireLen: 1514, fill: 3 },
];
const fromRecords = (records: readonly PcapRecord[], perUs: number, linkType = 1): Expected[] =>
  records.map((r) => ({ capLen: r.capLen, wireLen: r.wireLen, tsUs: r.tsSec * 1e6 + r.fraction / perUs, linkType, fill: r.fill ?? 0xab }));

const LE = true;
const BE = false;
const US = 1_000_000n;

interface Fixture {
  name: string;
  bytes: Buffer;
  format: 'pcap' | 'pcapng';
  packets: Expected[];
  anomalies?: Record<string, number>;
  interfaces?: { linkType: number; name?: string }[];
  /** 'same': tshark must show exactly `packets`; a function checks a documented difference. */
  tshark?: 'same' | ((truth: TsharkRead, ours: readonly Delivered[]) => void);
}

const fixtures: Fixture[] = [
  ...([
    ['pcap-usec-le', LE, false],
    ['pcap-usec-be', BE, false],
    ['pcap-nsec-le', LE, true],
    ['pcap-nsec-be', BE, true],
  ] as const).map(([name, littleEndian, nanoseconds]): Fixture => ({
    name: `${name}.pcap`,
    bytes: pcapFile({ littleEndian, nanoseconds, linkTypeField: 1, snapLen: 65535 }, nanoseconds ? nsecRecords : usecRecords),
    format: 'pcap',
    packets: fromRecords(nanoseconds ? nsecRecords : usecRecords, nanoseconds ? 1000 : 1),
    interfaces: [{ linkType: 1 }],
    tshark: 'same',
  })),
  {
    // F bit + 2 words: a 4-byte FCS ends each frame. tshark keeps it in frame.len/cap_len; we strip it.
    name: 'pcap-fcs.pcap',
    bytes: pcapFile({ littleEndian: LE, nanoseconds: false, linkTypeField: 0x04000000 | (2 << 28) | 1 }, [
      { tsSec: T0, fraction: 1, capLen: 64, wireLen: 64, fill: 1 },
      { tsSec: T0, fraction: 2, capLen: 40, wireLen: 64, fill: 2 },
      { tsSec: T0, fraction: 3, capLen: 3, wireLen: 3, fill: 3 },
    ]),
    format: 'pcap',
    packets: [
      { capLen: 60, wireLen: 60, tsUs: T0 * 1e6 + 1, linkType: 1, fill: 1 },
      { capLen: 40, wireLen: 60, tsUs: T0 * 1e6 + 2, linkType: 1, fill: 2 },
      { capLen: 0, wireLen: 0, tsUs: T0 * 1e6 + 3, linkType: 1, fill: 3 },
    ],
    anomalies: { fcs_stripped: 3 },
    tshark: (truth, ours) => {
      assert.equal(truth.error, null);
      truth.packets.forEach((their, i) => {
        assert.equal(ours[i]!.wireLen, Math.max(0, their.wireLen - 4), 'wireLen is tshark frame.len minus the FCS');
        assert.equal(ours[i]!.capLen, Math.min(their.capLen, ours[i]!.wireLen), 'capLen loses whatever FCS bytes were captured');
      });
    },
  },
  {
    // FCS length bits without the F bit (seen in tcpdump's fuzz files): libpcap ignores them.
    name: 'pcap-fcs-bits-without-f.pcap',
    bytes: pcapFile({ littleEndian: LE, nanoseconds: false, linkTypeField: 0x30000001 }, usecRecords),
    format: 'pcap',
    packets: fromRecords(usecRecords, 1),
    tshark: 'same',
  },
  {
    // pcap 2.2: the two length fields are always swapped; 2.3: swapped only when "caplen" > "len".
    name: 'pcap-v2.2-swapped-lengths.pcap',
    bytes: pcapFile({ littleEndian: LE, nanoseconds: false, minor: 2 }, usecRecords),
    format: 'pcap',
    packets: fromRecords(usecRecords, 1),
    tshark: 'same',
  },
  {
    name: 'pcap-v2.3-maybe-swapped.pcap',
    bytes: pcapFile({ littleEndian: BE, nanoseconds: false, minor: 3 }, [
      { ...usecRecords[0]!, swapLengthFields: true },
      { ...usecRecords[1]!, swapLengthFields: true },
      { ...usecRecords[2]!, swapLengthFields: false },
    ]),
    format: 'pcap',
    packets: fromRecords(usecRecords, 1),
    tshark: 'same',
  },
  {
    name: 'pcap-anomalies.pcap',
    bytes: pcapFile({ littleEndian: LE, nanoseconds: false, snapLen: 64 }, [
      { tsSec: T0, fraction: 1_500_000, capLen: 60, wireLen: 60, fill: 1 }, // usec out of range: carries into the seconds
      { tsSec: T0, fraction: 10, capLen: 100, wireLen: 200, fill: 2 }, // earlier than the previous; caplen 100 > snaplen 64
      { tsSec: T0 + 5, fraction: 0, capLen: 80, wireLen: 70, fill: 3 }, // caplen > len, and > snaplen
    ]),
    format: 'pcap',
    packets: [
      { capLen: 60, wireLen: 60, tsUs: T0 * 1e6 + 1_500_000, linkType: 1, fill: 1 },
      { capLen: 100, wireLen: 200, tsUs: T0 * 1e6 + 10, linkType: 1, fill: 2 },
      { capLen: 80, wireLen: 80, tsUs: (T0 + 5) * 1e6, linkType: 1, fill: 3 },
    ],
    anomalies: { invalid_fraction: 1, timestamp_backwards: 1, caplen_over_snaplen: 2, caplen_over_wirelen: 1 },
    // tshark leaves frame.len (70) below cap_len (80); CapturedPacket promises wireLen >= capLen.
    tshark: (truth, ours) => {
      assert.deepEqual(truth.packets.map((p) => [p.capLen, p.wireLen]), [[60, 60], [100, 200], [80, 70]]);
      truth.packets.forEach((their, i) => assert.ok(Math.abs(their.tsUs! - ours[i]!.tsUs) <= 1, 'timestamps'));
    },
  },
  {
    // Three sections: LE, BE, LE; per-interface link types and if_tsresol (10^-6 default, 10^-9,
    // 10^-2, 2^-20 with if_tsoffset); EPB and OPB; NRB/ISB/custom blocks skipped quietly, an
    // unknown block type counted; a timestamp past 2^32 seconds.
    name: 'pcapng-multi-section.pcapng',
    bytes: Buffer.concat([
      shb(LE),
      idb(LE, 1, 0, { name: 'eth0' }),
      opaqueBlock(LE, 4, 4, 0), // NRB holding only nrb_record_end
      epb(LE, 0, BigInt(T0) * US + 1n, 60, 60, 1),
      epb(LE, 0, BigInt(T0) * US + 2n, 70, 1500, 2),
      opaqueBlock(LE, 5, 12, 0), // ISB of interface 0, no options
      shb(BE),
      idb(BE, 0, 0, { name: 'null0', tsresol: 9 }),
      idb(BE, 101, 0, { tsresol: 2 }),
      opaqueBlock(BE, 0xbad, 12), // custom block
      epb(BE, 1, BigInt(T0 + 1) * 100n + 25n, 40, 40, 3),
      epb(BE, 0, BigInt(T0 + 2) * 1_000_000_000n + 123_456_789n, 50, 50, 4),
      opb(BE, 1, BigInt(T0 + 3) * 100n, 44, 44, 5),
      opaqueBlock(BE, 0x77, 8), // unknown type
      shb(LE),
      idb(LE, 113, 128, { tsresol: 0x80 | 20, tsoffsetSec: 1000n }),
      epb(LE, 0, (BigInt(T0 + 4) << 20n) + (1n << 19n), 64, 64, 6),
      idb(LE, 1, 0),
      epb(LE, 1, (1n << 32n) * US + 500_000n, 30, 30, 7), // 2^32 s + 0.5 s (year 2106)
    ]),
    format: 'pcapng',
    packets: [
      { capLen: 60, wireLen: 60, tsUs: T0 * 1e6 + 1, linkType: 1, interfaceId: 0, fill: 1 },
      { capLen: 70, wireLen: 1500, tsUs: T0 * 1e6 + 2, linkType: 1, interfaceId: 0, fill: 2 },
      { capLen: 40, wireLen: 40, tsUs: (T0 + 1) * 1e6 + 250_000, linkType: 101, interfaceId: 1, fill: 3 },
      { capLen: 50, wireLen: 50, tsUs: (T0 + 2) * 1e6 + 123_456.789, linkType: 0, interfaceId: 0, fill: 4 },
      { capLen: 44, wireLen: 44, tsUs: (T0 + 3) * 1e6, linkType: 101, interfaceId: 1, fill: 5 },
      { capLen: 64, wireLen: 64, tsUs: (T0 + 4 + 1000) * 1e6 + 500_000, linkType: 113, interfaceId: 0, fill: 6 },
      { capLen: 30, wireLen: 30, tsUs: 2 ** 32 * 1e6 + 500_000, linkType: 1, interfaceId: 1, fill: 7 },
    ],
    anomalies: { unknown_block: 1 },
    interfaces: [{ linkType: 1, name: 'eth0' }, { linkType: 0, name: 'null0' }, { linkType: 101 }, { linkType: 113 }, { linkType: 1 }],
    tshark: 'same',
  },
  {
    // SPB: no interface id (interface 0) and no timestamp (the previous packet's; 0 before any).
    // Captured length = min(original length, IDB 0 snaplen).
    name: 'pcapng-spb.pcapng',
    bytes: Buffer.concat([shb(BE), idb(BE, 1, 50), spb(BE, 60, 50, 1), spb(BE, 30, 30, 2), epb(BE, 0, 5_000_000n, 20, 20, 3), spb(BE, 51, 50, 4)]),
    format: 'pcapng',
    packets: [
      { capLen: 50, wireLen: 60, tsUs: 0, linkType: 1, fill: 1 },
      { capLen: 30, wireLen: 30, tsUs: 0, linkType: 1, fill: 2 },
      { capLen: 20, wireLen: 20, tsUs: 5_000_000, linkType: 1, fill: 3 },
      { capLen: 50, wireLen: 51, tsUs: 5_000_000, linkType: 1, fill: 4 },
    ],
    anomalies: { spb_timestamp_inherited: 3 },
    // tshark shows SPBs without a time; lengths must agree.
    tshark: (truth, ours) => {
      assert.equal(truth.error, null);
      assert.deepEqual(truth.packets.map((p) => [p.capLen, p.wireLen, p.tsUs]), ours.map((p, i) => [p.capLen, p.wireLen, i === 2 ? 5_000_000 : null]));
    },
  },
  {
    // A packet naming an interface its section never described: tshark gives up on the file; we
    // skip that packet and count it. Also caplen > len (tshark keeps it; we raise wireLen).
    name: 'pcapng-unknown-interface.pcapng',
    bytes: Buffer.concat([shb(LE), idb(LE, 1, 0), epb(LE, 0, 1n, 60, 60, 1), epb(LE, 3, 2n, 60, 60, 2), epb(LE, 0, 3n, 60, 50, 3)]),
    format: 'pcapng',
    packets: [
      { capLen: 60, wireLen: 60, tsUs: 1, linkType: 1, fill: 1 },
      { capLen: 60, wireLen: 60, tsUs: 3, linkType: 1, fill: 3 },
    ],
    anomalies: { packet_on_unknown_interface: 1, caplen_over_wirelen: 1 },
    tshark: (truth) => {
      assert.match(truth.error ?? '', /interface index 3/);
      assert.equal(truth.packets.length, 1);
    },
  },
  {
    name: 'pcapng-section-without-interfaces.pcapng',
    bytes: Buffer.concat([shb(BE)]),
    format: 'pcapng',
    packets: [],
    interfaces: [],
    tshark: 'same',
  },
  {
    name: 'pcap-header-only.pcap',
    bytes: pcapFile({ littleEndian: LE, nanoseconds: false }, []),
    format: 'pcap',
    packets: [],
    interfaces: [{ linkType: 1 }],
    tshark: 'same',
  },
];

const dir = mkdtempSync(join(tmpdir(), 'tapflow-capture-formats-'));
const pathOf = (name: string): string => join(dir, name);

describe('readCaptureFile on hand-made files', () => {
  let truth = new Map<string, TsharkRead>();
  before(async () => {
    for (const fixture of fixtures) writeFileSync(pathOf(fixture.name), fixture.bytes);
    if (TSHARK_MISSING === null) truth = await tsharkReadAll(fixtures.filter((f) => f.tshark !== undefined).map((f) => pathOf(f.name)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const fixture of fixtures) {
    it(fixture.name, async () => {
      const { packets, result } = await readAll(pathOf(fixture.name));
      assertPackets(packets, fixture.packets);
      assert.equal(result.format, fixture.format);
      assert.equal(result.packets, fixture.packets.length);
      assert.equal(result.bytesRead, fixture.bytes.length);
      assert.deepEqual(result.anomalies, fixture.anomalies ?? {});
      if (fixture.interfaces) assert.deepEqual(result.interfaces, fixture.interfaces);
      assert.equal(result.aborted, false);
    });
  }

  for (const fixture of fixtures.filter((f) => f.tshark !== undefined)) {
    it(`${fixture.name}: tshark agrees`, { skip: TSHARK_MISSING ?? false }, async () => {
      const { packets } = await readAll(pathOf(fixture.name));
      const their = truth.get(pathOf(fixture.name));
      assert.ok(their);
      if (typeof fixture.tshark === 'function') {
        fixture.tshark(their, packets);
        return;
      }
      assert.equal(their.error, null, 'tshark reads the whole file');
      assert.equal(their.packets.length, packets.length);
      their.packets.forEach((p, i) => {
        const ours = packets[i]!;
        assert.equal(ours.capLen, p.capLen);
        assert.equal(ours.wireLen, p.wireLen);
        assert.ok(p.tsUs !== null && Math.abs(ours.tsUs - p.tsUs) <= 1, `packet ${i + 1}: ts ${ours.tsUs} vs tshark ${p.tsUs}`);
        if (p.interfaceId !== null) assert.equal(ours.interfaceId, p.interfaceId);
      });
    });
  }
});
