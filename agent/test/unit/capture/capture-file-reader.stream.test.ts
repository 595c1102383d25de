import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CaptureErrorCode, CaptureFileError, readCaptureFile, type CaptureReadOptions } from '../../../src/capture/capture-file-reader.js';
import type { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { SHARED_PCAPS_MISSING, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { epb, idb, opaqueBlock, pcapFile, pcapRecordStarts, shb, spb, type PcapRecord } from './capture-file-builder.js';
import { TSHARK_MISSING, tsharkReadAll } from './tshark-reader.js';

const execFileAsync = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tapflow-capture-stream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A large classic pcap written straight into one Buffer (the builder is too slow for 200k
 * records): packet i has capLen 40 + i % 53, wireLen capLen + i % 7, ts i microseconds after T0.
 */
const LARGE_PACKETS = 200_000;
const T0_US = 1_600_000_000 * 1e6;
function largePcap(): Buffer {
  let size = 24;
  for (let i = 0; i < LARGE_PACKETS; i++) size += 16 + 40 + (i % 53);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(1, 20);
  let pos = 24;
  for (let i = 0; i < LARGE_PACKETS; i++) {
    const capLen = 40 + (i % 53);
    const tsUs = T0_US + i;
    out.writeUInt32LE(Math.floor(tsUs / 1e6), pos);
    out.writeUInt32LE(tsUs % 1e6, pos + 4);
    out.writeUInt32LE(capLen, pos + 8);
    out.writeUInt32LE(capLen + (i % 7), pos + 12);
    out.fill(i & 0xff, pos + 16, pos + 16 + capLen);
    pos += 16 + capLen;
  }
  return out;
}

/** Reads a file and checks every packet of largePcap(); returns what the reader reported. */
async function readLarge(path: string, options: CaptureReadOptions = {}) {
  let index = 0;
  const buffers = new Set<Uint8Array>();
  let record: CapturedPacket | null = null;
  let maxBufferBytes = 0;
  const result = await readCaptureFile(
    path,
    (p) => {
      const capLen = 40 + (index % 53);
      if (p.capLen !== capLen || p.wireLen !== capLen + (index % 7) || p.tsUs !== T0_US + index || p.data[p.offset + capLen - 1] !== (index & 0xff)) {
        assert.fail(`packet ${index}: ${p.capLen}/${p.wireLen}/${p.tsUs}`);
      }
      // One reused record over the reader's two alternating buffers (a third only if one had to
      // grow, which it must not here).
      record ??= p;
      buffers.add(p.data);
      if (p !== record || buffers.size > 2) assert.fail(`packet ${index}: a new record or buffer`);
      maxBufferBytes = Math.max(maxBufferBytes, p.data.byteLength);
      index++;
    },
    options,
  );
  assert.equal(index, result.packets);
  return { result, maxBufferBytes };
}

describe('bounded memory on a large file', () => {
  const path = join(dir, 'large.pcap');
  let fileBytes = 0;
  before(() => {
    const bytes = largePcap();
    fileBytes = bytes.length;
    writeFileSync(path, bytes);
  });

  it('reads 200k packets through a 64 KiB buffer that never grows', async () => {
    const baseline = process.memoryUsage().arrayBuffers;
    let peakArrayBuffers = baseline;
    const { result, maxBufferBytes } = await readLarge(path, {
      readBufferBytes: 65_536,
      afterChunk: () => {
        peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
      },
    });
    assert.equal(result.packets, LARGE_PACKETS);
    assert.equal(result.bytesRead, fileBytes);
    assert.equal(result.readBufferBytes, 65_536);
    assert.equal(maxBufferBytes, 65_536);
    // The file is ~16 MB; while reading, array-buffer memory grew by far less than that.
    assert.ok(peakArrayBuffers - baseline < 2 * 1024 * 1024, `array buffers grew by ${peakArrayBuffers - baseline} bytes`);
  });

  it('allocates nothing per packet: 200k packets cause no garbage collection', { skip: typeof global.gc !== 'function' && 'needs node --expose-gc' }, async () => {
    let gcEvents = 0;
    const observer = new PerformanceObserver((list) => {
      gcEvents += list.getEntries().length;
    });
    observer.observe({ entryTypes: ['gc'] });
    let capBytes = 0;
    const sum = (p: CapturedPacket): void => {
      capBytes += p.capLen;
    };
    await readCaptureFile(path, sum); // warm-up (compiles the parser)
    global.gc!();
    await sleep(10); // let the observer deliver the forced collection before counting
    gcEvents = 0;
    const result = await readCaptureFile(path, sum);
    await sleep(10);
    observer.disconnect();
    assert.equal(result.packets, LARGE_PACKETS);
    assert.ok(capBytes > 0);
    // One 32-byte object per packet would be ~6 MB of garbage and dozens of scavenges; per-chunk
    // promises (16 reads of 1 MiB) are far below one.
    assert.ok(gcEvents <= 2, `${gcEvents} garbage collections while reading`);
  });

  it('uses a 1 MiB buffer by default', async () => {
    const { result } = await readLarge(path);
    assert.equal(result.readBufferBytes, 1024 * 1024);
    assert.equal(result.packets, LARGE_PACKETS);
  });

  it('afterChunk is awaited before more packets, progress rises to the file size, abort stops cleanly', async () => {
    let pending = false;
    let chunks = 0;
    let packets = 0;
    const progress: number[] = [];
    const result = await readCaptureFile(
      path,
      () => {
        assert.equal(pending, false, 'no packet while afterChunk is pending');
        packets++;
      },
      {
        readBufferBytes: 256 * 1024,
        afterChunk: async () => {
          pending = true;
          chunks++;
          await sleep(0);
          pending = false;
        },
        onProgress: (bytesRead, totalBytes) => {
          assert.equal(totalBytes, fileBytes);
          progress.push(bytesRead);
        },
      },
    );
    assert.equal(packets, LARGE_PACKETS);
    assert.ok(chunks > fileBytes / (256 * 1024), `${chunks} chunks`);
    assert.ok(progress.length <= chunks);
    assert.ok(progress.every((value, i) => i === 0 || value >= progress[i - 1]!), 'progress never goes back');
    assert.equal(progress.at(-1), fileBytes);

    const controller = new AbortController();
    let seen = 0;
    let calls = 0;
    const aborted = await readCaptureFile(path, () => seen++, {
      readBufferBytes: 65_536,
      signal: controller.signal,
      afterChunk: () => {
        if (++calls === 3) controller.abort();
      },
    });
    assert.equal(aborted.aborted, true);
    assert.equal(aborted.packets, seen);
    assert.ok(seen > 0 && seen < LARGE_PACKETS);
    assert.ok(aborted.bytesRead < fileBytes);
  });
});

describe('stdin', () => {
  const script = join(dir, 'read-stdin.mjs');
  const readerUrl = new URL('../../../src/capture/capture-file-reader.js', import.meta.url).href;
  const smallRecords: PcapRecord[] = Array.from({ length: 3000 }, (_, i) => ({ tsSec: 1000 + i, fraction: i, capLen: 20 + (i % 300), wireLen: 1500, fill: i & 0xff }));
  const pcapPath = join(dir, 'stdin.pcap');
  const pcapngPath = join(dir, 'stdin.pcapng');
  before(() => {
    writeFileSync(
      script,
      `import { readCaptureFile } from ${JSON.stringify(readerUrl)};
let packets = 0, capSum = 0, tsSum = 0;
try {
  const r = await readCaptureFile('-', (p) => { packets++; capSum += p.capLen; tsSum += p.tsUs; }, { readBufferBytes: Number(process.argv[2] ?? 65536) });
  process.stdout.write(JSON.stringify({ packets, capSum, tsSum, format: r.format, bytesRead: r.bytesRead }));
} catch (e) {
  process.stdout.write(JSON.stringify({ packets, code: e.code, offset: e.offset, message: e.message }));
}
`,
    );
    writeFileSync(pcapPath, pcapFile({ littleEndian: true, nanoseconds: false }, smallRecords));
    writeFileSync(pcapngPath, Buffer.concat([shb(false), idb(false, 1, 0), ...smallRecords.map((r, i) => epb(false, 0, BigInt(i) * 1000n, r.capLen, r.wireLen))]));
  });

  async function readInProcess(path: string) {
    let packets = 0;
    let capSum = 0;
    let tsSum = 0;
    const r = await readCaptureFile(path, (p) => {
      packets++;
      capSum += p.capLen;
      tsSum += p.tsUs;
    });
    return { packets, capSum, tsSum, format: r.format, bytesRead: r.bytesRead };
  }

  for (const [label, path] of [
    ['pcap', pcapPath],
    ['pcapng', pcapngPath],
  ] as const) {
    it(`${label}: cat file | node reader - gives what reading the file gives`, async () => {
      const { stdout } = await execFileAsync('sh', ['-c', 'cat "$1" | "$2" "$3" 4096', 'sh', path, process.execPath, script]);
      const viaPipe = JSON.parse(stdout) as unknown;
      const direct = await readInProcess(path);
      assert.equal(direct.packets, smallRecords.length);
      assert.deepEqual(viaPipe, direct);
    });
  }

  it('a slow writer: records split across many small pipe reads', async () => {
    const bytes = readFileSync(pcapngPath);
    const child = spawn(process.execPath, [script, '1024'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    const closed = new Promise((resolve) => child.on('close', resolve));
    for (let pos = 0; pos < bytes.length; pos += 7919) {
      child.stdin.write(bytes.subarray(pos, pos + 7919));
      if (pos % (7919 * 16) === 0) await sleep(1);
    }
    child.stdin.end();
    await closed;
    assert.deepEqual(JSON.parse(Buffer.concat(out).toString()), await readInProcess(pcapngPath));
  });

  it('a truncated stream fails with _TRUNCATED naming <stdin>', async () => {
    const cut = join(dir, 'cut.pcap');
    const full = readFileSync(pcapPath);
    writeFileSync(cut, full.subarray(0, full.length - 5));
    const { stdout } = await execFileAsync('sh', ['-c', '"$2" "$3" < "$1"', 'sh', cut, process.execPath, script]);
    const answer = JSON.parse(stdout) as { packets: number; code: string; offset: number; message: string };
    assert.equal(answer.code, CaptureErrorCode.TRUNCATED);
    assert.equal(answer.packets, smallRecords.length - 1);
    assert.equal(answer.offset, pcapRecordStarts(smallRecords).at(-2));
    assert.match(answer.message, /^<stdin>: truncated record at byte \d+/);
  });
});

/** Reads a file expecting either success with `packets` packets, or a CaptureFileError. */
async function outcome(path: string, readBufferBytes?: number): Promise<{ packets: number; code: string | null; offset: number | null }> {
  let delivered = 0;
  try {
    const result = await readCaptureFile(path, () => delivered++, readBufferBytes === undefined ? {} : { readBufferBytes });
    assert.equal(result.packets, delivered);
    return { packets: delivered, code: null, offset: null };
  } catch (error) {
    if (!(error instanceof CaptureFileError)) throw error;
    assert.equal(error.packetsBefore, delivered);
    return { packets: delivered, code: error.code, offset: error.offset };
  }
}

describe('truncated copies', () => {
  it('pcap cut at every byte: packets before the cut, then _TRUNCATED at the partial record', async () => {
    const records: PcapRecord[] = [0, 1, 2, 3, 4].map((i) => ({ tsSec: 10 + i, fraction: i, capLen: [1, 60, 0, 33, 7][i]!, wireLen: 100 }));
    const full = pcapFile({ littleEndian: false, nanoseconds: true }, records);
    const starts = pcapRecordStarts(records);
    const path = join(dir, 'cut-every.pcap');
    for (let length = 0; length < full.length; length++) {
      writeFileSync(path, full.subarray(0, length));
      const got = await outcome(path, length % 2 === 0 ? 64 : undefined);
      const complete = starts.filter((start) => start <= length).length - 1; // records ending at or before the cut
      if (length < 4) assert.deepEqual(got, { packets: 0, code: CaptureErrorCode.NOT_A_CAPTURE, offset: 0 }, `cut at ${length}`);
      else if (length < 24) assert.deepEqual(got, { packets: 0, code: CaptureErrorCode.TRUNCATED, offset: 0 }, `cut at ${length}`);
      else if (starts.includes(length)) assert.deepEqual(got, { packets: complete, code: null, offset: null }, `cut at ${length}`);
      else assert.deepEqual(got, { packets: complete, code: CaptureErrorCode.TRUNCATED, offset: starts[complete] }, `cut at ${length}`);
    }
  });

  it('pcapng cut at every byte: packets of the complete blocks, then _TRUNCATED at the partial block', async () => {
    const blocks = [shb(true), idb(true, 1, 0), epb(true, 0, 1n, 5, 5), opaqueBlock(true, 0xbad, 8), epb(true, 0, 2n, 64, 64), spb(true, 3, 3), epb(true, 0, 3n, 0, 0)];
    const packetBlocks = new Set([2, 4, 5, 6]);
    const full = Buffer.concat(blocks);
    const starts: number[] = [0];
    for (const b of blocks) starts.push(starts.at(-1)! + b.length);
    const path = join(dir, 'cut-every.pcapng');
    for (let length = 0; length < full.length; length++) {
      writeFileSync(path, full.subarray(0, length));
      const got = await outcome(path, length % 2 === 0 ? 64 : undefined);
      const completeBlocks = starts.filter((start) => start <= length).length - 1;
      const packets = [...packetBlocks].filter((b) => b < completeBlocks).length;
      if (length < 4) assert.deepEqual(got, { packets: 0, code: CaptureErrorCode.NOT_A_CAPTURE, offset: 0 }, `cut at ${length}`);
      else if (starts.includes(length)) assert.deepEqual(got, { packets, code: null, offset: null }, `cut at ${length}`);
      else assert.deepEqual(got, { packets, code: CaptureErrorCode.TRUNCATED, offset: starts[completeBlocks] }, `cut at ${length}`);
    }
  });

  const shared = sharedPcapsDir();
  it('shared captures cut mid-file: same packets as tshark, then _TRUNCATED within the file', { skip: shared === null ? SHARED_PCAPS_MISSING : (TSHARK_MISSING ?? false) }, async () => {
    const cuts: string[] = [];
    for (const source of ['realistic/zeek_wikipedia.pcap', 'formats/zeek_cooper-grill-dvwa_tsresol9.pcapng']) {
      const full = readFileSync(join(shared!, source));
      for (const fraction of [0.1, 0.33, 0.5, 0.77, 0.999]) {
        // (a cut may land on a record boundary: then both read it whole)
        const length = Math.floor(full.length * fraction);
        const path = join(dir, `${source.replace('/', '_')}.${length}`);
        writeFileSync(path, full.subarray(0, length));
        cuts.push(path);
      }
    }
    const truth = await tsharkReadAll(cuts);
    for (const path of cuts) {
      const got = await outcome(path);
      const their = truth.get(path)!;
      assert.equal(got.packets, their.packets.length, `${path}: packets before the cut`);
      if (their.error === null) {
        assert.equal(got.code, null, `${path}: the cut fell on a record boundary`);
        continue;
      }
      assert.match(their.error, /cut short/, path);
      assert.equal(got.code, CaptureErrorCode.TRUNCATED, path);
      assert.ok(got.offset !== null && got.offset < readFileSync(path).length, `${path}: offset ${got.offset}`);
    }
  });
});
