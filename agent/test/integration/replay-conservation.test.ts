import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasTool, tempDir, TSHARK_MISSING } from '../helpers/collectors.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_MISSING, sharedPcaps, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals } from '../helpers/tshark-truth.js';
import { differences, ipfixFlowTotals } from '../helpers/ipfix-totals.js';

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : !hasTool('tshark') ? TSHARK_MISSING : false;

describe('replay conserves packets and IP octets per 5-tuple (ground truth: tshark)', { skip }, () => {
  const tmp = tempDir('tapflow-conservation-');
  after(() => tmp.remove());

  for (const pcap of sharedPcaps('realistic')) {
    it(basename(pcap), async () => {
      const out = join(tmp.dir, `${basename(pcap)}.ipfix`);
      const run = await runTapflow(['replay', pcap, '--out', out, '--summary-json']);
      assert.equal(run.status, 0, run.stderr);
      const summary = replaySummary(run);
      const truth = await tsharkFlowTotals(pcap);
      const ours = ipfixFlowTotals(out);
      const diff = differences(truth.flows, ours);
      // Malformed packets are counted and skipped: each may account for one packet of difference.
      const missingPackets = [...truth.flows.values()].reduce((a, b) => a + b.packets, 0) - [...ours.values()].reduce((a, b) => a + b.packets, 0);
      assert.equal(missingPackets, summary.malformedTotal, `packets missing from the records must be the malformed ones (${JSON.stringify(summary.malformed)})`);
      if (summary.malformedTotal === 0) assert.deepEqual(diff, [], diff.slice(0, 20).join('\n'));
      assert.equal(summary.export.records, summary.records);
    });
  }
});
