/**
 * `tapflow inspect`: table and JSON output of an IPFIX file written by the builder, and a corrupt
 * file (records before the damage printed, then a clear error, exit 1).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runInspect, tcpFlagLetters } from '../../../src/cli/inspect-command.js';
import { FileTransport } from '../../../src/export/file-transport.js';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { tempDir } from '../../helpers/collectors.js';
import { expectedIpfixValues, fillRecord, ipv4Text, randomFlows, type FlowSnapshot } from './export-test-kit.js';

class StringSink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

async function writeIpfixFile(path: string, flows: readonly FlowSnapshot[]): Promise<void> {
  const file = new FileTransport(path);
  const builder = new IpfixMessageBuilder({ transports: [file], exportTimeSeconds: () => 1_700_000_000, templateRefresh: null });
  const rec = new FlowRecord();
  for (const flow of flows) builder.add(fillRecord(rec, flow));
  builder.flush(0);
  await file.close();
}

async function inspect(path: string, json: boolean): Promise<{ code: number; out: string; err: string }> {
  const out = new StringSink();
  const err = new StringSink();
  const code = await runInspect(path, { json }, out, err);
  return { code, out: out.text, err: err.text };
}

describe('inspect', () => {
  const flows = randomFlows(1_500, 21);

  test('--json: one object per record, keyed by IANA names, equal to what was written', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 'flows.ipfix');
      await writeIpfixFile(path, flows);
      const { code, out, err } = await inspect(path, true);
      assert.equal(code, 0);
      assert.equal(err, '');
      const lines = out.trimEnd().split('\n');
      assert.equal(lines.length, flows.length);
      lines.forEach((line, index) => assert.deepEqual(JSON.parse(line), expectedIpfixValues(flows[index]!)));
    } finally {
      tmp.remove();
    }
  });

  test('table: a header, one aligned row per record, readable values', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 'flows.ipfix');
      await writeIpfixFile(path, flows);
      const { code, out } = await inspect(path, false);
      assert.equal(code, 0);
      const lines = out.trimEnd().split('\n');
      const header = lines[0] ?? '';
      assert.match(header, /^start +end +proto +src +dst +packets +bytes +flags +endReason +vlan +ifIndex$/);
      assert.equal(lines.at(-1), `# ${flows.length} data records, 0 options records, ${countMessages(path)} messages`);
      const rows = lines.slice(1, -1);
      assert.equal(rows.length, flows.length);
      // Aligned: the src column starts at the same place in every row (first block of 1000).
      const srcColumn = header.indexOf('src');
      for (const row of rows.slice(0, 1_000)) assert.ok(row.charAt(srcColumn - 1) === ' ' && row.charAt(srcColumn) !== ' ', row);
      const index = flows.findIndex((flow) => flow.ipVersion === 4 && flow.protocol === 6);
      const flow = flows[index]!;
      const cells = rows[index]!.trim().split(/ {2,}/);
      assert.deepEqual(cells, [
        new Date(flow.startMs).toISOString().replace('T', ' ').replace('Z', ''),
        new Date(flow.endMs).toISOString().replace('T', ' ').replace('Z', ''),
        'TCP',
        `${ipv4Text(flow.srcAddr[0]!)}:${flow.srcPort}`,
        `${ipv4Text(flow.dstAddr[0]!)}:${flow.dstPort}`,
        String(flow.packets),
        String(flow.octets),
        tcpFlagLetters(flow.tcpFlags),
        ['', 'idleTimeout', 'activeTimeout', 'endOfFlow', 'forcedEnd', 'lackOfResources'][flow.endReason],
        String(flow.vlanId),
        String(flow.ingressInterface),
      ]);
      const v6 = rows[flows.findIndex((f) => f.ipVersion === 6 && f.protocol === 58)] ?? '';
      assert.match(v6, / ICMP6 +\[2001:db8:[0-9a-f:]+\]:0 +\[fe80:[0-9a-f:]*\]:\d+\.\d+ /, 'IPv6 in brackets, ICMP type.code as the port');
    } finally {
      tmp.remove();
    }
  });

  test('TCP flag letters', () => {
    assert.equal(tcpFlagLetters(0x02), '......S.');
    assert.equal(tcpFlagLetters(0x1b), '...AP.SF');
    assert.equal(tcpFlagLetters(0xff), 'CEUAPRSF');
  });

  test('corrupt file: prints the records before the damage, then the error with its offset; exit 1', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 'flows.ipfix');
      await writeIpfixFile(path, flows);
      const bytes = readFileSync(path);
      const firstLength = bytes.readUInt16BE(2);
      const secondLength = bytes.readUInt16BE(firstLength + 2);
      // Damage the first data set of message 3: its length now runs past the message.
      const third = firstLength + secondLength;
      bytes.writeUInt16BE(0xfff0, third + 16 + 2);
      writeFileSync(path, bytes);
      const { code, out, err } = await inspect(path, true);
      assert.equal(code, 2);
      assert.match(err, new RegExp(`corrupt IPFIX at byte offset ${third + 16}: set 25[67] of 65520 bytes runs past the message end`));
      assert.equal(out.trimEnd().split('\n').length, recordsInFirstMessages(bytes, 2), 'every record of messages 1-2 printed');

      writeFileSync(path, bytes.subarray(0, firstLength + 10)); // truncated second message
      const truncated = await inspect(path, false);
      assert.equal(truncated.code, 2);
      assert.match(truncated.err, new RegExp(`offset ${firstLength}: truncated message`));
      assert.match(truncated.out, /^# \d+ data records/m);
    } finally {
      tmp.remove();
    }
  });

  test('missing file: exit 2 with the reason', async () => {
    const { code, err } = await inspect('/nonexistent/flows.ipfix', false);
    assert.equal(code, 2);
    assert.match(err, /cannot open IPFIX file .*ENOENT/);
  });
});

function countMessages(path: string): number {
  const bytes = readFileSync(path);
  let count = 0;
  for (let offset = 0; offset < bytes.length; offset += bytes.readUInt16BE(offset + 2)) count++;
  return count;
}

/** Records in the first `count` messages, from set headers (72/96-byte records). */
function recordsInFirstMessages(bytes: Buffer, count: number): number {
  let records = 0;
  let offset = 0;
  for (let m = 0; m < count; m++) {
    const end = offset + bytes.readUInt16BE(offset + 2);
    for (let set = offset + 16; set < end; set += bytes.readUInt16BE(set + 2)) {
      const id = bytes.readUInt16BE(set);
      if (id === 256 || id === 257) records += (bytes.readUInt16BE(set + 2) - 4) / (id === 256 ? 72 : 96);
    }
    offset = end;
  }
  return records;
}
