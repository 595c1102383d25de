/**
 * createExportPipeline: config → builders and transports. The file gets templates once even when
 * collectors (with periodic refresh) are configured; a fixed export time makes files byte-identical;
 * 'packet' export time follows the caller's clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../../src/config/load.js';
import { createExportPipeline, type ExportTimeSource } from '../../../src/export/create-export-pipeline.js';
import { iterateIpfixMessages } from '../../../src/export/ipfix/message-parser.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { captureUdpExport, tempDir } from '../../helpers/collectors.js';
import { fillRecord, randomFlows } from './export-test-kit.js';

const T0_MS = 1_700_000_000_000;

async function runPipeline(file: string, collectors: string[], exportTime: ExportTimeSource) {
  // Time refresh off (7 days): only the count refresh (every 4 messages) over UDP.
  const config = validateConfig({ export: { file, collectors }, ipfix: { templateRefreshMessages: 4, templateRefreshMs: 7 * 24 * 3_600_000 } });
  const pipeline = createExportPipeline(config, { exportTime });
  const rec = new FlowRecord();
  // A timeline: record i ends at T0 + i s; the caller's clock at flush is just after.
  const flows = randomFlows(1_000, 8).map((flow, i) => ({ ...flow, startMs: T0_MS + i * 1_000 - 700, endMs: T0_MS + i * 1_000 }));
  for (let i = 0; i < flows.length; i++) {
    pipeline.sink.add(fillRecord(rec, flows[i]!));
    if (i % 100 === 99) pipeline.sink.flush(T0_MS + i * 1_000 + 1);
    await pipeline.drain();
  }
  await pipeline.close();
  return { stats: pipeline.stats(), bytes: readFileSync(file) };
}

test('file + collector: one template set in the file, refreshed templates over UDP, same records', async () => {
  const tmp = tempDir();
  const capture = await captureUdpExport();
  try {
    const { stats, bytes } = await runPipeline(join(tmp.dir, 'a.ipfix'), [`127.0.0.1:${capture.port}`], 'packet');
    await capture.waitFor(stats.messages);
    const fileMessages = [...iterateIpfixMessages(bytes)];
    assert.equal(fileMessages.filter((message) => message.templates.length > 0).length, 1);
    assert.equal(fileMessages.reduce((sum, message) => sum + message.records.filter((record) => record.kind === 'data').length, 0), 1_000);
    const udpTemplateSets = capture.datagrams.filter((datagram) => datagram.readUInt16BE(16) === 2).length;
    assert.equal(udpTemplateSets, Math.ceil(capture.datagrams.length / 4));
    assert.equal(stats.records, 1_000);
    assert.deepEqual(
      stats.destinations.map((d) => ({ ...d, target: d.target.replace(/\d+$/, 'PORT').replace(/.*a\.ipfix$/, 'FILE') })),
      [
        { target: 'ipfix+udp://127.0.0.1:PORT', format: 'ipfix', sent: capture.datagrams.length, dropped: 0, droppedRecords: 0, errors: 0, problem: null, active: true },
        { target: 'FILE', format: 'ipfix', sent: fileMessages.length, dropped: 0, droppedRecords: 0, errors: 0, problem: null, active: true },
      ],
    );
    // 'packet': export time follows the packet clock: never before the flows in the message ended.
    let previous = 0;
    for (const message of fileMessages) {
      const flowRecords = message.records.filter((record) => record.kind === 'data');
      if (flowRecords.length === 0) continue;
      const lastEndMs = Math.max(...flowRecords.map((record) => record.values.flowEndMilliseconds as number));
      assert.ok(message.header.exportTimeSeconds >= Math.floor(lastEndMs / 1000), 'export time after the flows ended');
      assert.ok(message.header.exportTimeSeconds <= Math.floor(lastEndMs / 1000) + 1, 'and not later than the next record');
      assert.ok(message.header.exportTimeSeconds >= previous);
      previous = message.header.exportTimeSeconds;
    }
  } finally {
    await capture.stop();
    tmp.remove();
  }
});

test('a fixed export time makes two runs byte-identical', async () => {
  const tmp = tempDir();
  try {
    const first = await runPipeline(join(tmp.dir, 'a.ipfix'), [], 1_234_567_890);
    const second = await runPipeline(join(tmp.dir, 'b.ipfix'), [], 1_234_567_890);
    assert.ok(first.bytes.equals(second.bytes));
    assert.equal(first.bytes.readUInt32BE(4), 1_234_567_890);
  } finally {
    tmp.remove();
  }
});
