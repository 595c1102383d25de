import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../src/config/load.js';
import type { ExportPipeline } from '../../src/export/export-pipeline.js';
import type { FlowRecord } from '../../src/flow/flow-record.js';
import { flowMeterOptionsFromConfig } from '../../src/meter/flow-meter.js';
import { runReplay } from '../../src/replay/run-replay.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcaps, sharedPcapsDir } from '../helpers/shared-pcaps.js';

/** A pipeline that only adds up what it is given. */
function countingPipeline() {
  const totals = { records: 0, packets: 0, octets: 0 };
  const pipeline: ExportPipeline = {
    sink: {
      // One record per flow, both directions: count the directions that saw packets, as collectors receive them.
      add(rec: FlowRecord) {
        totals.records += (rec.packets > 0 ? 1 : 0) + (rec.reversePackets > 0 ? 1 : 0);
        totals.packets += rec.packets + rec.reversePackets;
        totals.octets += rec.octets + rec.reverseOctets;
      },
      flush() {},
    },
    backlogged: () => false,
    drain: async () => {},
    close: async () => {},
    stats: () => ({ messages: 0, records: totals.records, optionsRecords: 0, bytes: 0, notExportable: 0, destinations: [] }),
    useMeteringStatistics: () => undefined,
    ready: async () => {},
  };
  return { pipeline, totals };
}

const ALL = [...sharedPcaps('realistic'), ...sharedPcaps('encap'), ...sharedPcaps('malformed'), ...sharedPcaps('formats')];

describe('every capture in ../shared/pcaps replays without a crash, and what was metered is exported', { skip: sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : false }, () => {
  // A small table so the eviction path runs on the bigger captures too.
  const options = flowMeterOptionsFromConfig(defaultConfig());
  options.flowTable.maxFlows = 256;

  for (const pcap of ALL) {
    it(relative(SHARED_PCAPS_DIR, pcap), async () => {
      const { pipeline, totals } = countingPipeline();
      const summary = await runReplay([pcap], options, pipeline);
      const file = summary.files[0]!;
      if (file.error) {
        assert.match(file.error.code, /^TAPFLOW_E_CAPTURE_/);
        assert.match(file.error.message, /byte \d+|offset \d+/, 'a file error names its byte offset');
        assert.ok(summary.incomplete);
      }
      // Every packet is accounted once: metered, malformed (by reason) or ignored.
      const malformed = Object.values(summary.malformed).reduce((a, b) => a + b, 0);
      const ignored = Object.values(summary.ignored).reduce((a, b) => a + b, 0);
      assert.equal(summary.meteredPackets + malformed + ignored, summary.packets);
      // Conservation through the table: every metered packet and octet leaves in a record.
      assert.equal(totals.packets, summary.meteredPackets);
      assert.equal(totals.octets, summary.meteredOctets);
      assert.equal(totals.records, summary.records);
    });
  }
});
