/**
 * IPFIX over TCP and TLS from `tapflow replay` to the tests' own stream collector (nfcapd has no
 * TCP listener): tshark decodes what arrived to the ground truth, and a collector killed and
 * restarted mid-replay gets templates first on the new connection, with the loss reported exactly.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { iterateIpfixMessages } from '../../src/export/ipfix/message-parser.js';
import { hasTool, tempDir, tsharkDecodeIpfix, TSHARK_MISSING } from '../helpers/collectors.js';
import { differences, tsharkRecordTotals } from '../helpers/ipfix-totals.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { isTemplatesOnly, startStreamCollector } from '../helpers/stream-collector.js';
import { makeTestPki } from '../helpers/test-pki.js';
import { newFlowPerPacket } from '../helpers/traffic-generator.js';
import { tsharkFlowTotals } from '../helpers/tshark-truth.js';

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : !hasTool('tshark') ? TSHARK_MISSING : !hasTool('openssl') ? 'openssl not installed: skipped' : false;

/** Per message of one connection (parsed in order, templates first): its sequence number and data records (options data included). */
function numbering(messages: readonly Uint8Array[]): { sequence: number; records: number; templatesOnly: boolean }[] {
  return [...iterateIpfixMessages(Buffer.concat(messages))].map((message) => ({
    sequence: message.header.sequenceNumber,
    records: message.records.length,
    templatesOnly: message.records.length === 0 && message.templates.length > 0,
  }));
}

