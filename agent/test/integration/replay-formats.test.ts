/**
 * One replay, three formats: nfcapd receives IPFIX/UDP, NetFlow v9 and NetFlow v5 from the same
 * flow table at once (mirror mode), and nfdump's per-5-tuple totals equal tshark's ground truth for
 * each (v5: the IPv4 flows; IPv6 records are counted as not exportable).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasTool, NFCAPD_MISSING, nfdumpFlows, nfdumpFlowTotals, startNfcapd, TSHARK_MISSING, type NfcapdHandle } from '../helpers/collectors.js';
import { differences } from '../helpers/ipfix-totals.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals, type FlowTotals } from '../helpers/tshark-truth.js';

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : !hasTool('nfcapd') ? NFCAPD_MISSING : !hasTool('tshark') ? TSHARK_MISSING : false;

function onlyIpv4(totals: FlowTotals): FlowTotals {
  return new Map([...totals].filter(([key]) => key.startsWith('4|')));
}

describe('IPFIX, NetFlow v9 and NetFlow v5 from one replay, each decoded by nfcapd to the ground truth', { skip }, () => {
  it('realistic/suricata_ftp-data_ipv4_ipv6.pcap (IPv4 and IPv6, TCP)', async () => {
    const pcap = join(SHARED_PCAPS_DIR, 'realistic/suricata_ftp-data_ipv4_ipv6.pcap');
    const collectors: Record<'ipfix' | 'nfv9' | 'nfv5', NfcapdHandle> = {
      ipfix: await startNfcapd(),
      nfv9: await startNfcapd(),
      nfv5: await startNfcapd(),
    };
    let summary: ReturnType<typeof replaySummary>;
    try {
      const run = await runTapflow([
        'replay', pcap, '--summary-json',
        '--collector', `ipfix+udp://127.0.0.1:${collectors.ipfix.port}`,
        '--collector', `nfv9+udp://127.0.0.1:${collectors.nfv9.port}`,
        '--collector', `nfv5+udp://127.0.0.1:${collectors.nfv5.port}`,
      ]);
      assert.equal(run.status, 0, run.stderr);
      summary = replaySummary(run);
    } finally {
      for (const collector of Object.values(collectors)) await collector.stop();
    }
    try {
      assert.deepEqual(summary.export.destinations.map((d) => d.target), [
        `ipfix+udp://127.0.0.1:${collectors.ipfix.port}`,
        `nfv9+udp://127.0.0.1:${collectors.nfv9.port}`,
        `nfv5+udp://127.0.0.1:${collectors.nfv5.port}`,
      ]);
      assert.ok(summary.export.destinations.every((d) => d.dropped === 0 && d.errors === 0), JSON.stringify(summary.export));
      const truth = (await tsharkFlowTotals(pcap)).flows;
      const ipv6Keys = [...truth.keys()].filter((key) => key.startsWith('6|')).length;
      assert.ok(ipv6Keys > 0, 'the capture has IPv6 flows');

      assert.deepEqual(differences(truth, await nfdumpFlowTotals(collectors.ipfix.dir)), [], 'IPFIX');
      assert.deepEqual(differences(truth, await nfdumpFlowTotals(collectors.nfv9.dir)), [], 'NetFlow v9');
      assert.deepEqual(differences(onlyIpv4(truth), await nfdumpFlowTotals(collectors.nfv5.dir)), [], 'NetFlow v5');
      // Exactly the IPv6 records the IPFIX collector received were counted as not exportable by v5.
      const ipv6Records = (await nfdumpFlows(collectors.ipfix.dir)).filter((flow) => flow.srcAddr.includes(':')).length;
      assert.equal(summary.export.notExportable, ipv6Records);
    } finally {
      for (const collector of Object.values(collectors)) collector.remove();
    }
  });
});
