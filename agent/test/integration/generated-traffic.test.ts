import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { iterateIpfixMessages } from '../../src/export/ipfix/message-parser.js';
import { captureUdpExport, tempDir } from '../helpers/collectors.js';
import { flowRecordsOf, recordFlowTotals } from '../helpers/ipfix-totals.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { directionalTotals, flowTruthKey, imix, longLivedFlows, newFlowPerPacket } from '../helpers/traffic-generator.js';

/** Per-direction totals of exported records, keyed like the generator's truth (VLAN included). */
const recordTotals = (records: Record<string, unknown>[]) => recordFlowTotals(records, flowTruthKey);

function sorted<V>(map: Map<string, V>): [string, V][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('generated traffic with known truth', () => {
  const tmp = tempDir('tapflow-generated-');
  after(() => tmp.remove());
  const smallTable = join(tmp.dir, 'small-table.json');
  writeFileSync(smallTable, JSON.stringify({ flowTable: { maxFlows: 1024 } }));

  it('a full table evicts with lackOfResources, counts it, and still conserves every flow (VLANs, IPv6)', async () => {
    const pcap = join(tmp.dir, 'long-lived.pcap');
    const truth = longLivedFlows({ path: pcap, packets: 40_000, flows: 2_000, ipv6Share: 0.3, vlanShare: 0.3, seed: 7 });
    const out = join(tmp.dir, 'long-lived.ipfix');
    const run = await runTapflow(['replay', pcap, '--config', smallTable, '--out', out, '--summary-json']);
    assert.equal(run.status, 0, run.stderr);
    const summary = replaySummary(run);
    const records = flowRecordsOf(readFileSync(out));
    const evicted = records.filter((r) => r.flowEndReason === 5).length;
    assert.ok(summary.flows > 1024 && evicted > 0, `evictions expected: ${summary.flows} flows, ${evicted} evicted records`);
    assert.ok(summary.flows - summary.records / 2 <= summary.flows, 'sanity');
    assert.deepEqual(sorted(recordTotals(records)), sorted(directionalTotals(truth.flows!)));
  });

  it('a SYN flood (every packet a new flow) over UDP loses no record: the replay waits for the sends', async () => {
    const pcap = join(tmp.dir, 'flood.pcap');
    const truth = newFlowPerPacket({ path: pcap, packets: 60_000, seed: 3 });
    const collector = await captureUdpExport();
    let summary: ReturnType<typeof replaySummary>;
    try {
      const run = await runTapflow(['replay', pcap, '--config', smallTable, '--collector', `127.0.0.1:${collector.port}`, '--summary-json']);
      assert.equal(run.status, 0, run.stderr);
      summary = replaySummary(run);
      await collector.waitFor(summary.export.destinations[0]!.sent);
    } finally {
      await collector.stop();
    }
    assert.equal(summary.export.destinations[0]!.dropped, 0);
    const records = flowRecordsOf(Buffer.concat(collector.datagrams));
    assert.equal(records.length, summary.records);
    assert.equal(records.length, truth.packets, 'one record per SYN');
    assert.ok(records.filter((r) => r.flowEndReason === 5).length > 50_000);
    assert.deepEqual(sorted(recordTotals(records)), sorted(directionalTotals(truth.flows!)));
  });

  it('an IMIX mix with IPv6 conserves packets and octets per direction', async () => {
    const pcap = join(tmp.dir, 'imix.pcap');
    const truth = imix({ path: pcap, packets: 50_000, seed: 11 });
    const out = join(tmp.dir, 'imix.ipfix');
    const run = await runTapflow(['replay', pcap, '--out', out, '--summary-json']);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(truth.ipv6Packets > 0);
    const records = flowRecordsOf(readFileSync(out));
    assert.deepEqual(sorted(recordTotals(records)), sorted(directionalTotals(truth.flows!)));
  });

  it('SIGTERM during a replay exports every active flow (forcedEnd) before exiting', async () => {
    const pcap = join(tmp.dir, 'long.pcap');
    newFlowPerPacket({ path: pcap, packets: 1_500_000, seed: 5, truth: 'totals' });
    const out = join(tmp.dir, 'sigterm.ipfix');
    const running = runTapflow(['replay', pcap, '--out', out, '--summary-json']);
    await new Promise((resolve) => setTimeout(resolve, 700));
    running.child.kill('SIGTERM');
    const run = await running;
    assert.equal(run.status, 0, run.stderr);
    const summary = replaySummary(run);
    assert.ok(summary.incomplete, 'the replay was still running when SIGTERM came');
    assert.ok(summary.packets < 1_500_000);
    const records = flowRecordsOf(readFileSync(out));
    const forced = records.filter((r) => r.flowEndReason === 4).length;
    assert.ok(forced > 0);
    assert.equal(records.reduce((n, r) => n + Number(r.packetDeltaCount), 0), summary.meteredPackets);
    assert.equal(records.length, summary.records);
  });
});