describe('IPFIX over TCP and TLS from a replay', { skip }, () => {
  const tmp = tempDir('tapflow-stream-');
  after(() => tmp.remove());

  it('a TCP and a mutual-TLS collector both receive everything; tshark decodes it to the ground truth', async () => {
    const pki = await makeTestPki(tmp.dir);
    const tcp = await startStreamCollector();
    const tls = await startStreamCollector({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca } });
    const config = join(tmp.dir, 'tls.json');
    writeFileSync(config, JSON.stringify({ export: { tls: { caFile: join(tmp.dir, 'ca.pem'), certFile: join(tmp.dir, 'client.pem'), keyFile: join(tmp.dir, 'client.key') } } }));
    const pcap = join(SHARED_PCAPS_DIR, 'realistic/suricata_tls-browsing.pcap');
    try {
      const run = await runTapflow([
        'replay', pcap, '--config', config, '--summary-json',
        '--collector', `ipfix+tcp://127.0.0.1:${tcp.port}`, '--collector', `ipfix+tls://127.0.0.1:${tls.port}`,
      ]);
      assert.equal(run.status, 0, run.stderr);
      const summary = replaySummary(run);
      assert.ok(summary.export.destinations.every((d) => d.dropped === 0 && d.errors === 0), JSON.stringify(summary.export));
      const truth = (await tsharkFlowTotals(pcap)).flows;
      for (const [name, collector] of [['tcp', tcp], ['tls', tls]] as const) {
        await collector.waitUntil(() => collector.connections[0]?.closed === true, `${name}: the connection closed after the last message`);
        assert.equal(collector.connections.length, 1);
        assert.ok(isTemplatesOnly(collector.messages()[0]!), `${name}: templates first`);
        const file = join(tmp.dir, `${name}.ipfix`);
        collector.writeIpfixFile(file);
        const decoded = await tsharkDecodeIpfix(file);
        assert.equal(decoded.malformed, 0);
        assert.equal(decoded.expertErrors + decoded.expertWarnings, 0, decoded.expertMessages.join('\n'));
        assert.deepEqual(differences(truth, tsharkRecordTotals(decoded.records)), [], name);
      }
      assert.equal(tls.connections[0]!.clientCertificateCn, 'tapflow-probe-7');
    } finally {
      await tcp.kill();
      await tls.kill();
    }
  });

  it('a TCP collector killed and restarted mid-replay: no crash, templates first again, the loss reported exactly', async () => {
    // 20,000 SYNs, each a new flow, over ~200 s of packet time: records leave steadily (60 s TCP idle timeout).
    const pcap = join(tmp.dir, 'syns.pcap');
    newFlowPerPacket({ path: pcap, packets: 20_000, maxStepUs: 20_000, seed: 4 });
    const bytes = readFileSync(pcap);
    const cut = pcapCut(bytes, 12_000);
    const collector = await startStreamCollector();
    const config = join(tmp.dir, 'stream.json');
    // The smallest pending buffer, so part of what is exported while the collector is away overflows.
    writeFileSync(config, JSON.stringify({ export: { stream: { pendingBytes: 65_536, reconnectMinMs: 100, reconnectMaxMs: 400 } } }));
    const stdin = new PassThrough();
    const replay = runTapflow(['replay', '-', '--config', config, '--summary-json', '--quiet', '--collector', `ipfix+tcp://127.0.0.1:${collector.port}`], { stdin, timeoutMs: 60_000 });
    try {
      stdin.write(bytes.subarray(0, cut));
      await collector.waitUntil(() => collector.messages().length > 20, 'records of the first part');
      await new Promise((resolve) => setTimeout(resolve, 300)); // everything of part 1 delivered
      await collector.kill();
      await new Promise((resolve) => setTimeout(resolve, 300)); // tapflow sees the connection go
      if (!stdin.write(bytes.subarray(cut))) await once(stdin, 'drain');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await collector.start();
      await collector.waitUntil(() => collector.connections.length >= 2, 'tapflow reconnected');
      stdin.end();
      const run = await replay;
      const summary = replaySummary(run);
      const destination = summary.export.destinations[0]!;
      assert.equal(run.status, 3, 'a replay that lost records exits 3');
      assert.ok(destination.droppedRecords > 0, 'the pending buffer overflowed while the collector was away');

      await collector.waitUntil(() => collector.connections.at(-1)?.closed === true, 'the last connection closed');
      assert.ok(collector.connections.length >= 2);
      for (const connection of collector.connections) {
        if (connection.messages.length > 0) assert.ok(isTemplatesOnly(connection.messages[0]!), 'every connection starts with templates');
      }
      // Sequence numbers: received records + reported drops = every record the exporter numbered.
      const connections = collector.connections.map((connection) => numbering(connection.messages));
      const all = connections.flat();
      const received = all.reduce((sum, message) => sum + message.records, 0);
      const numbered = summary.export.records + summary.export.optionsRecords;
      assert.equal(received + destination.droppedRecords, numbered);
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.sequence >= all[i - 1]!.sequence + all[i - 1]!.records, 'no record twice');
      const last = all.at(-1)!;
      assert.equal(last.sequence + last.records, numbered, 'after the reconnect nothing more was lost');
      // The pending buffer keeps the oldest messages and drops the newest: the new connection goes on
      // exactly where the old one stopped, and the gaps in the numbering add up to the dropped records
      // (a small message may still fit in a full buffer, so there can be several).
      const before = connections[0]!.at(-1)!;
      const resumed = connections.slice(1).flat().find((message) => !message.templatesOnly)!;
      assert.equal(resumed.sequence, before.sequence + before.records);
      const gaps = all.slice(1).map((message, i) => message.sequence - (all[i]!.sequence + all[i]!.records)).filter((gap) => gap > 0);
      assert.equal(gaps.reduce((sum, gap) => sum + gap, 0), destination.droppedRecords);
    } finally {
      stdin.end();
      replay.child.kill('SIGKILL');
      await collector.kill();
    }
  });
});

/** Byte offset of packet `index` in a classic pcap (24-byte header, 16-byte record headers). */
function pcapCut(bytes: Buffer, index: number): number {
  let offset = 24;
  for (let i = 0; i < index; i++) offset += 16 + bytes.readUInt32LE(offset + 8);
  return offset;
}
