import assert from 'node:assert/strict';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { parseIpfixRecords } from '../../src/export/ipfix/message-parser.js';
import { flowRecordsOf } from '../helpers/ipfix-totals.js';
import { hasTool, tempDir, TSHARK_MISSING } from '../helpers/collectors.js';
import { differences, ipfixFlowTotals } from '../helpers/ipfix-totals.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals } from '../helpers/tshark-truth.js';

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : false;
const HTTP = join(SHARED_PCAPS_DIR, 'realistic/zeek_http_bro.org.pcap');
const PCAPNG = join(SHARED_PCAPS_DIR, 'realistic/zeek_kerberos_tso.pcapng');

describe('tapflow replay (command line)', { skip }, () => {
  const tmp = tempDir('tapflow-cli-');
  after(() => tmp.remove());

  it('gives byte-identical IPFIX files for the same input with a fixed export time', async () => {
    for (const input of [HTTP, PCAPNG]) {
      const a = join(tmp.dir, 'a.ipfix');
      const b = join(tmp.dir, 'b.ipfix');
      assert.equal((await runTapflow(['replay', input, '--out', a, '--export-time', '1700000000', '--quiet'])).status, 0);
      assert.equal((await runTapflow(['replay', input, '--out', b, '--export-time', '1700000000', '--quiet'])).status, 0);
      assert.ok(statSync(a).size > 0);
      assert.ok(readFileSync(a).equals(readFileSync(b)), `${input}: replays differ`);
    }
  });

  it('reads stdin (-) to the same records as the file', async () => {
    const fromFile = join(tmp.dir, 'file.ipfix');
    const fromStdin = join(tmp.dir, 'stdin.ipfix');
    await runTapflow(['replay', PCAPNG, '--out', fromFile, '--export-time', '1', '--quiet']);
    const run = await runTapflow(['replay', '-', '--out', fromStdin, '--export-time', '1', '--quiet'], { stdin: createReadStream(PCAPNG) });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(readFileSync(fromFile).equals(readFileSync(fromStdin)));
  });

  it('SIGTERM while stdin is open but idle: stops at once and exports the flows read so far', async () => {
    const bytes = readFileSync(HTTP);
    const half = bytes.subarray(0, recordBoundaryNear(bytes, Math.floor(bytes.length / 2)));
    const out = join(tmp.dir, 'idle-stdin.ipfix');
    const running = runTapflow(['replay', '-', '--out', out, '--summary-json'], { stdin: new PassThrough() });
    const stdin = running.child.stdin!;
    stdin.write(half);
    await new Promise((resolve) => setTimeout(resolve, 800)); // the reader is now waiting on the open pipe
    const stopped = Date.now();
    running.child.kill('SIGTERM');
    const run = await running;
    assert.ok(Date.now() - stopped < 5_000, 'exited promptly');
    assert.equal(run.status, 0, run.stderr);
    const summary = replaySummary(run);
    assert.ok(summary.incomplete);
    assert.ok(summary.packets > 0);
    const records = flowRecordsOf(readFileSync(out));
    assert.equal(records.reduce((n, r) => n + Number(r.packetDeltaCount), 0), summary.meteredPackets);
  });

  it('on a truncated file: exits 2 naming the byte offset, and still exports the flows read before it', { skip: hasTool('tshark') ? false : TSHARK_MISSING }, async () => {
    const bytes = readFileSync(HTTP);
    const cut = join(tmp.dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const out = join(tmp.dir, 'cut.ipfix');
    const run = await runTapflow(['replay', cut, '--out', out, '--summary-json']);
    assert.equal(run.status, 2, run.stderr);
    const summary = replaySummary(run);
    const error = summary.files[0]!.error!;
    assert.equal(error.code, 'TAPFLOW_E_CAPTURE_TRUNCATED');
    assert.ok(error.offset > 0 && error.offset <= bytes.length * 0.6);
    assert.match(error.message, new RegExp(`${error.offset}`));
    // tshark reads the same good packets before the cut: the records must hold exactly those.
    const truth = await tsharkFlowTotals(cut);
    assert.deepEqual(differences(truth.flows, ipfixFlowTotals(out)), []);
    assert.ok(summary.records > 0);
  });

  it('prints a readable summary, and errors without stack traces', async () => {
    const out = join(tmp.dir, 'human.ipfix');
    const run = await runTapflow(['replay', HTTP, '--out', out]);
    assert.equal(run.status, 0);
    for (const label of ['packets', 'malformed', 'flows', 'records', 'elapsed']) assert.match(run.stdout, new RegExp(`^${label} `, 'm'));
    assert.match(run.stdout, /packets\/s/);

    const missing = await runTapflow(['replay', join(tmp.dir, 'does-not-exist.pcap'), '--out', out]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr + missing.stdout, /does-not-exist\.pcap/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);

    const usage = await runTapflow(['replay', '--bogus']);
    assert.equal(usage.status, 1);
    assert.match(usage.stderr, /Usage: tapflow replay/);
    const version = await runTapflow(['--version']);
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('exits 3 when a collector loses messages (nothing listening, or a name that does not resolve)', async () => {
    const out = join(tmp.dir, 'lost.ipfix');
    for (const collector of ['127.0.0.1:9', 'collector.invalid:4739']) {
      const run = await runTapflow(['replay', HTTP, '--collector', collector, '--out', out, '--summary-json']);
      assert.equal(run.status, 3, `${collector}: ${run.stderr}`);
      const lost = replaySummary(run).export.destinations.find((d) => d.target === `ipfix+udp://${collector}`)!;
      assert.ok(lost.dropped + lost.errors > 0);
      assert.match(lost.problem ?? '', collector.startsWith('127') ? /ECONNREFUSED/ : /cannot resolve collector/);
    }
    // The file destination still got everything.
    assert.ok(parseIpfixRecords(readFileSync(out)).length > 0);
  });

  it('tapflow inspect prints a table and JSON lines keyed by IANA names', async () => {
    const out = join(tmp.dir, 'inspect.ipfix');
    await runTapflow(['replay', HTTP, '--out', out, '--quiet']);
    const records = parseIpfixRecords(readFileSync(out));
    const flows = records.filter((r) => r.kind === 'data');
    assert.ok(records.some((r) => r.kind === 'options'), 'the exporter statistics are in the file');
    const table = await runTapflow(['inspect', out]);
    assert.equal(table.status, 0);
    const rows = table.stdout.trim().split('\n').filter((line) => !line.startsWith('#'));
    assert.equal(rows.length, flows.length + 1, 'a header and one row per flow record');
    const json = await runTapflow(['inspect', '--json', out]);
    const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, records.length, 'JSON: every record, options records too');
    const flowLines = lines.filter((r) => r.exportedMessageTotalCount === undefined);
    assert.equal(flowLines.length, flows.length);
    assert.ok(flowLines.every((r) => typeof r.sourceIPv4Address === 'string' && typeof r.packetDeltaCount === 'number'));
  });
});

/** The end of the last whole classic-pcap record at or before `limit` (little-endian file). */
function recordBoundaryNear(bytes: Buffer, limit: number): number {
  let at = 24;
  while (at + 16 <= bytes.length) {
    const next = at + 16 + bytes.readUInt32LE(at + 8);
    if (next > limit) return at;
    at = next;
  }
  return at;
}
