import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DECODE_STATUS_NAMES, isMalformed } from '../../../src/decode/decode-status.js';
import { captureLayout } from '../../helpers/fuzz/capture-layout.js';
import { fuzzSettingsFromEnv, runFuzzCampaign } from '../../helpers/fuzz/fuzz-campaign.js';
import { generateFuzzCase } from '../../helpers/fuzz/fuzz-case-generator.js';
import type { FuzzReport } from '../../helpers/fuzz/fuzz-report.js';
import { loadFuzzSeeds } from '../../helpers/fuzz/fuzz-seeds.js';
import { MUTATIONS, mutate } from '../../helpers/fuzz/mutations.js';
import { FuzzHang, WorkWatchdog } from '../../helpers/fuzz/work-watchdog.js';
import { SHARED_PCAPS_MISSING, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { seededRandom } from '../export/export-test-kit.js';

/**
 * Deterministic fuzzing of the capture-file reader (pcap, pcapng), the packet decoder, the flow
 * table with its IPFIX file export and the application-hint parsers: the captures of
 * ../shared/pcaps mutated (bit flips, interesting values, truncation, inflated lengths, records
 * duplicated/removed, two files spliced) and random bytes, each read by the product's replay path.
 * See helpers/fuzz/run-fuzz-case.ts for the rules every case must keep.
 *
 * Reproduce: TAPFLOW_FUZZ_SEED=<seed> [TAPFLOW_FUZZ_FIRST=<case>] TAPFLOW_FUZZ_CASES=<n>
 *   node --test agent/dist/test/unit/fuzz/capture-fuzz.test.js
 */

const DEFAULT_SEED = 0x7af10c;
/** ~10-20 s on the 2-core CI machine (300-500 cases/s). */
const DEFAULT_CASES = 5000;
/** A case takes milliseconds; this only catches a case that is orders of magnitude too slow. */
const MAX_CASE_MS = 5000;
/** Below this many cases, the reach checks (every mutation used, ...) are skipped: a reproduction run. */
const REACH_CHECK_MIN_CASES = 1000;

function describeFailures(report: FuzzReport): string {
  return report.failures
    .map((f) => {
      const repro = `TAPFLOW_FUZZ_SEED=${report.seed} TAPFLOW_FUZZ_FIRST=${f.index} TAPFLOW_FUZZ_CASES=1`;
      const bytes = f.hex === null ? '' : `\n    bytes: ${f.hex.length > 400 ? `${f.hex.slice(0, 400)}… (${f.hex.length / 2} bytes)` : f.hex}`;
      return `case ${f.index} [${f.outcome}] ${f.source} ${f.mutations.join('+')} (${repro})\n    ${f.problems.join('\n    ')}${bytes}`;
    })
    .join('\n');
}

describe('capture reader → decoder → flow table → IPFIX, and hint parsers, under fuzzing', () => {
  it('no crash, no hang, every packet accounted for', { timeout: 120_000 }, async (t) => {
    const { seed, cases, firstCase } = fuzzSettingsFromEnv(DEFAULT_SEED, DEFAULT_CASES);
    t.diagnostic(`seed ${seed} (TAPFLOW_FUZZ_SEED), ${cases} cases (TAPFLOW_FUZZ_CASES) from case ${firstCase} (TAPFLOW_FUZZ_FIRST)`);
    if (sharedPcapsDir() === null) t.diagnostic(`${SHARED_PCAPS_MISSING}: random bytes only`);
    const report = await runFuzzCampaign({ seed, cases, firstCase });
    const { failures: _failures, ...totals } = report;
    t.diagnostic(JSON.stringify(totals));

    assert.equal(report.cases, cases, 'every case ran');
    assert.equal(report.crashes, 0, `crashes:\n${describeFailures(report)}`);
    assert.equal(report.hangs, 0, `hangs:\n${describeFailures(report)}`);
    assert.equal(report.failedCases, 0, `broken rules:\n${describeFailures(report)}`);
    assert.ok(report.maxCaseMs < MAX_CASE_MS, `case ${report.slowestCase} took ${report.maxCaseMs.toFixed(0)} ms`);

    if (cases < REACH_CHECK_MIN_CASES) return;
    // The fuzz reached deep enough to mean something: files read to the end and refused, packets
    // metered and refused for several reasons, payloads given to the hint parsers.
    assert.ok(report.outcomes.read > cases / 10 && report.outcomes.rejected > cases / 10, JSON.stringify(report.outcomes));
    assert.ok(report.meteredPackets > cases, `only ${report.meteredPackets} packets reached the flow table`);
    assert.ok(report.ipfixMessages > cases / 2, `only ${report.ipfixMessages} IPFIX messages`);
    const malformedReasons = Object.keys(report.byDecodeStatus).filter((name) => isMalformed(DECODE_STATUS_NAMES.indexOf(name)));
    assert.ok(malformedReasons.length >= 6, `malformed reasons reached: ${malformedReasons.join(', ')}`);
    if (report.seedFiles > 0) {
      for (const code of ['truncated', 'corrupt_record', 'not_a_capture']) assert.ok((report.byErrorCode[code] ?? 0) > 0, `no file refused as ${code}`);
      for (const mutation of MUTATIONS) assert.ok((report.byMutation[mutation] ?? 0) > cases / 20, `mutation ${mutation} rarely used`);
      for (const status of ['ok', 'not_matched', 'truncated']) assert.ok((report.byHintStatus[status] ?? 0) > 0, `no hint parse ended ${status}`);
    }
  });
});

describe('fuzz helpers', () => {
  it('a case is rebuilt byte for byte from (seed, index), and cases differ', () => {
    const seeds = loadFuzzSeeds();
    for (const index of [0, 1, 17, 4999]) {
      const a = generateFuzzCase(42, index, seeds);
      const b = generateFuzzCase(42, index, seeds);
      assert.deepEqual(b, a);
    }
    const distinct = new Set(Array.from({ length: 50 }, (_, i) => Buffer.from(generateFuzzCase(42, i, seeds).bytes).toString('hex')));
    assert.ok(distinct.size >= 48, `${distinct.size} distinct cases of 50`);
  });

  it('mutations never change their input', () => {
    const random = seededRandom(9);
    const input = pcapOf([[0x45, 0, 0, 20], [1, 2, 3, 4, 5, 6, 7, 8]]);
    const copy = input.slice();
    for (let i = 0; i < 400; i++) mutate(MUTATIONS[i % MUTATIONS.length]!, input, random, copy);
    assert.deepEqual(input, copy);
  });

  it('captureLayout finds the records and length fields of a hand-made pcap and pcapng', () => {
    const pcap = captureLayout(pcapOf([[1, 2, 3], [4]]));
    assert.equal(pcap.format, 'pcap');
    assert.deepEqual(pcap.starts, [24, 24 + 16 + 3]);
    assert.deepEqual(pcap.ends, [24 + 16 + 3, 24 + 16 + 3 + 16 + 1]);
    assert.deepEqual(pcap.packetStarts, [40, 59]);
    assert.deepEqual(pcap.lengthFields.map((f) => f.pos), [16, 32, 36, 51, 55]);

    // SHB (28 bytes, no options) + EPB (32 + 4 bytes of packet), little-endian.
    const ng = new Uint8Array(28 + 36);
    const view = new DataView(ng.buffer);
    view.setUint32(0, 0x0a0d0d0a, true);
    view.setUint32(4, 28, true);
    view.setUint32(8, 0x1a2b3c4d, true); // byte-order magic
    view.setUint16(12, 1, true); // major version
    view.setUint32(24, 28, true); // trailing length
    view.setUint32(28, 6, true); // EPB
    view.setUint32(32, 36, true);
    view.setUint32(48, 4, true); // caplen
    view.setUint32(52, 4, true); // original length
    view.setUint32(60, 36, true);
    const layout = captureLayout(ng);
    assert.equal(layout.format, 'pcapng');
    assert.deepEqual(layout.starts, [0, 28]);
    assert.deepEqual(layout.packetStarts, [-1, 56]);
  });

  it('the work watchdog stops a reader that delivers more packets or loops more than a file allows', () => {
    const dog = new WorkWatchdog(64);
    for (let i = 0; i < 4; i++) dog.packet();
    assert.throws(() => dog.packet(), FuzzHang);
    const loops = new WorkWatchdog(10);
    assert.throws(() => {
      for (let i = 0; i < 100; i++) loops.chunk();
    }, FuzzHang);
  });
});

/** A little-endian usec pcap (v2.4, Ethernet) holding the given packets. */
function pcapOf(packets: number[][]): Uint8Array {
  const out = new Uint8Array(24 + packets.reduce((n, p) => n + 16 + p.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 65535, true);
  view.setUint32(20, 1, true);
  let pos = 24;
  for (const packet of packets) {
    view.setUint32(pos + 8, packet.length, true);
    view.setUint32(pos + 12, packet.length, true);
    out.set(packet, pos + 16);
    pos += 16 + packet.length;
  }
  return out;
}
