import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CaptureErrorCode, CaptureFileError, readCaptureFile } from '../../../src/capture/capture-file-reader.js';
import { epb, idb, opaqueBlock, pcapFile, shb, type PcapRecord } from './capture-file-builder.js';

/** Files the reader must refuse, each with its stable code, the byte offset and a clear message. */

const LE = true;
const BE = false;
const T0 = 1_700_000_000;
const usecRecords: PcapRecord[] = [
  { tsSec: T0, fraction: 1, capLen: 60, wireLen: 60 },
  { tsSec: T0 + 1, fraction: 2, capLen: 100, wireLen: 1514 },
];

async function expectCaptureError(path: string, code: string, messagePattern: RegExp, expectedPackets = 0): Promise<CaptureFileError> {
  let delivered = 0;
  const error = await readCaptureFile(path, () => delivered++).then(
    () => assert.fail('expected a CaptureFileError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CaptureFileError, `got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, messagePattern);
  assert.equal(delivered, expectedPackets);
  assert.equal(error.packetsBefore, expectedPackets);
  return error;
}

describe('readCaptureFile rejects what it cannot read, with a code and an offset', () => {
  const errDir = mkdtempSync(join(tmpdir(), 'tapflow-capture-errors-'));
  const write = (name: string, bytes: Uint8Array): string => {
    writeFileSync(join(errDir, name), bytes);
    return join(errDir, name);
  };
  after(() => rmSync(errDir, { recursive: true, force: true }));

  it('empty, too-short and foreign files are not captures', async () => {
    await expectCaptureError(write('empty.pcap', new Uint8Array(0)), CaptureErrorCode.NOT_A_CAPTURE, /empty \(0 bytes\)/);
    await expectCaptureError(write('three.pcap', Buffer.from([0xd4, 0xc3, 0xb2])), CaptureErrorCode.NOT_A_CAPTURE, /only 3 bytes/);
    const error = await expectCaptureError(write('text.pcap', Buffer.from('hello world\n')), CaptureErrorCode.NOT_A_CAPTURE, /first 4 bytes 68656c6c/);
    assert.equal(error.offset, 0);
    const badOrder = Buffer.concat([shb(LE)]);
    badOrder.writeUInt32LE(0x11223344, 8);
    await expectCaptureError(write('bad-bom.pcapng', badOrder), CaptureErrorCode.NOT_A_CAPTURE, /byte-order magic 0x44332211/);
  });

  it('missing files and directories fail with _READ', async () => {
    await expectCaptureError(join(errDir, 'missing.pcap'), CaptureErrorCode.READ, /missing\.pcap: cannot open/);
    await expectCaptureError(errDir, CaptureErrorCode.READ, /read failed at byte 0/);
  });

  it('pcap: reserved link-type bits, major version 1, oversized caplen', async () => {
    await expectCaptureError(write('reserved.pcap', pcapFile({ littleEndian: LE, nanoseconds: false, linkTypeField: 0x00010001 }, usecRecords)), CaptureErrorCode.UNSUPPORTED, /reserved bits set \(0x00010001\)/);
    await expectCaptureError(write('v1.pcap', pcapFile({ littleEndian: BE, nanoseconds: false, major: 1 }, usecRecords)), CaptureErrorCode.BAD_VERSION, /version 1\.4/);
    const records: PcapRecord[] = [usecRecords[0]!, { tsSec: T0, fraction: 0, capLen: 262_144, wireLen: 262_144 }, { tsSec: T0, fraction: 0, capLen: 262_145, wireLen: 262_145 }];
    const error = await expectCaptureError(
      write('huge.pcap', pcapFile({ littleEndian: LE, nanoseconds: false }, records)),
      CaptureErrorCode.CORRUPT_RECORD,
      /corrupt record header at byte 262260: caplen 262145 exceeds the 262144-byte limit/,
      2,
    );
    assert.equal(error.offset, 24 + 16 + 60 + 16 + 262_144);
  });

  it('pcapng: bad lengths, option overrun, a later section of an unknown version', async () => {
    const good = Buffer.concat([shb(LE), idb(LE, 1, 0), epb(LE, 0, 1n, 60, 60)]);
    const oddLength = Buffer.concat([good, Buffer.from([6, 0, 0, 0, 33, 0, 0, 0]), Buffer.alloc(28)]);
    await expectCaptureError(write('odd.pcapng', oddLength), CaptureErrorCode.CORRUPT_RECORD, new RegExp(`at byte ${good.length}: block length 33`), 1);
    const trailer = Buffer.concat([good, epb(LE, 0, 2n, 10, 10)]);
    trailer.writeUInt32LE(999, trailer.length - 4);
    await expectCaptureError(write('trailer.pcapng', trailer), CaptureErrorCode.CORRUPT_RECORD, /leading length 44 and trailing length 999 differ/, 1);
    const overrun = epb(LE, 0, 2n, 12, 12);
    overrun.writeUInt32LE(200, 20); // caplen beyond the block
    await expectCaptureError(write('overrun.pcapng', Buffer.concat([good, overrun])), CaptureErrorCode.CORRUPT_RECORD, /caplen 200 does not fit in the block's 12 data bytes/, 1);
    const option = idb(LE, 1, 0, { name: 'eth0' });
    option.writeUInt16LE(400, 18); // if_name length runs past the IDB
    await expectCaptureError(write('option.pcapng', Buffer.concat([shb(LE), option])), CaptureErrorCode.CORRUPT_RECORD, /option at byte 44 of length 400 runs past the block end/);
    const laterSection = Buffer.concat([good, epb(LE, 0, 2n, 60, 60), shb(BE, 2, 0), idb(BE, 1, 0), epb(BE, 0, 3n, 60, 60)]);
    const error = await expectCaptureError(write('v2-section.pcapng', laterSection), CaptureErrorCode.BAD_VERSION, /unsupported pcapng section version 2\.0/, 2);
    assert.equal(error.offset, good.length + epb(LE, 0, 2n, 60, 60).length);
  });

  it('the buffer grows for a block larger than it, never past 16 MiB', async () => {
    const bytes = Buffer.concat([shb(LE), idb(LE, 1, 0), opaqueBlock(LE, 0xbad, 200_000), epb(LE, 0, 7n, 5000, 5000, 9)]);
    const seen: number[] = [];
    const result = await readCaptureFile(write('grow.pcapng', bytes), (p) => seen.push(p.capLen, p.data[p.offset]!, p.data[p.offset + 4999]!), { readBufferBytes: 4096 });
    assert.deepEqual(seen, [5000, 9, 9]);
    assert.ok(result.readBufferBytes >= 200_012 && result.readBufferBytes <= 2 * 200_012, `buffer ${result.readBufferBytes}`);
    const huge = Buffer.concat([shb(LE), Buffer.from([0xad, 0x0b, 0, 0, 0x10, 0, 0, 0x01, 0, 0, 0, 0])]); // a custom block of 16 MiB + 16 bytes
    await expectCaptureError(write('huge.pcapng', huge), CaptureErrorCode.CORRUPT_RECORD, /block length 16777232 is not a multiple of 4 from 12 to 16777216/);
    await assert.rejects(readCaptureFile(write('x.pcap', pcapFile({ littleEndian: LE, nanoseconds: false }, [])), () => {}, { readBufferBytes: 10 }), RangeError);
  });
});
