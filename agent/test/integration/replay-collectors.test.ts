import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { iterateIpfixMessages } from '../../src/export/ipfix/message-parser.js';
import {
  captureUdpExport, hasTool, NFCAPD_MISSING, nfdumpFlowTotals, startNfcapd, tempDir, tsharkDecodeIpfix, TSHARK_MISSING, writeUdpPcap,
} from '../helpers/collectors.js';
import { differences, tsharkFlowRecords } from '../helpers/ipfix-totals.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals } from '../helpers/tshark-truth.js';

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : !hasTool('nfcapd') ? NFCAPD_MISSING : !hasTool('tshark') ? TSHARK_MISSING : false;

// IPv4 and IPv6, TCP, UDP and ICMP, RSTs and unanswered SYNs.
const CAPTURES = ['realistic/suricata_tls-browsing.pcap', 'realistic/suricata_ftp-data_ipv4_ipv6.pcap'];

describe('collectors decode what tapflow exports: nfcapd/nfdump and tshark over UDP and file', { skip }, () => {
  const tmp = tempDir('tapflow-collectors-');
  after(() => tmp.remove());

  for (const capture of CAPTURES) {
    it(capture, async () => {
      const pcap = join(SHARED_PCAPS_DIR, capture);
      const nfcapd = await startNfcapd();
      const udp = await captureUdpExport();
      const file = join(tmp.dir, 'export.ipfix');
      let summary: ReturnType<typeof replaySummary>;
      try {
        const run = await runTapflow([
          'replay', pcap, '--collector', `127.0.0.1:${nfcapd.port}`, '--collector', `127.0.0.1:${udp.port}`, '--out', file, '--summary-json',
        ]);
        assert.equal(run.status, 0, run.stderr);
        summary = replaySummary(run);
        await udp.waitFor(summary.export.destinations.find((d) => d.target.endsWith(`:${udp.port}`))!.sent);
      } finally {
        await nfcapd.stop();
        await udp.stop();
      }
      assert.ok(summary.export.destinations.every((d) => d.dropped === 0 && d.errors === 0), JSON.stringify(summary.export));

      // nfdump's per-5-tuple totals equal the ground truth.
      const truth = await tsharkFlowTotals(pcap);
      const nf = await nfdumpFlowTotals(nfcapd.dir);
      nfcapd.remove();
      assert.equal(summary.malformedTotal, 0);
      assert.deepEqual(differences(truth.flows, nf), []);

      // tshark decodes the file and the UDP datagrams with no malformed packet and no expert error.
      const fromFile = await tsharkDecodeIpfix(file);
      assert.equal(fromFile.malformed, 0);
      assert.equal(fromFile.expertErrors, 0, fromFile.expertMessages.join('\n'));
      assert.equal(tsharkFlowRecords(fromFile.records).length, summary.records);

      const datagrams = join(tmp.dir, 'udp.pcap');
      writeUdpPcap(datagrams, udp.datagrams, udp.port);
      const fromUdp = await tsharkDecodeIpfix(datagrams, { udpPort: udp.port });
      assert.equal(fromUdp.malformed, 0);
      assert.equal(fromUdp.expertErrors, 0, fromUdp.expertMessages.join('\n'));
      assert.equal(fromUdp.expertWarnings, 0, `sequence numbers and templates: ${fromUdp.expertMessages.join('\n')}`);
      assert.equal(tsharkFlowRecords(fromUdp.records).length, summary.records);

      // Templates come before any data, and each header's sequence number counts the records before it.
      let recordsBefore = 0;
      let templatesSeen = false;
      const bytes = Buffer.concat(udp.datagrams);
      for (const message of iterateIpfixMessages(bytes)) {
        if (message.templates.length > 0) templatesSeen = true;
        if (message.records.length > 0) assert.ok(templatesSeen, 'data before templates');
        assert.equal(message.header.sequenceNumber, recordsBefore);
        assert.equal(message.unknownTemplateSets, 0);
        recordsBefore += message.records.length;
      }
      assert.equal(recordsBefore, summary.records + summary.export.optionsRecords, 'sequence numbers count flow and options records');
    });
  }
});
